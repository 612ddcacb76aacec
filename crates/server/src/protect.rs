//! Load shedding and the per-request timeout, in front of the API (probes stay outside).
//!
//! At most `limits.max_concurrent_requests` requests are handled at once; one more is answered
//! at once with `Unavailable` (REST 503) instead of waiting in a queue of unbounded length. A
//! request not answered within `limits.request_timeout_seconds` (or the client's shorter
//! `grpc-timeout`, or Connect's `connect-timeout-ms`) is answered with `DeadlineExceeded` (REST
//! and Connect 504). Both answers have the contract's shapes: the JSON error body for REST,
//! Connect's error JSON for Connect, `grpc-status` and `grpc-message` for gRPC and gRPC-Web.

use crate::metrics::Metrics;
use crate::observe::Protocol;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use persona_api_grpc::connect::{self, ConnectError};
use persona_api_rest::error::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// gRPC code `DeadlineExceeded`.
const DEADLINE_EXCEEDED: i32 = 4;
/// gRPC code `Unavailable`.
pub const UNAVAILABLE: i32 = 14;

/// The limits and what they count with.
#[derive(Debug)]
pub struct Protection {
    permits: Arc<Semaphore>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Protection {
    /// At most `max_concurrent` requests at once, each answered within `timeout`.
    #[must_use]
    pub fn new(max_concurrent: usize, timeout: Duration, metrics: Arc<Metrics>) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_concurrent)), timeout, metrics }
    }
}

/// A gRPC `grpc-timeout` header (`<digits><unit>`, unit one of `HMSmun`) as a duration.
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `grpc-message` as the gRPC spec wants it: percent-encoded outside printable ASCII.
fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An answer without calling the API, in the shape of `protocol`; `content_type` is the
/// request's, echoed for gRPC and gRPC-Web.
#[must_use]
pub fn refuse(protocol: Protocol, content_type: Option<&HeaderValue>, code: i32, message: &str) -> Response {
    match protocol {
        Protocol::Rest => ApiError::Plain { code, message: message.to_owned() }.into_response(),
        Protocol::Connect => ConnectError::new(code, message).into_response(),
        Protocol::Grpc | Protocol::GrpcWeb => {
            let fallback = HeaderValue::from_static(if protocol == Protocol::Grpc {
                "application/grpc"
            } else {
                "application/grpc-web+proto"
            });
            let mut response = StatusCode::OK.into_response();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, content_type.cloned().unwrap_or(fallback));
            headers.insert("grpc-status", HeaderValue::from(code));
            if let Ok(value) = HeaderValue::from_str(&percent_encode(message)) {
                headers.insert("grpc-message", value);
            }
            response
        }
    }
}

/// The middleware: sheds load beyond the limit and bounds each request's time.
pub async fn protect(State(protection): State<Arc<Protection>>, request: Request, next: Next) -> Response {
    let protocol = Protocol::of(request.headers(), request.uri().path());
    let content_type = request.headers().get(CONTENT_TYPE).cloned();
    let Ok(_permit) = protection.permits.clone().try_acquire_owned() else {
        protection.metrics.request_shed();
        tracing::debug!("too many requests in progress: shedding this one");
        return refuse(
            protocol,
            content_type.as_ref(),
            UNAVAILABLE,
            "The server is handling too many requests, please retry later",
        );
    };
    // A client's deadline: `grpc-timeout` (gRPC, gRPC-Web) or `connect-timeout-ms` (Connect; an
    // invalid value is refused by the Connect layer itself).
    let client = match protocol {
        Protocol::Connect => connect::timeout(request.headers()).ok().flatten(),
        _ => grpc_timeout(request.headers()),
    };
    let limit = client.map_or(protection.timeout, |t| t.min(protection.timeout));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            protection.metrics.request_timed_out();
            tracing::debug!(timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX), "request timed out");
            let message = format!("The request took longer than {} ms", limit.as_millis());
            refuse(protocol, content_type.as_ref(), DEADLINE_EXCEEDED, &message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_with_every_unit() {
        let table = [
            ("1H", Some(Duration::from_secs(3600))),
            ("2M", Some(Duration::from_secs(120))),
            ("3S", Some(Duration::from_secs(3))),
            ("40m", Some(Duration::from_millis(40))),
            ("5u", Some(Duration::from_micros(5))),
            ("6n", Some(Duration::from_nanos(6))),
            ("7x", None),
            ("m", None),
            ("1234567890S", None),
        ];
        for (value, expected) in table {
            let mut headers = HeaderMap::new();
            headers.insert("grpc-timeout", HeaderValue::from_static(value));
            assert_eq!(grpc_timeout(&headers), expected, "{value}");
        }
    }

    #[test]
    fn refusals_have_the_contract_shapes() {
        let rest = refuse(Protocol::Rest, None, UNAVAILABLE, "busy");
        assert_eq!(rest.status(), StatusCode::SERVICE_UNAVAILABLE);
        let timeout = refuse(Protocol::Rest, None, DEADLINE_EXCEEDED, "slow");
        assert_eq!(timeout.status(), StatusCode::GATEWAY_TIMEOUT);
        let grpc = refuse(Protocol::Grpc, None, UNAVAILABLE, "büsy 100%");
        assert_eq!(grpc.status(), StatusCode::OK);
        assert_eq!(grpc.headers()["grpc-status"], "14");
        assert_eq!(grpc.headers()["grpc-message"], "b%C3%BCsy 100%25");
        assert_eq!(grpc.headers()[CONTENT_TYPE], "application/grpc");
        let connect = refuse(Protocol::Connect, None, DEADLINE_EXCEEDED, "slow");
        assert_eq!(connect.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(connect.headers()[CONTENT_TYPE], "application/json");
    }
}
