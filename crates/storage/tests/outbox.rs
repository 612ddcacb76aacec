//! The webhook outbox's leases, on SQLite and PostgreSQL: one lease per (endpoint, user) queue,
//! always of its lowest pending sequence (head of line, also while that one waits for a retry);
//! no second lease on a queue while one of its rows is leased; an expired lease is taken over by
//! another owner, and the old owner's late outcome is then ignored; a replay below a leased
//! row waits for it. With runs, a head brings the deliveries after it in order, under its
//! lease: a failure stops the run where it failed, and a late owner's outcomes for a run are
//! ignored like a head's.

#![expect(clippy::expect_used, reason = "a test crate: a failed step is a failed test")]

use persona_domain::conformance::{Fixture, rename};
use persona_domain::ids::UserId;
use persona_domain::time::Timestamp;
use persona_domain::webhook::{Delivery, EventFilter, Lease, Outbox, Outcome, WebhookEndpoint};
use persona_storage::{SeaOrmStore, StorageConfig};
use persona_test_support::PgSchema;
use std::time::{Duration, SystemTime};

const URL: &str = "http://127.0.0.1:9/hook";
const LEASE: Duration = Duration::from_secs(10);

fn with_endpoint(config: StorageConfig) -> StorageConfig {
    StorageConfig { webhooks: vec![WebhookEndpoint { url: URL.to_owned(), filter: EventFilter::default() }], ..config }
}

async fn sqlite() -> (SeaOrmStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
    let store = SeaOrmStore::connect(&with_endpoint(StorageConfig::new(url))).await.expect("sqlite store");
    (store, dir)
}

async fn postgres() -> Option<(SeaOrmStore, PgSchema)> {
    let schema = PgSchema::create("outbox")?;
    let config = StorageConfig {
        schema: Some(schema.name.clone()),
        max_connections: Some(4),
        ..StorageConfig::new(schema.base_url())
    };
    let store = SeaOrmStore::connect(&with_endpoint(config)).await.expect("postgres store");
    Some((store, schema))
}

/// `base` plus `seconds`.
fn at(base: Timestamp, seconds: u64) -> Timestamp {
    let micros = i64::try_from(Duration::from_secs(seconds).as_micros()).expect("small");
    Timestamp::from_unix_micros(base.unix_micros() + micros)
}

/// The (user, sequence) pairs of `leased` that belong to `users`, sorted.
fn of(leased: &[Delivery], users: &[&UserId]) -> Vec<(String, u64)> {
    let mut pairs: Vec<(String, u64)> = leased
        .iter()
        .filter(|d| users.contains(&&d.user_id))
        .map(|d| (d.user_id.as_str().to_owned(), d.sequence))
        .collect();
    pairs.sort();
    pairs
}

fn pair(user: &UserId, sequence: u64) -> (String, u64) {
    (user.as_str().to_owned(), sequence)
}

fn sorted(mut pairs: Vec<(String, u64)>) -> Vec<(String, u64)> {
    pairs.sort();
    pairs
}

/// At most one delivery per user in one lease.
fn one_per_queue(leased: &[Delivery]) {
    let mut users: Vec<&str> = leased.iter().map(|d| d.user_id.as_str()).collect();
    let all = users.len();
    users.sort_unstable();
    users.dedup();
    assert_eq!(users.len(), all, "one lease per (endpoint, user) queue: {leased:?}");
}

/// Leases up to `queues` heads, each alone (runs of one).
async fn lease(store: &SeaOrmStore, owner: &str, now: Timestamp, queues: u32) -> Vec<Delivery> {
    let leased = lease_runs(store, owner, now, queues, 1).await;
    one_per_queue(&leased);
    assert!(leased.iter().all(|d| d.heads_run()), "a run of one is its head");
    leased
}

/// Leases up to `queues` heads with runs of up to `run`; checks that each run is one queue's
/// deliveries in sequence order under its head's lease.
async fn lease_runs(store: &SeaOrmStore, owner: &str, now: Timestamp, queues: u32, run: u32) -> Vec<Delivery> {
    let lease = Lease { now, until: at(now, LEASE.as_secs()), queues, run };
    let leased = store.lease(&[URL.to_owned()], owner, lease).await.expect("lease");
    assert!(leased.iter().all(|d| d.endpoint == URL));
    for (index, delivery) in leased.iter().enumerate() {
        let previous = index.checked_sub(1).and_then(|i| leased.get(i)).filter(|p| p.lease_id == delivery.lease_id);
        match previous {
            None => assert!(delivery.heads_run(), "a run starts with its head: {leased:?}"),
            Some(previous) => {
                assert_eq!(previous.user_id, delivery.user_id, "a run is one queue's");
                assert!(previous.sequence < delivery.sequence, "a run is in sequence order: {leased:?}");
            }
        }
    }
    let runs = leased.iter().filter(|d| d.heads_run()).count();
    assert!(runs <= usize::try_from(queues).expect("small"), "at most {queues} runs");
    leased
}

