//! One span per request, one log line when it is answered, and the request metrics.
//!
//! The span carries the protocol (`rest`, `grpc`, `grpc-web`, `connect`), the RPC (or probe path,
//! or `console` for the console's files), the
//! REST route, the org header, the org the request acted in (`resolved_org`, recorded by the
//! application service once it resolved the default org or the header), the request id (the client's `x-request-id` when it is a sane
//! token, else a generated one; always sent back in `x-request-id`), and, once the response
//! body has ended, the result code and the latency. The code is the HTTP status for REST and
//! Connect, and the `grpc-status` for gRPC and gRPC-Web; the latter is read inside the gRPC-Web translation
//! ([`record_grpc_status`]), where it is still a header or trailer.
//!
//! A request the client gives up before it is answered (an HTTP/2 `RST_STREAM`, a closed
//! connection) is dropped by hyper mid-way; it is then recorded with the contract's code for a
//! cancelled call (`499` for REST and Connect, `1` for gRPC) and its in-flight unit is given back all the
//! same, so `persona_requests_in_flight` cannot drift.
//!
//! Nothing here reads bodies, `authorization` or any other header than the ones named above,
//! so tokens, passwords and profile values cannot reach the logs from here.

use crate::metrics::{Gauge, Held, Metrics};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use http_body::{Frame, SizeHint};
use persona_api_grpc::connect;
use persona_api_rest::catalog;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Span;
use tracing::field::Empty;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// The gRPC service whose methods are labelled by their bare name.
const MANAGEMENT: &str = "zitadel.management.v1.ManagementService";

/// Other gRPC services Persona serves; their methods are labelled `service/method`.
const OTHER_GRPC_SERVICES: &[&str] =
    &["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/// Paths served outside the management API, labelled by themselves.
pub const PROBES: &[&str] = &["/healthz", "/ready", "/metrics", "/openapi.json"];

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// REST/JSON (anything without a gRPC content type).
    Rest,
    /// Native gRPC.
    Grpc,
    /// gRPC-Web, binary or text.
    GrpcWeb,
    /// Connect (unary, JSON or binary): a path of a Connect service without a gRPC content type.
    Connect,
}

impl Protocol {
    /// The protocol of a request, by its content type and, for Connect, its path.
    #[must_use]
    pub fn of(headers: &HeaderMap, path: &str) -> Self {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if content_type.starts_with("application/grpc-web") {
            Self::GrpcWeb
        } else if content_type.starts_with("application/grpc") {
            Self::Grpc
        } else if connect::is_connect_path(path) {
            Self::Connect
        } else {
            Self::Rest
        }
    }

    /// The label in logs and metrics.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Grpc => "grpc",
            Self::GrpcWeb => "grpc-web",
            Self::Connect => "connect",
        }
    }
}

/// The RPC label of a request, and for REST its route template.
fn classify(protocol: Protocol, method: &http::Method, path: &str) -> (String, Option<&'static str>) {
    if protocol == Protocol::Rest {
        if let Some(route) = catalog::find(method.as_str(), path) {
            return (route.label(), Some(route.path));
        }
        if crate::console::is_console_path(path) {
            return ("console".to_owned(), None);
        }
        if let Some((label, route)) = persona_api_scim::route_label(method.as_str(), path) {
            return (label.to_owned(), Some(route));
        }
        let probe = PROBES.iter().find(|probe| **probe == path);
        return (probe.map_or("unmatched", |p| p).to_owned(), None);
    }
    let label = path.strip_prefix('/').and_then(|p| p.split_once('/')).and_then(|(service, method)| {
        let sane = !method.is_empty() && method.len() <= 64 && method.bytes().all(|b| b.is_ascii_alphanumeric());
        if !sane {
            None
        } else if service == MANAGEMENT {
            catalog::ROUTES.iter().find(|r| r.service == MANAGEMENT && r.rpc == method).map(|r| r.rpc.to_owned())
        } else if service == catalog::USER_V2 {
            catalog::ROUTES.iter().find(|r| r.service == service && r.rpc == method).map(catalog::Route::label)
        } else if OTHER_GRPC_SERVICES.contains(&service)
            || (protocol == Protocol::Connect && connect::SERVICES.contains(&service))
        {
            Some(format!("{service}/{method}"))
        } else {
            None
        }
    });
    (label.unwrap_or_else(|| "unmatched".to_owned()), None)
}

