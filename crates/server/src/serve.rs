//! One listener for everything: requests with a gRPC content type go to the gRPC services
//! (native and gRPC-Web), all others to REST. CORS wraps the dispatcher, because browser
//! preflights carry no gRPC content type.

use crate::config::Config;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, Method, Request, StatusCode, header};
use persona_api_grpc::GrpcConfig;
use persona_api_rest::RestConfig;
use persona_domain::Service;
use persona_domain::ports::Store;
use std::convert::Infallible;
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

fn cors() -> CorsLayer {
    let allow = [
        "authorization",
        "x-zitadel-orgid",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "content-type",
        "if-match",
        "x-persona-validate-only",
    ];
    let expose = ["grpc-status", "grpc-message", "grpc-status-details-bin", "etag"];
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers(allow.map(HeaderName::from_static))
        .expose_headers(expose.map(HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(600))
}

async fn ready<S: Store>(State(service): State<Service<S>>) -> Response {
    match service.ready().await {
        Ok(()) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"status\":\"ready\"}").into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"code\":14,\"message\":\"The database is not available\"}",
        )
            .into_response(),
    }
}

async fn healthz() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"status\":\"ok\"}").into_response()
}

/// The whole application: probes, REST, gRPC and gRPC-Web behind CORS.
///
/// # Errors
/// When the gRPC services cannot be built (a defect of the compiled-in descriptors).
pub async fn app<S: Store>(service: Service<S>, config: &Config) -> Result<Router, persona_api_grpc::SetupError> {
    let grpc =
        persona_api_grpc::grpc_router(service.clone(), &GrpcConfig { max_message_bytes: config.limits.max_body_bytes })
            .await?;
    let rest = persona_api_rest::router(service.clone(), RestConfig { max_body_bytes: config.limits.max_body_bytes });
    let dispatch = tower::service_fn(move |request: Request<Body>| {
        let (grpc, rest) = (grpc.clone(), rest.clone());
        async move {
            let response = if is_grpc(&request) { grpc.oneshot(request).await } else { rest.oneshot(request).await };
            Ok::<_, Infallible>(response.into_response())
        }
    });
    Ok(Router::new()
        .route("/healthz", get(healthz))
        .route("/ready", get(ready::<S>))
        .with_state(service)
        .fallback_service(dispatch)
        .layer(cors()))
}