fn find<'a>(leased: &'a [Delivery], user: &UserId, sequence: u64) -> &'a Delivery {
    leased.iter().find(|d| &d.user_id == user && d.sequence == sequence).expect("leased")
}

async fn leases_hold_the_head_of_each_queue_and_expire(store: SeaOrmStore) {
    let f = Fixture::new(store.clone()).await;
    let ada = f.add_human("ada").await;
    for n in 0..2 {
        f.service.update_human_profile(&f.meta(), &rename(&ada, &format!("Ada {n}"))).await.expect("update");
    }
    let bob = f.add_human("bob").await;
    let users = [&ada, &bob];
    // A second after the commits, so that every delivery is due.
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock");
    let t0 = at(Timestamp::from_unix_micros(i64::try_from(now.as_micros()).expect("now")), 1);
    let settle = async |owner: &str, deliveries: Vec<(Delivery, Outcome)>, now: Timestamp| {
        store.settle(owner, &deliveries, now).await.expect("settle");
    };

    // Head of line: the lowest sequence of each user, not ada's 2 and 3.
    let a = lease(&store, "a", t0, 100).await;
    assert_eq!(of(&a, &users), sorted(vec![pair(&ada, 1), pair(&bob, 1)]));
    assert_eq!(find(&a, &ada, 1).attempts, 0);
    // No second lease on a queue with a leased row, whatever the owner.
    assert!(lease(&store, "b", t0, 100).await.is_empty(), "every queue's head is leased");

    // Once ada's head is settled, her next event is leasable, and only it.
    settle("a", vec![(find(&a, &ada, 1).clone(), Outcome::Delivered)], t0).await;
    let b = lease(&store, "b", t0, 100).await;
    assert_eq!(of(&b, &users), vec![pair(&ada, 2)], "bob's queue is still leased by a");

    // A retry keeps the head: ada's 3 never overtakes her 2 while 2 waits.
    let retry = Outcome::Retry { at: at(t0, 5), status: 503 };
    settle("b", vec![(find(&b, &ada, 2).clone(), retry)], t0).await;
    assert!(lease(&store, "c", at(t0, 1), 100).await.is_empty(), "2 is not due yet and 3 waits behind it");
    let c = lease(&store, "c", at(t0, 6), 100).await;
    assert_eq!(of(&c, &users), vec![pair(&ada, 2)], "the retry is due");
    assert_eq!(find(&c, &ada, 2).attempts, 1, "the attempt was counted");

    // Expiry: a's lease on bob's head (until t0 + 10 s) is taken over after it.
    assert!(of(&lease(&store, "d", at(t0, 10), 100).await, &users).is_empty(), "a lease holds until its end");
    let d = lease(&store, "d", at(t0, 11), 100).await;
    assert_eq!(of(&d, &users), vec![pair(&bob, 1)], "bob's head taken over; ada's is c's until t0 + 16 s");
    // The old owner's late outcome is ignored: the delivery stays with its new owner.
    settle("a", vec![(find(&a, &bob, 1).clone(), Outcome::Delivered)], at(t0, 11)).await;
    let pending = store.status().await.expect("status");
    let pending = pending.iter().find(|s| s.endpoint == URL).expect("the endpoint").pending;
    let e = lease(&store, "e", at(t0, 22), 100).await;
    assert_eq!(
        of(&e, &users),
        sorted(vec![pair(&ada, 2), pair(&bob, 1)]),
        "both leases expired; a's settle did nothing"
    );

    // The new owner's outcome counts: bob is done, ada's 3 follows her 2.
    let done: Vec<(Delivery, Outcome)> = e.iter().map(|d| (d.clone(), Outcome::Delivered)).collect();
    settle("e", done, at(t0, 22)).await;
    let after = store.status().await.expect("status");
    let after = after.iter().find(|s| s.endpoint == URL).map_or(0, |s| s.pending);
    assert_eq!(after, pending - u64::try_from(e.len()).expect("small"), "the settled deliveries left the outbox");
    let f2 = lease(&store, "f", at(t0, 22), 100).await;
    assert_eq!(of(&f2, &users), vec![pair(&ada, 3)]);

    // A replay enqueues ada's events again below her leased 3: none of them is leased while
    // that one is; bob's replayed head is free.
    let endpoint = WebhookEndpoint { url: URL.to_owned(), filter: EventFilter::default() };
    let enqueued = store.redeliver(&endpoint, Timestamp::from_unix_micros(0)).await.expect("redeliver");
    assert!(enqueued >= 4, "ada's 3 events and bob's 1 at least: {enqueued}");
    let h = lease(&store, "h", at(t0, 22), 100).await;
    assert_eq!(of(&h, &users), vec![pair(&bob, 1)], "ada's queue holds a leased row");
    settle("f", vec![(find(&f2, &ada, 3).clone(), Outcome::Delivered)], at(t0, 22)).await;
    let i = lease(&store, "i", at(t0, 22), 100).await;
    assert_eq!(of(&i, &users), vec![pair(&ada, 1)], "then the replay starts at her lowest sequence");

    // The limit caps one lease.
    for name in ["carol", "dave", "erin"] {
        f.add_human(name).await;
    }
    assert_eq!(lease(&store, "g", at(t0, 22), 2).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_hold_the_head_of_each_queue_and_expire_on_sqlite() {
    let (store, _dir) = sqlite().await;
    leases_hold_the_head_of_each_queue_and_expire(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_hold_the_head_of_each_queue_and_expire_on_postgres() {
    let Some((store, _schema)) = postgres().await else { return };
    leases_hold_the_head_of_each_queue_and_expire(store).await;
}

/// The (user, sequence) pairs of `leased`, in the order leased.
fn in_order(leased: &[Delivery]) -> Vec<(String, u64)> {
    leased.iter().map(|d| (d.user_id.as_str().to_owned(), d.sequence)).collect()
}

async fn runs_carry_a_queue_in_order_under_its_heads_lease(store: SeaOrmStore) {
    let f = Fixture::new(store.clone()).await;
    let ada = f.add_human("ada").await;
    for n in 0..4 {
        f.service.update_human_profile(&f.meta(), &rename(&ada, &format!("Ada {n}"))).await.expect("update");
    }
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock");
    let t0 = at(Timestamp::from_unix_micros(i64::try_from(now.as_micros()).expect("now")), 1);
    let settle = async |owner: &str, deliveries: Vec<(Delivery, Outcome)>, now: Timestamp| {
        store.settle(owner, &deliveries, now).await.expect("settle");
    };
    let ada_only =
        |leased: Vec<Delivery>| -> Vec<Delivery> { leased.into_iter().filter(|d| d.user_id == ada).collect() };

    // Ada's five events (added, four renames): a run of three from her head, under its lease.
    let a = ada_only(lease_runs(&store, "a", t0, 100, 3).await);
    assert_eq!(in_order(&a), vec![pair(&ada, 1), pair(&ada, 2), pair(&ada, 3)]);
    assert!(a.iter().all(|d| d.lease_id == a[0].id), "the head's lease covers the run");
    assert!(ada_only(lease_runs(&store, "b", t0, 100, 3).await).is_empty(), "her queue is closed while leased");

    // 1 and 2 delivered, 3 failed: 3 becomes the head and waits for its retry; 4 and 5 behind it.
    let retry = Outcome::Retry { at: at(t0, 5), status: 500 };
    let outcomes = vec![(a[0].clone(), Outcome::Delivered), (a[1].clone(), Outcome::Delivered), (a[2].clone(), retry)];
    settle("a", outcomes, t0).await;
    assert!(ada_only(lease_runs(&store, "b", at(t0, 1), 100, 3).await).is_empty(), "3 is not due yet");
    let b = ada_only(lease_runs(&store, "b", at(t0, 6), 100, 3).await);
    assert_eq!(in_order(&b), vec![pair(&ada, 3), pair(&ada, 4), pair(&ada, 5)], "the retry heads the next run");
    assert_eq!(b[0].attempts, 1, "the failed attempt was counted on 3");

    // b's lease expires and c takes the run over. b's late outcomes (3 and 4 delivered, 5 to
    // be retried) then count only where they cannot take anything from c: 3, the head, stays
    // c's to settle and 5's retry is ignored, but 4 was delivered and leaves the outbox.
    let c = ada_only(lease_runs(&store, "c", at(t0, 6 + LEASE.as_secs() + 1), 100, 3).await);
    assert_eq!(in_order(&c), in_order(&b), "taken over after the lease");
    let late = vec![
        (b[0].clone(), Outcome::Delivered),
        (b[1].clone(), Outcome::Delivered),
        (b[2].clone(), Outcome::Retry { at: at(t0, 99), status: 503 }),
    ];
    settle("b", late, at(t0, 17)).await;
    let d = ada_only(lease_runs(&store, "d", at(t0, 40), 100, 3).await);
    assert_eq!(in_order(&d), vec![pair(&ada, 3), pair(&ada, 5)], "after c's lease: 3 and 5 wait, 4 is gone");
    assert_eq!((d[0].attempts, d[1].attempts), (1, 0), "b's late retry of 5 was not counted");

    // d settles the whole run as delivered: ada's queue is empty.
    let done: Vec<(Delivery, Outcome)> = d.iter().map(|x| (x.clone(), Outcome::Delivered)).collect();
    settle("d", done, at(t0, 40)).await;
    assert!(ada_only(lease_runs(&store, "e", at(t0, 80), 100, 3).await).is_empty(), "every event was delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_carry_a_queue_in_order_under_its_heads_lease_on_sqlite() {
    let (store, _dir) = sqlite().await;
    runs_carry_a_queue_in_order_under_its_heads_lease(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_carry_a_queue_in_order_under_its_heads_lease_on_postgres() {
    let Some((store, _schema)) = postgres().await else { return };
    runs_carry_a_queue_in_order_under_its_heads_lease(store).await;
}