/// The client's request id when it is 1 to 128 characters of `[A-Za-z0-9._:-]`.
fn client_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(REQUEST_ID)?;
    let bytes = value.as_bytes();
    let sane = !bytes.is_empty()
        && bytes.len() <= 128
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    sane.then(|| value.clone())
}

/// A new random request id: 32 hexadecimal digits.
fn new_request_id() -> HeaderValue {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: fall back to the clock, still unique enough to follow one request.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes = nanos.as_nanos().to_be_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&hex).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The org header, when it is a short printable token (an id); anything else is `invalid`.
fn org_label(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(persona_api_grpc::headers::ORG_ID)?;
    let text = value.to_str().ok().filter(|t| t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()));
    Some(text.map_or_else(|| "invalid".to_owned(), str::to_owned))
}

/// Where [`record_grpc_status`] leaves the `grpc-status` of a gRPC or gRPC-Web call.
#[derive(Debug, Clone)]
pub struct GrpcStatusSlot(Arc<AtomicI32>);

impl GrpcStatusSlot {
    fn new() -> Self {
        Self(Arc::new(AtomicI32::new(-1)))
    }

    fn set(&self, code: i32) {
        let _ = self.0.compare_exchange(-1, code, Ordering::AcqRel, Ordering::Acquire);
    }

    fn get(&self) -> Option<i32> {
        let code = self.0.load(Ordering::Acquire);
        (code >= 0).then_some(code)
    }
}

/// The `grpc-status` in headers or trailers.
fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()
}

/// A request from its arrival to the end of its answer: holds its unit of
/// `persona_requests_in_flight` and records its series and log line exactly once, when the
/// response body ends or, if the request is dropped before that (the client reset the stream
/// or closed the connection), when it is dropped.
struct Completion {
    span: Span,
    started: Instant,
    protocol: Protocol,
    rpc: String,
    /// The response's HTTP status, once there is a response.
    http_status: Option<u16>,
    metrics: Arc<Metrics>,
    /// Given back when this is dropped, whether or not [`Completion::finish`] ran.
    _in_flight: Held,
    recorded: bool,
}

impl Completion {
    fn new(span: Span, started: Instant, protocol: Protocol, rpc: String, metrics: Arc<Metrics>) -> Self {
        let in_flight = metrics.hold(Gauge::RequestsInFlight);
        Self { span, started, protocol, rpc, http_status: None, metrics, _in_flight: in_flight, recorded: false }
    }

    /// Records the request once the response body ended (`complete`) or was dropped early.
    fn finish(mut self, slot: Option<&GrpcStatusSlot>, complete: bool) {
        self.record(slot, complete);
    }

    fn record(&mut self, slot: Option<&GrpcStatusSlot>, complete: bool) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let cancelled = self.http_status.is_none();
        let code = match (self.protocol, self.http_status) {
            // The contract's code for a call the client gave up: 1 (Canceled), HTTP 499.
            (Protocol::Rest | Protocol::Connect, None) => "499".to_owned(),
            (Protocol::Rest | Protocol::Connect, Some(status)) => status.to_string(),
            (Protocol::Grpc | Protocol::GrpcWeb, None) => "1".to_owned(),
            (Protocol::Grpc | Protocol::GrpcWeb, Some(_)) => {
                slot.and_then(GrpcStatusSlot::get).map_or_else(|| "none".to_owned(), |c| c.to_string())
            }
        };
        let latency = self.started.elapsed();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        self.span.record("code", code.as_str());
        self.span.record("latency_ms", latency_ms);
        self.metrics.request_finished(self.protocol.label(), &self.rpc, &code, latency);
        let failed =
            self.http_status.is_some_and(|s| s >= 500) || matches!(code.as_str(), "2" | "4" | "13" | "14" | "15");
        if cancelled {
            tracing::info!(parent: &self.span, "request cancelled by the client before it was answered");
        } else if !complete {
            tracing::info!(parent: &self.span, "request ended before its response was sent");
        } else if failed {
            tracing::warn!(parent: &self.span, "request failed");
        } else {
            tracing::info!(parent: &self.span, "request done");
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        // Dropped without `finish`: the request future was dropped before it had a response.
        self.record(None, false);
    }
}

