//! Protection: load shedding at the concurrency cap (in all three protocols), the per-request
//! timeout, the body limit and the connection limit, each set by its configuration key.

use super::process::{HeldRequest, Persona};
use bytes::Bytes;
use persona_api_grpc::pb::zitadel::management::v1::GetMyOrgRequest;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tonic::transport::Channel;

/// A gRPC client of the server, authenticated as the admin.
pub async fn grpc_get_my_org(
    server: &Persona,
) -> Result<tonic::Response<persona_api_grpc::pb::zitadel::management::v1::GetMyOrgResponse>, tonic::Status> {
    let channel =
        Channel::from_shared(format!("http://{}", server.address)).expect("uri").connect().await.expect("h2c");
    let mut client = ManagementServiceClient::new(channel);
    let mut request = tonic::Request::new(GetMyOrgRequest {});
    request.metadata_mut().insert("authorization", server.admin().parse().expect("metadata"));
    client.get_my_org(request).await
}

/// A gRPC-Web `GetMyOrg` call: HTTP status, `grpc-status` (header or trailer).
pub async fn grpc_web_get_my_org(server: &Persona) -> (u16, Option<String>) {
    let auth = server.admin();
    let headers = [("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1"), ("authorization", &auth)];
    let (status, headers, body) = server
        .request("POST", "/zitadel.management.v1.ManagementService/GetMyOrg", &headers, Bytes::from_static(&[0; 5]))
        .await
        .expect("gRPC-Web request");
    let in_header = headers.get("grpc-status").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = String::from_utf8_lossy(&body);
    let in_trailer = text.find("grpc-status:").map(|at| {
        text[at + "grpc-status:".len()..].trim_start().chars().take_while(char::is_ascii_digit).collect::<String>()
    });
    (status, in_header.or(in_trailer))
}

#[tokio::test]
async fn a_saturated_server_sheds_load_in_every_protocol_and_recovers() {
    let server = Persona::start(&[("PERSONA_LIMITS__MAX_CONCURRENT_REQUESTS", "1")]).await;
    let auth = server.admin();
    let held = HeldRequest::open(
        &server.address,
        "POST",
        "/management/v1/orgs",
        &[("authorization", &auth), ("content-type", "application/json")],
        br#"{"name":"Holds the only slot"}"#,
    )
    .await;
    server.wait_for_in_flight(1).await;

    let (status, _, body) = server.rest("GET", "/management/v1/orgs/me", None).await;
    assert_eq!((status, body["code"].as_i64()), (503, Some(14)), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let refused = grpc_get_my_org(&server).await.expect_err("shed");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert_eq!(grpc_web_get_my_org(&server).await, (200, Some("14".to_owned())));
    // The probes are never shed.
    let (status, _, _) = server.request("GET", "/ready", &[], Bytes::new()).await.expect("ready");
    assert_eq!(status, 200);
    assert!(server.metric("persona_requests_shed_total").await >= Some(3.0));

    let (status, _) = held.finish().await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, _) = server.rest("GET", "/management/v1/orgs/me", None).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    grpc_get_my_org(&server).await.expect("served again");
}

#[tokio::test]
async fn slow_requests_time_out_and_large_bodies_are_refused() {
    let server =
        Persona::start(&[("PERSONA_LIMITS__REQUEST_TIMEOUT_SECONDS", "1"), ("PERSONA_LIMITS__MAX_BODY_BYTES", "64")])
            .await;
    let auth = server.admin();
    let started = Instant::now();
    let held = HeldRequest::open(
        &server.address,
        "POST",
        "/management/v1/orgs",
        &[("authorization", &auth), ("content-type", "application/json")],
        br#"{"name":"Too slow"}"#,
    )
    .await;
    let (status, body) = held.answer().await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    let body: Value = serde_json::from_slice(&body).expect("JSON error body");
    assert_eq!((status, body["code"].as_i64()), (504, Some(4)), "{body}");

    let large = serde_json::json!({ "name": "x".repeat(100) });
    let (status, _, body) = server.rest("POST", "/management/v1/orgs", Some(large)).await;
    assert_eq!((status, body["code"].as_i64()), (413, Some(8)), "{body}");
    assert!(server.metric("persona_requests_timed_out_total").await >= Some(1.0));
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed() {
    let server = Persona::start(&[("PERSONA_LIMITS__MAX_CONNECTIONS", "2")]).await;
    // The test's HTTP client keeps one connection open; one more fills the limit.
    let (status, _, _) = server.request("GET", "/healthz", &[], Bytes::new()).await.expect("healthz");
    assert_eq!(status, 200);
    let _second = TcpStream::connect(&server.address).await.expect("connect");
    server.wait_for_metric("persona_connections_open", 2.0).await;
    let mut third = TcpStream::connect(&server.address).await.expect("the kernel accepts");
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await.expect("closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "the third connection is closed: {read:?}");
    assert!(server.metric("persona_connections_refused_total").await >= Some(1.0));
}
