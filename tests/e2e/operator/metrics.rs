//! `GET /metrics` after traffic over the three protocols: request counters and latency
//! histograms by protocol, RPC and code; database pool usage; build info; the commit queue,
//! batches and commit latency after writes; and gauges that come back to zero however requests
//! and connections end.

use super::frames::{CANCEL, RawH2, data, headers, request_block, reset};
use super::held::HeldRequest;
use crate::calls::{Call, Protocol, invoke};
use crate::harness::Server;
use bytes::Bytes;
use persona_api_grpc::pb::zitadel::management::v1::AddOrgRequest;
use prost::Message;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

#[tokio::test]
async fn metrics_count_requests_by_protocol_rpc_and_code_and_commits() {
    let server = Server::start().await;
    for _ in 0..2 {
        let (status, _, _) = server.rest_as_admin("GET", "/management/v1/orgs/me", None).await;
        assert_eq!(status, 200);
    }
    let (status, _, _) =
        server.request("GET", "/management/v1/orgs/me", &[], Bytes::new()).await.expect("unauthenticated");
    assert_eq!(status, 401);
    let admin = server.admin();
    for protocol in [Protocol::Grpc, Protocol::GrpcWeb] {
        let reply = invoke(&server, protocol, &Call::GetMyOrg, &[("authorization", &admin)]).await;
        assert_eq!(reply.outcome.code, 0, "{protocol:?}: {reply:?}");
    }
    let (status, _, _) = server.request("GET", "/no/such/path", &[], Bytes::new()).await.expect("404");
    assert_eq!(status, 404);

    let get_my_org = |protocol: &str, code: &str| format!("protocol=\"{protocol}\",rpc=\"GetMyOrg\",code=\"{code}\"");
    // Series are recorded when a response body has ended, which may be just after the client
    // read it: wait for the last one.
    server.wait_for_metric(&format!("persona_requests_total{{{}}}", get_my_org("grpc-web", "0")), 1.0).await;
    server.wait_for_metric("persona_requests_total{protocol=\"rest\",rpc=\"unmatched\",code=\"404\"}", 1.0).await;

    let text = server.metrics().await;
    for (series, value) in [
        (format!("persona_requests_total{{{}}}", get_my_org("rest", "200")), "2"),
        (format!("persona_requests_total{{{}}}", get_my_org("rest", "401")), "1"),
        (format!("persona_requests_total{{{}}}", get_my_org("grpc", "0")), "1"),
        (format!("persona_requests_total{{{}}}", get_my_org("grpc-web", "0")), "1"),
        (format!("persona_request_duration_seconds_count{{{}}}", get_my_org("rest", "200")), "2"),
        (format!("persona_request_duration_seconds_bucket{{{},le=\"+Inf\"}}", get_my_org("grpc", "0")), "1"),
        ("persona_build_info{version=\"".to_owned() + env!("CARGO_PKG_VERSION") + "\"}", "1"),
        ("persona_ready".to_owned(), "1"),
    ] {
        assert!(text.lines().any(|line| line == format!("{series} {value}")), "{series} {value} missing:\n{text}");
    }
    for present in [
        "# TYPE persona_request_duration_seconds histogram",
        "persona_db_pool_connections{pool=\"read\",state=\"idle\"}",
        "persona_db_pool_connections{pool=\"read\",state=\"in_use\"}",
        "persona_db_pool_max_connections{pool=\"read\"} 4",
        "persona_db_pool_max_connections{pool=\"write\"} 1",
        "persona_db_pool_connections{pool=\"write\",state=\"in_use\"}",
        "persona_connections_open",
        "persona_process_start_time_seconds",
    ] {
        assert!(text.contains(present), "{present} missing:\n{text}");
    }
    // Every sample line is `name{labels} number`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().expect("a value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    commits_show_in_queue_batch_and_latency_series(&server).await;
}