/// A response body that notices its `grpc-status` trailer and its end.
struct Watched {
    inner: Body,
    slot: Option<GrpcStatusSlot>,
    completion: Option<Completion>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(slot)) = (frame.trailers_ref(), &this.slot)
                    && let Some(code) = grpc_status(trailers)
                {
                    slot.set(code);
                }
            }
            Poll::Ready(None) => {
                if let Some(completion) = this.completion.take() {
                    completion.finish(this.slot.as_ref(), true);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(completion) = this.completion.take() {
                    completion.finish(this.slot.as_ref(), false);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(completion) = self.completion.take() {
            let complete = http_body::Body::is_end_stream(&self.inner);
            completion.finish(self.slot.as_ref(), complete);
        }
    }
}

/// Middleware around everything: span, request id, log line and metrics of each request.
pub async fn observe(State(metrics): State<Arc<Metrics>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let protocol = Protocol::of(request.headers(), request.uri().path());
    let (rpc, route) = classify(protocol, request.method(), request.uri().path());
    let request_id = client_request_id(request.headers()).unwrap_or_else(new_request_id);
    let org = org_label(request.headers());
    let span = tracing::info_span!(
        "request",
        protocol = protocol.label(),
        rpc = rpc.as_str(),
        route = route.map(|r| format!("{} {r}", request.method())),
        org = org.as_deref(),
        resolved_org = Empty,
        request_id = request_id.to_str().unwrap_or_default(),
        code = Empty,
        latency_ms = Empty,
    );
    request.headers_mut().insert(REQUEST_ID, request_id.clone());
    let slot = matches!(protocol, Protocol::Grpc | Protocol::GrpcWeb).then(GrpcStatusSlot::new);
    if let Some(slot) = &slot {
        request.extensions_mut().insert(slot.clone());
    }
    // From here until the answer ends, the request counts as in flight; if this future is
    // dropped first (a reset stream, a closed connection), `completion` records that instead.
    let mut completion = Completion::new(span.clone(), started, protocol, rpc, metrics);
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    let (mut parts, body) = response.into_parts();
    parts.headers.insert(REQUEST_ID, request_id);
    if let (Some(slot), Some(code)) = (&slot, grpc_status(&parts.headers)) {
        slot.set(code);
    }
    completion.http_status = Some(parts.status.as_u16());
    let body = Watched { inner: body, slot, completion: Some(completion) };
    Response::from_parts(parts, Body::new(body))
}

/// Middleware inside the gRPC-Web translation: leaves the call's `grpc-status` (a header of a
/// trailers-only answer, or a trailer) in the request's [`GrpcStatusSlot`].
pub async fn record_grpc_status(request: Request, next: Next) -> Response {
    let slot = request.extensions().get::<GrpcStatusSlot>().cloned();
    let response = next.run(request).await;
    let Some(slot) = slot else { return response };
    if let Some(code) = grpc_status(response.headers()) {
        slot.set(code);
        return response;
    }
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(Watched { inner: body, slot: Some(slot), completion: None }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn requests_are_labelled_by_rpc_with_bounded_values() {
        let table = [
            (Protocol::Rest, Method::PUT, "/management/v1/users/1/profile", "UpdateHumanProfile"),
            (Protocol::Rest, Method::GET, "/ready", "/ready"),
            (Protocol::Rest, Method::GET, "/etc/passwd", "unmatched"),
            (Protocol::Rest, Method::GET, "/console", "console"),
            (Protocol::Rest, Method::GET, "/console/app.js", "console"),
            (Protocol::Rest, Method::GET, "/console/no-such-file", "console"),
            (Protocol::Grpc, Method::POST, "/zitadel.management.v1.ManagementService/GetMyOrg", "GetMyOrg"),
            (Protocol::GrpcWeb, Method::POST, "/grpc.health.v1.Health/Check", "grpc.health.v1.Health/Check"),
            (Protocol::Grpc, Method::POST, "/zitadel.management.v1.ManagementService/Nope", "unmatched"),
            (Protocol::Grpc, Method::POST, "/x.Y/Z", "unmatched"),
            (Protocol::Connect, Method::POST, "/zitadel.management.v1.ManagementService/AddOrg", "AddOrg"),
            (Protocol::Connect, Method::POST, "/zitadel.management.v1.ManagementService/Nope", "unmatched"),
        ];
        for (protocol, method, path, label) in table {
            assert_eq!(classify(protocol, &method, path).0, label, "{path}");
        }
    }

    #[test]
    fn only_sane_client_request_ids_are_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123.x_y:z"));
        assert!(client_request_id(&headers).is_some());
        headers.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        assert!(client_request_id(&headers).is_none());
        let generated = new_request_id();
        assert_eq!(generated.len(), 32);
        assert_ne!(generated, new_request_id());
    }
}
