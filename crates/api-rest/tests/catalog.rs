//! The route table that the OpenAPI document and the request labels come from matches the
//! router: every entry reaches a handler (never the router's own 404 or 405).

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use persona_api_rest::catalog::ROUTES;
use persona_api_rest::{RestConfig, router};
use persona_domain::memory::{InMemoryStore, SeededRandom, SystemClock};
use persona_domain::{Service, ServiceConfig};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

#[tokio::test]
async fn every_catalog_route_reaches_a_handler() {
    let service = Service::new(
        InMemoryStore::default(),
        Arc::new(SystemClock),
        Arc::new(SeededRandom::new(3)),
        ServiceConfig::default(),
    );
    let app = router(service, RestConfig::default());
    for route in ROUTES {
        let path: Vec<&str> =
            route.path.split('/').map(|segment| if segment.starts_with('{') { "123" } else { segment }).collect();
        let request = Request::builder()
            .method(Method::from_bytes(route.method.as_bytes()).expect("method"))
            .uri(path.join("/"))
            .header("content-type", "application/json")
            .body(Body::from(if route.body { "{}" } else { "" }))
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        let json: Value = serde_json::from_slice(&body).expect("JSON");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{route:?}");
        assert_ne!(json["message"], "Not Found", "{route:?} fell through to the router's 404");
        if route.permission.is_none() {
            assert_eq!(status, StatusCode::OK, "{route:?}: {json}");
        } else {
            // Without a token: refused by the handler (validation or authentication).
            assert!(matches!(status.as_u16(), 400 | 401), "{route:?}: {status} {json}");
        }
    }
}
