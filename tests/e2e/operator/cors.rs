//! CORS: by default any origin may call the API from a browser; with `cors.allowed_origins`
//! only those listed get `access-control-allow-origin`, for REST and gRPC-Web alike, in
//! preflights and in answers. Credentials are never allowed.

use crate::harness::{Server, run};
use bytes::Bytes;
use http::HeaderMap;

const ALLOWED: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.net";
const GRPC_WEB_PATH: &str = "/zitadel.management.v1.ManagementService/GetMyOrg";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A browser's preflight for `method` with `request_headers` to `path` from `origin`.
async fn preflight(server: &Server, origin: &str, path: &str, method: &str, request_headers: &str) -> HeaderMap {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", method),
        ("access-control-request-headers", request_headers),
    ];
    let (status, headers, _) = server.request("OPTIONS", path, &headers, Bytes::new()).await.expect("a preflight");
    assert!(status < 300, "preflight answered {status}");
    headers
}

/// A REST `GetMyOrg` and a gRPC-Web `GetMyOrg` from `origin`: both answers' headers.
async fn calls(server: &Server, origin: &str) -> [HeaderMap; 2] {
    let auth = server.admin();
    let (status, rest, _) = server
        .request("GET", "/management/v1/orgs/me", &[("origin", origin), ("authorization", &auth)], Bytes::new())
        .await
        .expect("REST");
    assert_eq!(status, 200);
    let grpc_web_headers = [
        ("origin", origin),
        ("authorization", auth.as_str()),
        ("content-type", "application/grpc-web+proto"),
        ("x-grpc-web", "1"),
    ];
    let (status, grpc_web, _) =
        server.request("POST", GRPC_WEB_PATH, &grpc_web_headers, Bytes::from_static(&[0; 5])).await.expect("gRPC-Web");
    assert_eq!(status, 200);
    [rest, grpc_web]
}

#[tokio::test]
async fn only_the_allowed_origins_may_call_from_a_browser_and_never_with_credentials() {
    let server = Server::start_with(&[("PERSONA_CORS__ALLOWED_ORIGINS", &format!("[\"{ALLOWED}\"]"))]).await;
    let rest_preflight = ("/management/v1/users/1/profile", "PUT", "authorization,content-type,if-match");
    let grpc_web_preflight = (GRPC_WEB_PATH, "POST", "content-type,x-grpc-web,x-user-agent,authorization");
    for (path, method, request_headers) in [rest_preflight, grpc_web_preflight] {
        let allowed = preflight(&server, ALLOWED, path, method, request_headers).await;
        assert_eq!(header(&allowed, "access-control-allow-origin"), Some(ALLOWED), "{path}: {allowed:?}");
        let methods = header(&allowed, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains(method), "{path}: {methods}");
        let granted = header(&allowed, "access-control-allow-headers").unwrap_or_default();
        for wanted in request_headers.split(',') {
            assert!(granted.contains(wanted), "{path}: {wanted} not in {granted}");
        }
        assert_eq!(header(&allowed, "access-control-allow-credentials"), None, "{path}");
        let refused = preflight(&server, OTHER, path, method, request_headers).await;
        assert_eq!(header(&refused, "access-control-allow-origin"), None, "{path}: {refused:?}");
    }
    for answer in calls(&server, ALLOWED).await {
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(ALLOWED), "{answer:?}");
        assert!(header(&answer, "access-control-expose-headers").is_some_and(|h| h.contains("grpc-status")));
        assert!(header(&answer, "vary").is_some_and(|v| v.contains("origin")), "caches keep origins apart");
        assert_eq!(header(&answer, "access-control-allow-credentials"), None);
    }
    for answer in calls(&server, OTHER).await {
        assert_eq!(header(&answer, "access-control-allow-origin"), None, "{answer:?}");
    }

    // The default: any origin, still without credentials.
    let open = Server::start().await;
    let preflight = preflight(&open, OTHER, GRPC_WEB_PATH, "POST", "content-type,x-grpc-web").await;
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some(OTHER));
    for answer in calls(&open, OTHER).await {
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(OTHER), "{answer:?}");
        assert_eq!(header(&answer, "access-control-allow-credentials"), None);
    }
}

#[tokio::test]
async fn an_allowed_origin_that_is_not_an_origin_stops_the_start_naming_the_key() {
    let output = run(&["config"], &[("PERSONA_CORS__ALLOWED_ORIGINS", "[\"https://app.example.com/\"]")]).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cors.allowed_origins") && stderr.contains("PERSONA_CORS__ALLOWED_ORIGINS"), "{stderr}");
}
