//! SIGTERM and SIGINT: stop accepting, let requests in flight finish within the grace period,
//! exit 0.

use super::held::HeldRequest;
use crate::harness::Server;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Waits until the port refuses new connections.
async fn wait_until_refused(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(address).await.is_ok() {
        assert!(Instant::now() < deadline, "the listener still accepts connections");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let mut server = Server::start().await;
    let auth = server.admin();
    let body = br#"{"name":"Created during shutdown"}"#;
    let held = HeldRequest::open(
        &server.address,
        "POST",
        "/management/v1/orgs",
        &[("authorization", &auth), ("content-type", "application/json")],
        body,
    )
    .await;
    server.wait_for_in_flight(1).await;

    server.signal("TERM").await;
    wait_until_refused(&server.address).await;

    let (status, answer) = held.finish().await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    assert!(answer["id"].as_str().is_some_and(|id| !id.is_empty()), "{answer}");

    let status = server.exit_status(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    let logs = server.logs();
    assert!(logs.contains("shutting down") && logs.contains("every connection finished"), "{logs}");
}

#[tokio::test]
async fn sigint_waits_no_longer_than_the_grace_period() {
    let mut server = Server::start_with(&[("PERSONA_SHUTDOWN_GRACE_SECONDS", "1")]).await;
    let auth = server.admin();
    // This body is never completed: only the grace period ends the wait.
    let _held = HeldRequest::open(
        &server.address,
        "POST",
        "/management/v1/orgs",
        &[("authorization", &auth), ("content-type", "application/json")],
        br#"{"name":"Never finished"}"#,
    )
    .await;
    server.wait_for_in_flight(1).await;

    let started = Instant::now();
    server.signal("INT").await;
    let status = server.exit_status(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited for the grace period");
    assert!(server.logs().contains("the grace period ended"), "{}", server.logs());
}