/// Writes through `server` and checks that the commit queue, batch and latency series count them.
async fn commits_show_in_queue_batch_and_latency_series(server: &Server) {
    let commits = "persona_commit_duration_seconds_count";
    let batched = "persona_commit_batch_size_sum";
    let (commits_before, batched_before) = (server.metric(commits).await, server.metric(batched).await);

    let human = serde_json::json!({"userName": "ada", "profile": {"firstName": "Ada", "lastName": "Lovelace"},
        "email": {"email": "ada@example.com"}});
    let (status, _, created) = server.rest_as_admin("POST", "/management/v1/users/human", Some(human)).await;
    assert_eq!(status, 200, "{created}");
    let id = created["userId"].as_str().expect("userId").to_owned();
    for first in ["Grace", "Ada"] {
        let body = serde_json::json!({"firstName": first, "lastName": "Lovelace", "displayName": "Ada"});
        let (status, _, answer) =
            server.rest_as_admin("PUT", &format!("/management/v1/users/{id}/profile"), Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }

    let text = server.metrics().await;
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    let before = |v: Option<f64>| v.expect("the series exists before any request wrote");
    assert_eq!(value(commits) - before(commits_before), 3.0, "the add and two updates are timed");
    assert_eq!(value(batched) - before(batched_before), 3.0, "and each was written in one batch");
    assert_eq!(value("persona_commit_duration_seconds_bucket{le=\"+Inf\"}"), value(commits));
    assert!(value("persona_commit_duration_seconds_sum") > 0.0);
    assert!(value("persona_commit_batch_size_count") >= 1.0);
    assert_eq!(value("persona_commit_queue_depth"), 0.0, "every commit was answered");
    assert_eq!(value("persona_commit_queue_capacity"), 4096.0);
    assert_eq!(value("persona_commit_conflicts_total"), 0.0);
    for present in ["# TYPE persona_commit_batch_size histogram", "# TYPE persona_commit_duration_seconds histogram"] {
        assert!(text.contains(present), "{present} missing:\n{text}");
    }
}

/// Sends, on `h2`, one complete `AddOrg` per stream id, alternately over REST and gRPC. While
/// the test holds the database's write lock, each waits in its handler for the commit.
async fn send_add_orgs(h2: &RawH2, server: &Server, streams: &[u32]) {
    let auth = server.admin();
    for (n, stream) in streams.iter().enumerate() {
        let name = format!("Waits for the lock {stream}");
        let (block, body) = if n % 2 == 0 {
            let body = serde_json::json!({ "name": name }).to_string().into_bytes();
            let length = body.len().to_string();
            let fields =
                [("authorization", auth.as_str()), ("content-type", "application/json"), ("content-length", &length)];
            (request_block("POST", "/management/v1/orgs", &server.address, &fields), body)
        } else {
            let message = AddOrgRequest { name }.encode_to_vec();
            let mut body = vec![0];
            body.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
            body.extend(message);
            let fields = [("authorization", auth.as_str()), ("content-type", "application/grpc"), ("te", "trailers")];
            (request_block("POST", "/zitadel.management.v1.ManagementService/AddOrg", &server.address, &fields), body)
        };
        let mut bytes = headers(*stream, &block, false);
        bytes.extend(data(*stream, &body, true));
        h2.send(&bytes).await.expect("send a request");
    }
}

/// Holds SQLite's write lock on the server's database until dropped or [`rollback`]ed, so that
/// every write waits inside its handler.
async fn lock_writes(server: &Server) -> DatabaseConnection {
    let url = format!("sqlite://{}?mode=rw", server.database_file().display());
    let db =
        Database::connect(ConnectOptions::new(url).max_connections(1).to_owned()).await.expect("open the database");
    db.execute_unprepared("BEGIN IMMEDIATE").await.expect("take the write lock");
    db
}

#[tokio::test]
async fn in_flight_comes_back_to_zero_however_requests_are_cancelled() {
    let server = Server::start().await;
    server.wait_for_in_flight_to_be(0).await;
    let connections = server.metric("persona_connections_open").await.expect("the connections gauge");
    let lock = lock_writes(&server).await;

    // HTTP/2 RST_STREAM on requests waiting inside their handlers.
    let h2 = RawH2::connect(&server.address, true).await;
    send_add_orgs(&h2, &server, &[1, 3]).await;
    server.wait_for_in_flight_to_be(2).await;
    let mut resets = reset(1, CANCEL);
    resets.extend(reset(3, CANCEL));
    h2.send(&resets).await.expect("reset both streams");
    server.wait_for_in_flight_to_be(0).await;
    // Both are recorded with the contract's code for a cancelled call.
    server.wait_for_metric("persona_requests_total{protocol=\"rest\",rpc=\"AddOrg\",code=\"499\"}", 1.0).await;
    server.wait_for_metric("persona_requests_total{protocol=\"grpc\",rpc=\"AddOrg\",code=\"1\"}", 1.0).await;

    // An HTTP/2 connection closed with three requests in flight.
    let h2_dropped = RawH2::connect(&server.address, true).await;
    send_add_orgs(&h2_dropped, &server, &[1, 3, 5]).await;
    server.wait_for_in_flight_to_be(3).await;
    drop(h2_dropped);
    server.wait_for_in_flight_to_be(0).await;

    // HTTP/1.1 connections closed with their requests in flight (one with its body half sent,
    // one waiting for the lock); the lock goes away as well, whichever hyper notices first.
    let auth = server.admin();
    let fields = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let body = br#"{"name":"Never answered"}"#;
    let half_sent = HeldRequest::open(&server.address, "POST", "/management/v1/orgs", &fields, body).await;
    let waiting = HeldRequest::open(&server.address, "POST", "/management/v1/orgs", &fields, body);
    let waiting = waiting.await.send_rest().await;
    server.wait_for_in_flight_to_be(2).await;
    drop((half_sent, waiting));
    lock.execute_unprepared("ROLLBACK").await.expect("release the lock");
    server.wait_for_in_flight_to_be(0).await;

    // Every connection but the scraper's is closed again.
    drop(h2);
    server.wait_for_metric_value("persona_connections_open", connections).await;
}
