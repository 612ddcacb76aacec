//! One listener for everything: requests with a gRPC content type go to the gRPC services
//! (native and gRPC-Web), other requests to a path `/<pkg>.<Service>/<Method>` of a service
//! served over Connect ([`persona_api_grpc::connect::SERVICES`]) to Connect, which answers
//! unknown codecs with 415 and other methods than POST with 405, and all others to REST. From
//! the outside in:
//!
//! 1. CORS, because browser preflights carry no gRPC content type;
//! 2. [`observe`](crate::observe::observe): span, request id, log line, metrics;
//! 3. the operator endpoints `/healthz`, `/ready`, `/metrics`, `/openapi.json` and the
//!    console's static files under `/console/` ([`crate::console`]), which are neither shed nor
//!    timed out;
//! 4. [`protect`](crate::protect::protect): load shedding and the per-request timeout;
//! 5. the dispatcher to REST, Connect or gRPC (with gRPC-Web translation); gRPC with any
//!    other codec than protobuf is answered `UNIMPLEMENTED` there.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::observe::{self, Protocol};
use crate::protect::{self, Protection};
use crate::readiness::Readiness;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use persona_api_grpc::connect::{self, ConnectConfig};
use persona_api_grpc::{GrpcConfig, HealthSwitch};
use persona_api_rest::RestConfig;
use persona_api_rest::error::ApiError;
use persona_domain::Service;
use persona_domain::ports::Store;
use persona_storage::StorageStats;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Whether a request is gRPC or gRPC-Web (by content type).
#[must_use]
pub fn is_grpc(request: &Request<Body>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

/// The gRPC and gRPC-Web media types Persona serves: protobuf messages only.
const PROTOBUF_GRPC: [&str; 6] = [
    "application/grpc",
    "application/grpc+proto",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
];

/// gRPC code `Unimplemented`.
const UNIMPLEMENTED: i32 = 12;

/// The answer to a gRPC request whose content type asks for a codec Persona does not serve
/// (`application/grpc+json`, `application/grpc-web+json`, …): `UNIMPLEMENTED` as a gRPC
/// status, rather than tonic-web's bare HTTP 400 or a JSON body read as protobuf.
fn unsupported_codec(request: &Request<Body>) -> Option<Response> {
    let content_type = request.headers().get(header::CONTENT_TYPE)?;
    let text = content_type.to_str().unwrap_or_default();
    let media = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if PROTOBUF_GRPC.contains(&media.as_str()) {
        return None;
    }
    let shown: String = media.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
    let message = format!(
        "Content type {shown} is not supported: Persona speaks gRPC with protobuf messages \
         (application/grpc, application/grpc-web, application/grpc-web-text)"
    );
    let protocol = Protocol::of(request.headers(), request.uri().path());
    Some(protect::refuse(protocol, Some(content_type), UNIMPLEMENTED, &message))
}

/// CORS for browsers: `origins` (as browsers send them) or, for `None`, any origin; never with
/// credentials, since callers authenticate with a bearer token, not cookies.
fn cors(origins: Option<Vec<String>>) -> CorsLayer {
    let allow = [
        "authorization",
        "x-zitadel-orgid",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "content-type",
        "if-match",
        "x-persona-validate-only",
        "x-request-id",
        "connect-protocol-version",
        "connect-timeout-ms",
    ];
    let expose = ["grpc-status", "grpc-message", "grpc-status-details-bin", "etag", "x-request-id"];
    let allow_origin = match origins {
        None => AllowOrigin::mirror_request(),
        // The configuration check made sure each is a valid header value.
        Some(origins) => AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers(allow.map(HeaderName::from_static))
        .expose_headers(expose.map(HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(600))
}

/// The storage numbers (commit queue, batches, pools), read on each scrape.
pub type StorageProbe = Arc<dyn Fn() -> StorageStats + Send + Sync>;

/// What the operator endpoints and middleware share.
#[derive(Clone)]
pub struct Operations {
    /// Request and connection metrics.
    pub metrics: Arc<Metrics>,
    /// The last known readiness.
    pub readiness: Arc<Readiness>,
    /// Storage numbers for `/metrics`.
    pub storage: StorageProbe,
    /// The OpenAPI document, serialized once.
    pub openapi: Bytes,
    /// Webhook delivery numbers.
    pub webhooks: Arc<persona_webhooks::WebhookStats>,
}

struct Probes<S> {
    service: Service<S>,
    ops: Operations,
}

impl<S> Clone for Probes<S> {
    fn clone(&self) -> Self {
        Self { service: self.service.clone(), ops: self.ops.clone() }
    }
}

fn json_response(status: StatusCode, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (status, headers, body).into_response()
}

/// 503 with code 14 (`Unavailable`) in the contract's error shape.
fn unavailable(message: &str) -> Response {
    ApiError::Plain { code: 14, message: message.to_owned() }.into_response()
}

async fn ready<S: Store>(State(probes): State<Probes<S>>) -> Response {
    if probes.ops.readiness.is_stopping() {
        return unavailable("The server is shutting down");
    }
    if probes.ops.readiness.check(&probes.service).await {
        json_response(StatusCode::OK, "{\"status\":\"ready\"}")
    } else {
        unavailable("The database is not available")
    }
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, "{\"status\":\"ok\"}")
}

async fn scrape<S: Store>(State(probes): State<Probes<S>>) -> Response {
    let mut text = probes.ops.metrics.render(&(probes.ops.storage)(), probes.ops.readiness.is_ready());
    crate::metrics::render_webhooks(&mut text, &probes.ops.webhooks.snapshot());
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], text)
        .into_response()
}

