//! Several instances, one database: two `persona serve` processes on one PostgreSQL schema, 32
//! concurrent clients spread over both (REST and gRPC) updating the same users with distinct
//! values for a fixed time. Nothing acknowledged may be lost, sequences stay unique and
//! contiguous, the read model equals the events, and conflicts between the processes are retried
//! inside the server rather than surfaced to callers that sent no precondition.

use crate::harness::{LOAD_USER, Launch, PgSchema, Server, add_human, audit_user, first_name_set_by, open_store};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CLIENTS: usize = 32;
const USERS: usize = 6;
const LOAD: Duration = Duration::from_secs(3);

/// One acknowledged update: the user, the sequence the server answered, the value it set.
struct Ack {
    user: String,
    sequence: u64,
    first_name: String,
}

#[derive(Default)]
struct ClientReport {
    acks: Vec<Ack>,
    /// Errors by (code, message), with the users they hit.
    failures: Vec<(i32, String, String)>,
}

async fn run_client(index: usize, api: crate::harness::Api, users: Vec<String>, until: Instant) -> ClientReport {
    let mut report = ClientReport::default();
    let user = users[index % users.len()].clone();
    let mut grpc = if index % 4 >= 2 { Some(api.grpc_client().await.expect("gRPC connects")) } else { None };
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let first_name = format!("c{index}-n{n}");
        let outcome = match grpc.as_mut() {
            Some(client) => api.update_grpc(client, &user, &first_name).await,
            None => api.update_rest(&user, &first_name).await,
        };
        match outcome {
            Ok(sequence) => report.acks.push(Ack { user: user.clone(), sequence, first_name }),
            Err((code, message)) => report.failures.push((code, message, user.clone())),
        }
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_lose_no_update_and_keep_every_users_sequences_contiguous() {
    let Some(schema) = PgSchema::create("instances") else { return };
    let first = Server::launch(Launch { database_url: Some(schema.url()), ..Launch::default() }).await;
    let second = Server::launch(Launch {
        database_url: Some(schema.url()),
        admin_token: Some(first.admin_token.clone()),
        ..Launch::default()
    })
    .await;
    assert!(
        !second.dir.path().join("admin.pat").exists(),
        "the second instance found the database set up and created no second admin"
    );
    assert_eq!(schema.psql("SELECT count(*) FROM instance").trim(), "1");

    let mut users = Vec::new();
    for i in 0..USERS {
        let server = if i % 2 == 0 { &first } else { &second };
        users.push(add_human(server, None, &format!("shared-{i}"), LOAD_USER).await);
    }

    let until = Instant::now() + LOAD;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let api = if index % 2 == 0 { first.api() } else { second.api() };
            tokio::spawn(run_client(index, api, users.clone(), until))
        })
        .collect();
    let mut acks = Vec::new();
    let mut failures = Vec::new();
    for client in clients {
        let report = client.await.expect("client task");
        acks.extend(report.acks);
        failures.extend(report.failures);
    }
    let total = acks.len() + failures.len();
    eprintln!("instances: {} acknowledged, {} failed of {total} in {LOAD:?}", acks.len(), failures.len());
    assert!(acks.len() >= CLIENTS * 2, "the load ran: {} acknowledged updates", acks.len());
    assert!(
        failures.len() * 100 <= total,
        "nearly every request succeeds (at most 1% may fail): {} of {total} failed, e.g. {:?}",
        failures.len(),
        failures.iter().take(3).collect::<Vec<_>>()
    );

    let store = open_store(&schema.url()).await;
    let mut acks_by_user: HashMap<&str, Vec<&Ack>> = HashMap::new();
    for ack in &acks {
        acks_by_user.entry(ack.user.as_str()).or_default().push(ack);
    }
    for user in &users {
        let events = audit_user(&store, user).await;
        let acked = acks_by_user.get(user.as_str()).map_or(&[][..], Vec::as_slice);
        let mut sequences: Vec<u64> = acked.iter().map(|a| a.sequence).collect();
        sequences.sort_unstable();
        sequences.dedup();
        assert_eq!(sequences.len(), acked.len(), "user {user}: no two acknowledgements share a sequence");
        for ack in acked {
            assert_eq!(
                first_name_set_by(&events, ack.sequence).as_deref(),
                Some(ack.first_name.as_str()),
                "user {user}: the acknowledged update {} is in the history at its sequence {}",
                ack.first_name,
                ack.sequence
            );
        }
        let failed_here = failures.iter().filter(|f| &f.2 == user).count();
        let changes = events.len() - 1;
        assert!(
            changes >= acked.len() && changes <= acked.len() + failed_here,
            "user {user}: {changes} profile changes for {} acknowledged and {failed_here} failed updates",
            acked.len()
        );
        // Both instances read what the events say.
        let last = events.last().map(|e| e.sequence).expect("events");
        for server in [&first, &second] {
            let admin = server.admin();
            let (_, headers, read) = server
                .rest(
                    "GET",
                    &format!("/management/v1/users/{user}/profile"),
                    &[("authorization", admin.as_str())],
                    None,
                )
                .await;
            assert_eq!(read.ok()["details"]["sequence"], last.to_string(), "user {user} on {}", server.address);
            assert_eq!(headers.get("etag").and_then(|v| v.to_str().ok()), Some(format!("\"{last}\"").as_str()));
        }
    }
}
