//! The Connect protocol's own rules (CONTRACT section 7), beyond the cross-protocol tables that
//! run every RPC over Connect too: refusals in Connect's error shape (unknown codec 415, other
//! methods 405, a protocol version other than 1, compressed bodies, bad timeouts, unknown
//! procedures), the error JSON with its decodable details, the client's deadline, CORS for
//! Connect's headers, and the `connect` label in the metrics.

use crate::harness::{ADA, Server, add_human, connect_outcome};
use bytes::Bytes;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SERVICE: &str = "/zitadel.management.v1.ManagementService";

/// A raw Connect request to `rpc`: status, headers and the body as JSON.
async fn send(
    server: &Server,
    method: &str,
    rpc: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, Value) {
    let path = format!("{SERVICE}/{rpc}");
    let (status, headers, body) =
        server.request(method, &path, headers, Bytes::from(body.to_owned())).await.expect("Connect request");
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{rpc}: JSON body ({e}): {}", String::from_utf8_lossy(&body)));
    (status, headers, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_errors_come_in_connect_shapes() {
    let server = Server::start().await;
    let admin = server.admin();
    let auth = ("authorization", admin.as_str());
    let json_type = ("content-type", "application/json");
    // (case, method, rpc, headers, status, code, a header the answer must carry)
    type Case<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>, u16, &'a str, Option<(&'a str, &'a str)>);
    let table: Vec<Case<'_>> = vec![
        (
            "unknown codec",
            "POST",
            "GetMyOrg",
            vec![auth, ("content-type", "text/xml")],
            415,
            "unimplemented",
            Some(("accept-post", "application/json, application/proto")),
        ),
        ("no content type", "POST", "GetMyOrg", vec![auth], 415, "unimplemented", None),
        (
            "streaming codec",
            "POST",
            "GetMyOrg",
            vec![auth, ("content-type", "application/connect+json")],
            415,
            "unimplemented",
            None,
        ),
        (
            "protocol version 2",
            "POST",
            "GetMyOrg",
            vec![auth, json_type, ("connect-protocol-version", "2")],
            400,
            "invalid_argument",
            None,
        ),
        ("unary GET", "GET", "GetMyOrg", vec![auth, json_type], 405, "unimplemented", Some(("allow", "POST"))),
        ("PUT", "PUT", "GetMyOrg", vec![auth, json_type], 405, "unimplemented", Some(("allow", "POST"))),
        (
            "gzip body",
            "POST",
            "GetMyOrg",
            vec![auth, json_type, ("content-encoding", "gzip")],
            501,
            "unimplemented",
            Some(("accept-encoding", "identity")),
        ),
        (
            "timeout not a number",
            "POST",
            "GetMyOrg",
            vec![auth, json_type, ("connect-timeout-ms", "1s")],
            400,
            "invalid_argument",
            None,
        ),
        ("unknown procedure", "POST", "DropAllUsers", vec![auth, json_type], 404, "unimplemented", None),
        ("no token", "POST", "GetMyOrg", vec![json_type], 401, "unauthenticated", Some(("www-authenticate", "Bearer"))),
    ];
    for (case, method, rpc, headers, status, code, header) in table {
        let (answered, response_headers, body) = send(&server, method, rpc, &headers, "{}").await;
        assert_eq!((answered, body["code"].as_str()), (status, Some(code)), "{case}: {body}");
        assert_eq!(response_headers["content-type"], "application/json", "{case}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}: {body}");
        if let Some((name, value)) = header {
            assert_eq!(response_headers[name], value, "{case}");
        }
    }

    // A domain error: the contract's message, FailedPrecondition as HTTP 400, and the
    // ErrorDetail decodable from its unpadded base64.
    let user = add_human(&server, None, "connect-shape", ADA).await;
    let same = json!({"userId": user, "firstName": ADA.first, "lastName": ADA.last, "displayName": ADA.display});
    let headers = [auth, json_type, ("connect-protocol-version", "1")];
    let (status, _, body) = send(&server, "POST", "UpdateHumanProfile", &headers, &same.to_string()).await;
    assert_eq!(status, 400, "{body}");
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["code", "details", "message"], "nothing beyond the spec's members");
    assert_eq!(body["details"][0]["type"], "zitadel.v1.ErrorDetail");
    assert!(!body["details"][0]["value"].as_str().expect("value").ends_with('='), "unpadded");
    let outcome = connect_outcome(body);
    assert_eq!((outcome.code, outcome.message.as_str()), (9, "Profile not changed (COMMAND-2M0fs)"));
    assert_eq!(
        (outcome.detail_id.as_deref(), outcome.detail_message.as_deref()),
        (Some("COMMAND-2M0fs"), Some("Profile not changed"))
    );

    // Field violations travel as a second detail, google.rpc.BadRequest, as over gRPC.
    let invalid = json!({"userId": user, "firstName": "", "lastName": "L", "displayName": "x".repeat(201)});
    let (status, _, body) = send(&server, "POST", "UpdateHumanProfile", &headers, &invalid.to_string()).await;
    assert_eq!(status, 400, "{body}");
    let types: Vec<&str> =
        body["details"].as_array().into_iter().flatten().filter_map(|d| d["type"].as_str()).collect();
    assert!(types.contains(&"google.rpc.BadRequest"), "{body}");
    assert_eq!(connect_outcome(body).violations, ["firstName", "displayName"]);

    // A browser may send Connect's headers.
    let preflight = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type,connect-protocol-version,connect-timeout-ms"),
    ];
    let path = format!("{SERVICE}/GetMyOrg");
    let (status, allowed, _) = server.request("OPTIONS", &path, &preflight, Bytes::new()).await.expect("preflight");
    assert!(status < 300, "preflight {status}");
    let allowed = allowed["access-control-allow-headers"].to_str().expect("ascii").to_ascii_lowercase();
    assert!(allowed.contains("connect-protocol-version") && allowed.contains("connect-timeout-ms"), "{allowed}");

    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"protocol="connect",rpc="UpdateHumanProfile",code="400""#), "{metrics}");
    assert!(metrics.contains(r#"protocol="connect",rpc="unmatched",code="404""#), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_ms_is_the_callers_deadline() {
    let server = Server::start().await;
    let admin = server.admin();
    let started = Instant::now();
    // The body never comes in full, so only the deadline can end the call.
    let held = crate::operator::held::HeldRequest::open(
        &server.address,
        "POST",
        &format!("{SERVICE}/AddOrg"),
        &[("authorization", &admin), ("content-type", "application/json"), ("connect-timeout-ms", "300")],
        br#"{"name":"Too slow for its caller"}"#,
    )
    .await;
    let (status, body) = held.answer().await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(280) && elapsed < Duration::from_secs(10), "{elapsed:?}");
    let body: Value = serde_json::from_slice(&body).expect("Connect error JSON");
    assert_eq!((status, body["code"].as_str()), (504, Some("deadline_exceeded")), "{body}");
    assert!(server.metric("persona_requests_timed_out_total").await >= Some(1.0));
}