async fn openapi<S: Store>(State(probes): State<Probes<S>>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], probes.ops.openapi.clone()).into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The OpenAPI document of the REST surface: the management API generated from the route
/// table and the protobuf descriptors, plus the probes.
///
/// # Errors
/// When the compiled-in descriptors do not describe a route (a build defect).
pub fn openapi_document() -> Result<Bytes, persona_api_rest::openapi::OpenApiError> {
    let mut document = persona_api_rest::openapi::document(env!("CARGO_PKG_VERSION"))?;
    let probe = |summary: &str, ok: &str, unavailable: bool| {
        let mut responses = json!({"200": {"description": ok, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"status": {"type": "string"}}
        }}}}});
        if unavailable {
            responses["503"] = json!({"description": "Not ready", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Error"
            }}}});
        }
        json!({"get": {"operationId": summary, "summary": summary, "tags": ["Operations"], "security": [], "responses": responses}})
    };
    if let Some(paths) = document["paths"].as_object_mut() {
        paths.insert("/healthz".to_owned(), probe("Healthz (process)", "The process is up", false));
        paths.insert("/ready".to_owned(), probe("Ready", "The database is reachable and migrated", true));
    }
    if let Some(tags) = document["tags"].as_array_mut() {
        tags.push(json!({"name": "Operations", "description": "Probes for orchestrators and load balancers"}));
    }
    Ok(Bytes::from(document.to_string()))
}

/// The whole application: CORS, observation, probes, protection, REST, Connect, gRPC and gRPC-Web; and
/// the switch of the gRPC health service.
///
/// # Errors
/// When the gRPC services cannot be built (a defect of the compiled-in descriptors).
pub async fn app<S: Store>(
    service: Service<S>,
    config: &Config,
    ops: Operations,
) -> Result<(Router, HealthSwitch), persona_api_grpc::SetupError> {
    let grpc_config = GrpcConfig { max_message_bytes: config.limits.max_body_bytes };
    let (routes, health) = persona_api_grpc::grpc_routes_with_health(service.clone(), &grpc_config).await?;
    let grpc = persona_api_grpc::native_router(routes)
        .layer(middleware::from_fn(observe::record_grpc_status))
        .layer(tonic_web::GrpcWebLayer::new());
    let scim = persona_api_scim::router(
        service.clone(),
        persona_api_scim::ScimConfig { max_body_bytes: config.limits.max_body_bytes },
    );
    let rest = scim
        .merge(persona_api_rest::router(service.clone(), RestConfig { max_body_bytes: config.limits.max_body_bytes }));
    let connect = connect::router(service.clone(), ConnectConfig { max_body_bytes: config.limits.max_body_bytes });
    let dispatch = tower::service_fn(move |request: Request<Body>| {
        let (grpc, rest, connect) = (grpc.clone(), rest.clone(), connect.clone());
        async move {
            let response = if !is_grpc(&request) {
                if connect::is_connect_path(request.uri().path()) {
                    connect.oneshot(request).await.into_response()
                } else {
                    rest.oneshot(request).await.into_response()
                }
            } else if let Some(refusal) = unsupported_codec(&request) {
                refusal
            } else {
                grpc.oneshot(request).await.into_response()
            };
            Ok::<_, Infallible>(response)
        }
    });
    let protection = Arc::new(Protection::new(
        config.limits.max_concurrent_requests,
        config.limits.request_timeout(),
        ops.metrics.clone(),
    ));
    let api =
        Router::new().fallback_service(dispatch).layer(middleware::from_fn_with_state(protection, protect::protect));
    let metrics = ops.metrics.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/ready", get(ready::<S>))
        .route("/metrics", get(scrape::<S>))
        .route("/openapi.json", get(openapi::<S>))
        .merge(crate::console::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Probes { service, ops })
        .fallback_service(api)
        .layer(middleware::from_fn_with_state(metrics, observe::observe))
        // The configuration was checked when loaded; should it still be unusable, no origin
        // is allowed rather than any.
        .layer(cors(config.cors.origins().unwrap_or_else(|_| Some(Vec::new()))));
    Ok((router, health))
}
