//! Protection: load shedding at the concurrency cap (in every protocol), the per-request
//! timeout, the body limit and the connection limit, each set by its configuration key.

use super::held::HeldRequest;
use crate::calls::{Call, PROTOCOLS, invoke};
use crate::harness::Server;
use bytes::Bytes;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn a_saturated_server_sheds_load_in_every_protocol_and_recovers() {
    let server = Server::start_with(&[("PERSONA_LIMITS__MAX_CONCURRENT_REQUESTS", "1")]).await;
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

    for protocol in PROTOCOLS {
        let shed = invoke(&server, protocol, &Call::GetMyOrg, &[("authorization", &auth)]).await;
        assert_eq!(shed.outcome.code, 14, "{protocol:?}: Unavailable: {shed:?}");
        if protocol.http_errors() {
            assert_eq!(shed.status, Some(503), "{shed:?}");
            assert!(!shed.outcome.message.is_empty(), "{shed:?}");
        }
    }
    // The probes are never shed.
    let (status, _, _) = server.request("GET", "/ready", &[], Bytes::new()).await.expect("ready");
    assert_eq!(status, 200);
    assert!(server.metric("persona_requests_shed_total").await >= Some(3.0));

    let (status, _) = held.finish().await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, _) = server.rest_as_admin("GET", "/management/v1/orgs/me", None).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for protocol in PROTOCOLS {
        let served = invoke(&server, protocol, &Call::GetMyOrg, &[("authorization", &auth)]).await;
        assert_eq!(served.outcome.code, 0, "{protocol:?}: served again: {served:?}");
    }
}

#[tokio::test]
async fn slow_requests_time_out_and_large_bodies_are_refused() {
    let server = Server::start_with(&[
        ("PERSONA_LIMITS__REQUEST_TIMEOUT_SECONDS", "1"),
        ("PERSONA_LIMITS__MAX_BODY_BYTES", "64"),
    ])
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
    let (status, _, body) = server.rest_as_admin("POST", "/management/v1/orgs", Some(large)).await;
    assert_eq!((status, body["code"].as_i64()), (413, Some(8)), "{body}");
    assert!(server.metric("persona_requests_timed_out_total").await >= Some(1.0));
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed() {
    let server = Server::start_with(&[("PERSONA_LIMITS__MAX_CONNECTIONS", "2")]).await;
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
