//! Crash safety: `kill -9` a server in the middle of a write load, start it again on the same
//! database, and check that every update it acknowledged before dying is there, at the sequence
//! it answered, and that the read model equals the events. Several rounds per backend; the
//! load and the number of rounds are bounded so that the test takes seconds.
//!
//! What this proves is process-crash durability: nothing is acknowledged before its commit
//! reached the database. Power-loss durability rests on the settings the README documents
//! (SQLite `synchronous=FULL` in WAL mode, PostgreSQL `synchronous_commit=on`), which a test on
//! one machine cannot cut the power of.

use crate::harness::{LOAD_USER, Launch, PgSchema, Server, add_human, audit_user, first_name_set_by, open_store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
const LOAD: Duration = Duration::from_millis(1000);
const CLIENTS: usize = 8;
const USERS: usize = 4;

struct Ack {
    user: String,
    sequence: u64,
    first_name: String,
}

/// Updates one user until the server is killed; returns what was acknowledged, and the errors
/// that came back before the kill began (there should be none).
async fn load(
    api: crate::harness::Api,
    user: String,
    label: String,
    killed: Arc<AtomicBool>,
) -> (Vec<Ack>, Vec<(i32, String)>) {
    let mut acks = Vec::new();
    let mut errors = Vec::new();
    let give_up = Instant::now() + LOAD + Duration::from_secs(20);
    let mut n = 0u64;
    while Instant::now() < give_up {
        n += 1;
        let first_name = format!("{label}-n{n}");
        match api.update_rest(&user, &first_name).await {
            Ok(sequence) => acks.push(Ack { user: user.clone(), sequence, first_name }),
            // The flag is set before the kill: an error it cuts off sees it, and ends the load.
            Err(_) if killed.load(Ordering::SeqCst) => break,
            Err(error) => errors.push(error),
        }
    }
    (acks, errors)
}

async fn crash_rounds(server: &mut Server, url: &str, backend: &str) {
    let mut users = Vec::new();
    for i in 0..USERS {
        users.push(add_human(server, None, &format!("crash-{backend}-{i}"), LOAD_USER).await);
    }
    let mut acks: Vec<Ack> = Vec::new();
    for round in 0..ROUNDS {
        let killed = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let user = users[i % USERS].clone();
                tokio::spawn(load(server.api(), user, format!("{backend}-r{round}-c{i}"), Arc::clone(&killed)))
            })
            .collect();
        tokio::time::sleep(LOAD).await;
        killed.store(true, Ordering::SeqCst);
        server.kill9().await;
        assert!(!server.is_running(), "the server is dead");
        let before = acks.len();
        for client in clients {
            let (acked, errors) = client.await.expect("load task");
            assert!(errors.is_empty(), "{backend} round {round}: errors while the server was up: {errors:?}");
            acks.extend(acked);
        }
        let this_round = acks.len() - before;
        eprintln!("crash {backend} round {round}: {this_round} updates acknowledged before kill -9");
        assert!(this_round >= CLIENTS, "{backend} round {round}: the load ran ({this_round} acknowledged)");

        server.restart().await;
        let store = open_store(url).await;
        for user in &users {
            let events = audit_user(&store, user).await;
            for ack in acks.iter().filter(|a| &a.user == user) {
                assert_eq!(
                    first_name_set_by(&events, ack.sequence).as_deref(),
                    Some(ack.first_name.as_str()),
                    "{backend} round {round}: acknowledged update {} survives at sequence {}",
                    ack.first_name,
                    ack.sequence
                );
            }
        }
        // The restarted server serves what the database holds.
        let admin = server.admin();
        let user = &users[0];
        let (_, _, read) = server
            .rest("GET", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], None)
            .await;
        let events = audit_user(&store, user).await;
        assert_eq!(read.ok()["details"]["sequence"], events.len().to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_update_through_kill_9() {
    let mut server = Server::launch(Launch::default()).await;
    let url = format!("sqlite://{}?mode=rwc", server.dir.path().join("persona.db").display());
    crash_rounds(&mut server, &url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_update_through_kill_9() {
    let Some(schema) = PgSchema::create("crash") else { return };
    let mut server = Server::launch(Launch { database_url: Some(schema.url()), ..Launch::default() }).await;
    crash_rounds(&mut server, &schema.url(), "postgres").await;
}
