//! `/healthz` says the process is up; `/ready` and the gRPC health service say whether the
//! database is reachable and migrated, and follow it when it goes away and comes back.

use crate::harness::Server;
use bytes::Bytes;
use sea_orm::{ConnectionTrait, Database};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn grpc_health(server: &Server, service: &str) -> ServingStatus {
    let channel =
        Channel::from_shared(format!("http://{}", server.address)).expect("uri").connect().await.expect("h2c");
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .expect("health check answers");
    response.into_inner().status()
}

async fn ready_status(server: &Server) -> (u16, serde_json::Value) {
    let (status, _, body) = server.request("GET", "/ready", &[], Bytes::new()).await.expect("ready answers");
    (status, serde_json::from_slice(&body).expect("JSON"))
}

/// Polls until gRPC health says `expected` for the server and for `ManagementService`.
async fn wait_for_grpc_health(server: &Server, expected: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let whole = grpc_health(server, "").await;
        let management = grpc_health(server, "zitadel.management.v1.ManagementService").await;
        if whole == expected && management == expected {
            return;
        }
        assert!(Instant::now() < deadline, "gRPC health stayed {whole:?}/{management:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readiness_and_grpc_health_follow_the_database() {
    let server = Server::start().await;
    assert_eq!(ready_status(&server).await.0, 200);
    wait_for_grpc_health(&server, ServingStatus::Serving).await;

    // Take the schema away under the running server: the database no longer is "migrated".
    let url = format!("sqlite://{}?mode=rw", server.database_file().display());
    let db = Database::connect(&url).await.expect("open the server's database");
    db.execute_unprepared("ALTER TABLE instance RENAME TO instance_away").await.expect("rename");

    let (status, body) = ready_status(&server).await;
    assert_eq!((status, body["code"].as_i64()), (503, Some(14)), "{body}");
    wait_for_grpc_health(&server, ServingStatus::NotServing).await;
    let (status, _, _) = server.request("GET", "/healthz", &[], Bytes::new()).await.expect("healthz");
    assert_eq!(status, 200, "the process is still up");
    assert_eq!(server.metric("persona_ready").await, Some(0.0));

    // Bring it back: ready again, without a restart.
    db.execute_unprepared("ALTER TABLE instance_away RENAME TO instance").await.expect("rename back");
    assert_eq!(ready_status(&server).await.0, 200);
    wait_for_grpc_health(&server, ServingStatus::Serving).await;
    let logs = server.logs();
    assert!(logs.contains("not ready") && logs.contains("ready"), "{logs}");
}

#[tokio::test]
async fn readiness_and_grpc_health_notice_a_dropped_postgresql_database() {
    let Some(base) = persona_test_support::test_database_url("a database of its own") else { return };
    let admin = Database::connect(&base).await.expect("connect to the test database");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    let name = format!("persona_ready_{}_{nanos}", std::process::id());
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create a database");
    let without_query = base.split('?').next().unwrap_or(&base);
    let (server_part, _) = without_query.rsplit_once('/').expect("a database in the URL");
    let url = format!("{server_part}/{name}");

    let server = Server::start_with(&[("PERSONA_DATABASE__URL", &url)]).await;
    assert_eq!(ready_status(&server).await.0, 200);
    wait_for_grpc_health(&server, ServingStatus::Serving).await;
    assert!(server.metrics().await.contains("persona_db_pool_connections{pool=\"read_write\",state=\"idle\"}"));

    admin.execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await.expect("drop the database");
    let (status, body) = ready_status(&server).await;
    assert_eq!((status, body["code"].as_i64()), (503, Some(14)), "{body}");
    wait_for_grpc_health(&server, ServingStatus::NotServing).await;
}
