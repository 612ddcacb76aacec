//! Webhooks (issue 14): every committed user event reaches the configured endpoints, signed as
//! Standard Webhooks v1, checked by a receiver built on the `standardwebhooks` library from PyPI
//! (`tests/webhooks/receiver.py`), which nobody on the project wrote. On SQLite and PostgreSQL:
//! every event arrives, verified under both secrets of a rotation, in sequence order per user;
//! filters by event type and org; retries after 5xx and timeouts with growing waits; 410 disables
//! the endpoint (across a restart) until `persona webhooks redeliver`; events committed while
//! the receiver is down survive `kill -9`; two instances on one PostgreSQL deliver each event
//! with per-user order.

use crate::harness::{ADA, Launch, PgSchema, Server, add_human, free_port, open_store, write_file};
use persona_domain::ports::{EventPage, Store as _};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";
/// The release `.ci/run` installs.
const STANDARDWEBHOOKS: &str = "1.1.0";

/// Fast retries, so that the suite stays quick.
const FAST_DELIVERY: &str = "[webhook_delivery]\ntimeout_seconds = 0.5\nfirst_retry_seconds = 0.2\nmax_retry_seconds = 1.0\nmax_age_hours = 1\n";

/// Python with the pinned `standardwebhooks`; missing, the test is skipped locally and fails
/// under CI.
fn receiver_available() -> bool {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import importlib.metadata as m; print(m.version('standardwebhooks'))"])
        .output();
    let version =
        probe.ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(version) = &version {
        assert_eq!(
            version, STANDARDWEBHOOKS,
            "standardwebhooks {version} is installed; the tests pin {STANDARDWEBHOOKS}"
        );
    }
    let install = format!("python3 -m pip install 'standardwebhooks=={STANDARDWEBHOOKS}'");
    assert!(
        version.is_some() || std::env::var_os("CI").is_none(),
        "standardwebhooks must be installed in CI ({install})"
    );
    if version.is_none() {
        eprintln!("standardwebhooks is not installed ({install}): skipping this webhook test");
    }
    version.is_some()
}

/// The receiver process and its files.
struct Receiver {
    port: u16,
    dir: TempDir,
    secrets: Vec<&'static str>,
    child: Option<Child>,
    users: std::sync::Mutex<BTreeSet<String>>,
}

impl Receiver {
    /// A receiver verifying with `secrets`, not started yet, on a port of its own.
    fn new(secrets: &[&'static str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self { port: free_port(), dir, secrets: secrets.to_vec(), child: None, users: std::sync::Mutex::default() }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("requests.jsonl")
    }

    /// Answers `status` after `delay` seconds from now on.
    fn answer(&self, status: u16, delay: f64) {
        let control = json!({"status": status, "delay": delay}).to_string();
        write_file(self.dir.path(), "control.json", &control);
    }

    async fn start(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/webhooks/receiver.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["--port", &self.port.to_string()])
            .arg("--log")
            .arg(self.log())
            .arg("--control")
            .arg(self.dir.path().join("control.json"));
        for secret in &self.secrets {
            command.args(["--secret", secret]);
        }
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true).spawn().expect("python3 runs");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver starts in time")
            .expect("reads")
            .expect("the receiver says its port");
        assert_eq!(line, format!("PORT {}", self.port));
        self.child = Some(child);
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Every request received so far, in arrival order.
    fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        // Only whole lines: the receiver may be writing the last one.
        let whole = text.rsplit_once('\n').map_or("", |(lines, _)| lines);
        whole
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_str(line).expect("JSON line"))
            .collect()
    }

    /// Requests to `path` about the users of this test (the admin's own events, made at the
    /// first start, are delivered too).
    fn requests_to(&self, path: &str) -> Vec<Value> {
        let users = self.users.lock().expect("users").clone();
        self.requests()
            .into_iter()
            .filter(|request| request["path"] == path)
            .filter(|request| request["body"]["data"]["userId"].as_str().is_some_and(|user| users.contains(user)))
            .collect()
    }

    /// Counts the events of `user` from now on.
    fn watch(&self, user: &str) {
        self.users.lock().expect("users").insert(user.to_owned());
    }

    /// Waits until `done` holds for the requests to `path`.
    async fn wait_for(&self, path: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let requests = self.requests_to(path);
            if done(&requests) {
                return requests;
            }
            assert!(Instant::now() < deadline, "{what}: not within 30 s; got {} requests to {path}", requests.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The (user, sequence) pairs delivered (answered 2xx) among `requests`.
fn delivered(requests: &[Value]) -> BTreeSet<(String, u64)> {
    requests
        .iter()
        .filter(|r| r["status"].as_u64().is_some_and(|s| (200..300).contains(&s)))
        .map(|r| {
            (
                r["body"]["data"]["userId"].as_str().expect("userId").to_owned(),
                r["body"]["data"]["sequence"].as_u64().expect("sequence"),
            )
        })
        .collect()
}

/// Every request verified under every secret, carries one signature per secret, has the
/// stable id of its event and a body of the documented shape; per user, the first arrivals of
/// each sequence are in increasing order.
fn assert_signed_and_in_order(requests: &[Value], secrets: usize) {
    let mut firsts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for request in requests {
        assert_eq!(request["verified"], json!(vec![true; secrets]), "every signature verifies: {request}");
        assert_eq!(request["signatures"], json!(secrets), "one signature per secret: {request}");
        let data = &request["body"]["data"];
        let user = data["userId"].as_str().expect("userId").to_owned();
        let sequence = data["sequence"].as_u64().expect("sequence is a number");
        assert_eq!(request["id"], json!(format!("evt_{user}_{sequence}")), "webhook-id is the event's id");
        assert_eq!(request["body"]["type"], data["eventType"], "{request}");
        assert!(
            data["orgId"].is_string() && data["editorId"].is_string() && data["changedFields"].is_array(),
            "{request}"
        );
        let timestamp = request["body"]["timestamp"].as_str().expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(), "RFC 3339: {timestamp}");
        if seen.insert((user.clone(), sequence)) {
            firsts.entry(user).or_default().push(sequence);
        }
    }
    for (user, sequences) in firsts {
        assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "user {user}: in sequence order: {sequences:?}");
    }
}

/// Every (user, sequence) the users have in the event log.
async fn committed(url: &str, users: &[String]) -> BTreeSet<(String, u64)> {
    let store = open_store(url).await;
    let mut all = BTreeSet::new();
    for user in users {
        let page = EventPage { cursor: 0, limit: 1000, ascending: true };
        let events = store.user_events(&persona_domain::ids::UserId::new(user.clone()), page).await.expect("events");
        all.extend(events.iter().map(|event| (user.clone(), event.sequence)));
    }
    all
}

/// Changes the first name of `user` `times` times.
async fn update(server: &Server, user: &str, times: usize, tag: &str) {
    let api = server.api();
    for n in 0..times {
        api.update_rest(user, &format!("{tag}{n}")).await.expect("update");
    }
}

fn config(webhooks: &str) -> String {
    format!("{webhooks}{FAST_DELIVERY}")
}

fn endpoint(url: &str, secrets: &[&str], extra: &str) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[[webhooks]]\nurl = \"{url}\"\nsecret = [{}]\n{extra}\n", secrets.join(", "))
}

/// A server with the configuration file `text` (also seen by `persona webhooks ...`).
async fn launch(dir: TempDir, database_url: Option<String>, admin_token: Option<String>, text: &str) -> Server {
    let file = write_file(dir.path(), "persona.toml", text);
    let env = vec![("PERSONA_CONFIG".to_owned(), file.display().to_string())];
    Server::launch(Launch { database_url, admin_token, env, dir: Some(dir), ..Launch::default() }).await
}

async fn every_event_arrives_signed_in_order_and_filtered(database_url: Option<String>) {
    let mut receiver = Receiver::new(&[SECRET_A, SECRET_B]);
    receiver.start().await;
    receiver.answer(204, 0.0);
    // First without webhooks, to learn the default org's id for the org filter.
    let mut server = launch(tempfile::tempdir().expect("dir"), database_url, None, FAST_DELIVERY).await;
    let probe = add_human(&server, None, "probe", ADA).await;
    let org = committed_org(&server.database_url(), &probe).await;
    let text = [
        endpoint(&receiver.url("/all"), &[SECRET_A, SECRET_B], ""),
        endpoint(
            &receiver.url("/profile"),
            &[SECRET_A, SECRET_B],
            &format!("events = [\"user.human.profile.*\"]\norgs = [\"{org}\"]"),
        ),
        endpoint(&receiver.url("/elsewhere"), &[SECRET_A, SECRET_B], "orgs = [\"1\"]"),
    ]
    .concat();
    write_file(server.dir.path(), "persona.toml", &config(&text));
    server.restart().await;

    let mut users = Vec::new();
    for n in 0..4 {
        let user = add_human(&server, None, &format!("hook{n}"), ADA).await;
        receiver.watch(&user);
        users.push(user);
    }
    let updates = users.iter().enumerate().map(|(n, user)| update(&server, user, 5 + n, "F"));
    futures_join(updates).await;
    let expected = committed(&server.database_url(), &users).await;
    assert_eq!(expected.len(), 4 + 5 + 6 + 7 + 8, "creations and updates are in the log");
    let all = receiver.wait_for("/all", "every event delivered", |r| delivered(r) == expected).await;
    assert_signed_and_in_order(&all, 2);
    let types: BTreeSet<&str> = all.iter().filter_map(|r| r["body"]["type"].as_str()).collect();
    assert_eq!(types, BTreeSet::from(["user.human.added", "user.human.profile.changed"]));
    let changed = all.iter().find(|r| r["body"]["type"] == "user.human.profile.changed").expect("a change");
    assert_eq!(changed["body"]["data"]["changedFields"][0]["field"], "firstName", "{changed}");
    assert_eq!(changed["body"]["data"]["orgId"], json!(org));

    let profile_only: BTreeSet<(String, u64)> =
        expected.iter().filter(|(_, sequence)| *sequence > 1).cloned().collect();
    let profile = receiver.wait_for("/profile", "the filtered endpoint", |r| delivered(r) == profile_only).await;
    assert_signed_and_in_order(&profile, 2);
    assert!(profile.iter().all(|r| r["body"]["type"] == "user.human.profile.changed"), "only the type filtered for");
    let raw = receiver.requests();
    assert!(raw.iter().all(|r| r["path"] != "/elsewhere"), "nothing for an endpoint of another org");
    assert!(raw.iter().all(|r| r["body"]["data"]["userId"] != json!(probe)), "no endpoint then, no delivery");

    let metrics = server.metrics().await;
    let label = format!("endpoint=\"http://127.0.0.1:{}/all\",code=\"204\"", receiver.port);
    assert!(metrics.contains(&format!("persona_webhook_delivered_total{{{label}}}")), "{metrics}");
    assert!(metrics.contains("persona_webhook_lag_seconds_count{endpoint="), "{metrics}");
    assert!(metrics.contains("persona_webhook_backlog{endpoint="), "{metrics}");
    receiver.stop().await;
}

async fn committed_org(url: &str, user: &str) -> String {
    let store = open_store(url).await;
    let page = EventPage { cursor: 0, limit: 1, ascending: true };
    let events = store.user_events(&persona_domain::ids::UserId::new(user.to_owned()), page).await.expect("events");
    events[0].resource_owner.as_str().to_owned()
}

async fn futures_join<F: Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for future in futures {
        set.push(future);
    }
    // Run them concurrently on this task.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pinned.retain_mut(|future| future.as_mut().poll(cx).is_pending());
        if pinned.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_in_order_and_filtered_on_sqlite() {
    if receiver_available() {
        every_event_arrives_signed_in_order_and_filtered(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_in_order_and_filtered_on_postgres() {
    let Some(schema) = PgSchema::create("hooks_all") else { return };
    if receiver_available() {
        every_event_arrives_signed_in_order_and_filtered(Some(schema.url())).await;
    }
}

/// The status line of the endpoint at `port` in `persona webhooks status`.
async fn status_line(server: &Server, port: u16) -> String {
    let output = server.cli(&["webhooks", "status"]).await;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "webhooks status: {}", String::from_utf8_lossy(&output.stderr));
    text.lines().find(|line| line.contains(&format!(":{port}/"))).unwrap_or_default().to_owned()
}

async fn retries_backoff_and_gone(database_url: Option<String>) {
    let mut receiver = Receiver::new(&[SECRET_A]);
    receiver.start().await;
    receiver.answer(503, 0.0);
    let text = config(&endpoint(&receiver.url("/hook"), &[SECRET_A], ""));
    let mut server = launch(tempfile::tempdir().expect("dir"), database_url, None, &text).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let user = add_human(&server, None, "retry", ADA).await;
    receiver.watch(&user);
    let id = format!("evt_{user}_1");
    // 5xx: tried again with growing waits (each at least the previous one, jitter aside).
    let tries = receiver.wait_for("/hook", "four attempts", |r| r.len() >= 4).await;
    assert!(tries.iter().all(|r| r["id"] == json!(id)), "the same webhook-id on every retry");
    let at: Vec<f64> = tries.iter().map(|r| r["received"].as_f64().expect("time")).collect();
    let gaps: Vec<f64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= 0.09, "the first retry waits first_retry_seconds (with jitter): {gaps:?}");
    assert!(gaps[2] >= gaps[0] * 0.9 && gaps[2] >= 0.19, "waits grow: {gaps:?}");
    let line = status_line(&server, receiver.port).await;
    // The admin's own events of the first start wait behind the 503s too.
    let pending: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(pending >= 1 && line.ends_with(" no"), "pending, enabled: {line}");
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(&format!(
            "persona_webhook_retried_total{{endpoint=\"http://127.0.0.1:{}/hook\",code=\"503\"}}",
            receiver.port
        )),
        "{metrics}"
    );
    // A timeout counts as a failure too.
    receiver.answer(204, 1.0);
    let before = receiver.requests_to("/hook").len();
    receiver.wait_for("/hook", "attempts that time out", |r| r.len() >= before + 2).await;
    receiver.answer(204, 0.0);
    receiver.wait_for("/hook", "delivered at last", |r| delivered(r).contains(&(user.clone(), 1))).await;
    assert_signed_and_in_order(&receiver.requests_to("/hook"), 1);
    wait_for_pending(&server, receiver.port, 0).await;

    // 410: the endpoint is disabled, nothing more is sent, across a restart too.
    receiver.answer(410, 0.0);
    update(&server, &user, 1, "G").await;
    receiver.wait_for("/hook", "the 410", |r| r.iter().any(|r| r["status"] == 410)).await;
    update(&server, &user, 1, "H").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = status_line(&server, receiver.port).await;
        if line.contains("yes (410") {
            assert_eq!(line.split_whitespace().nth(1), Some("2"), "both changes wait: {line}");
            break;
        }
        assert!(Instant::now() < deadline, "status shows the endpoint disabled: {line}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.logs().contains("410 Gone"), "logged");
    server.restart().await;
    receiver.answer(204, 0.0);
    let count = receiver.requests_to("/hook").len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.requests_to("/hook").len(), count, "nothing is sent to a disabled endpoint");
    // Redelivery enables it again and sends everything since.
    let output = server.cli(&["webhooks", "redeliver", "--url", &receiver.url("/hook"), "--since", &since]).await;
    assert!(output.status.success(), "redeliver: {}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("enqueued 3"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let all = BTreeSet::from([(user.clone(), 1), (user.clone(), 2), (user.clone(), 3)]);
    let requests = receiver.wait_for("/hook", "redelivered", |r| delivered(r) == all).await;
    assert_signed_and_in_order(&requests, 1);
    let line = wait_for_pending(&server, receiver.port, 0).await;
    assert!(line.ends_with(" no"), "enabled again: {line}");
    receiver.stop().await;
}

/// Waits until `persona webhooks status` shows `pending` deliveries for the endpoint at `port`;
/// answers its line.
async fn wait_for_pending(server: &Server, port: u16, pending: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = status_line(server, port).await;
        if line.split_whitespace().nth(1) == Some(pending.to_string().as_str()) {
            return line;
        }
        assert!(Instant::now() < deadline, "{pending} pending: {line}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_back_off_and_410_disables_on_sqlite() {
    if receiver_available() {
        retries_backoff_and_gone(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_back_off_and_410_disables_on_postgres() {
    let Some(schema) = PgSchema::create("hooks_retry") else { return };
    if receiver_available() {
        retries_backoff_and_gone(Some(schema.url())).await;
    }
}

async fn survives_kill9(database_url: Option<String>) {
    let mut receiver = Receiver::new(&[SECRET_A]);
    let text = config(&endpoint(&receiver.url("/hook"), &[SECRET_A], ""));
    let mut server = launch(tempfile::tempdir().expect("dir"), database_url, None, &text).await;
    // The receiver is down: every change is acknowledged but cannot be delivered.
    let user = add_human(&server, None, "crash", ADA).await;
    receiver.watch(&user);
    update(&server, &user, 5, "K").await;
    server.kill9().await;
    receiver.start().await;
    receiver.answer(204, 0.0);
    server.restart().await;
    let expected = committed(&server.database_url(), std::slice::from_ref(&user)).await;
    assert_eq!(expected.len(), 6);
    let requests = receiver.wait_for("/hook", "everything after the crash", |r| delivered(r) == expected).await;
    assert_signed_and_in_order(&requests, 1);
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_while_the_receiver_is_down_survive_kill9_on_sqlite() {
    if receiver_available() {
        survives_kill9(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_while_the_receiver_is_down_survive_kill9_on_postgres() {
    let Some(schema) = PgSchema::create("hooks_crash") else { return };
    if receiver_available() {
        survives_kill9(Some(schema.url())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_deliver_each_event_in_order_per_user() {
    let Some(schema) = PgSchema::create("hooks_two") else { return };
    if !receiver_available() {
        return;
    }
    let mut receiver = Receiver::new(&[SECRET_A]);
    receiver.start().await;
    // Slow answers, so that both instances hold leases at once.
    receiver.answer(204, 0.02);
    let text = config(&endpoint(&receiver.url("/hook"), &[SECRET_A], ""));
    let first = launch(tempfile::tempdir().expect("dir"), Some(schema.url()), None, &text).await;
    let token = first.admin_token.clone();
    let second = launch(tempfile::tempdir().expect("dir"), Some(schema.url()), Some(token), &text).await;
    let mut users = Vec::new();
    for n in 0..6 {
        let server = if n % 2 == 0 { &first } else { &second };
        let user = add_human(server, None, &format!("two{n}"), ADA).await;
        receiver.watch(&user);
        users.push(user);
    }
    let updates = users.iter().enumerate().map(|(n, user)| {
        let server = if n % 2 == 0 { &second } else { &first };
        update(server, user, 6, "T")
    });
    futures_join(updates).await;
    let expected = committed(&schema.url(), &users).await;
    assert_eq!(expected.len(), 6 * 7);
    let requests = receiver.wait_for("/hook", "every event once at least", |r| delivered(r) == expected).await;
    assert_signed_and_in_order(&requests, 1);
    let ids: BTreeSet<&str> = requests.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), expected.len(), "dedup by webhook-id gives each event once");
    let first_metrics = first.metrics().await;
    let second_metrics = second.metrics().await;
    let sent = |text: &str| text.lines().any(|line| line.starts_with("persona_webhook_delivered_total{"));
    assert!(sent(&first_metrics) || sent(&second_metrics), "deliveries are counted");
    receiver.stop().await;
}

/// Attempts time out after 1.5 s, so a lease holds 3 × 1.5 + 1 = 5.5 s.
const TAKEOVER_DELIVERY: &str = "[webhook_delivery]\ntimeout_seconds = 1.5\nfirst_retry_seconds = 0.2\nmax_retry_seconds = 1.0\nmax_age_hours = 1\n";

fn unix_micros_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
    i64::try_from(now.as_micros()).expect("micros")
}

/// Instance 1 leases the heads of the users' queues and hangs in the receiver; it is killed
/// with `kill -9`. Instance 2, running beside it all along, does not touch those queues until
/// the leases expire, then delivers them and everything committed behind them, in per-user
/// order, nothing lost (duplicates allowed: deduplicated by `webhook-id`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_instances_leases_are_taken_over_after_they_expire_on_postgres() {
    let Some(schema) = PgSchema::create("hooks_takeover") else { return };
    if !receiver_available() {
        return;
    }
    let mut receiver = Receiver::new(&[SECRET_A]);
    receiver.start().await;
    // Every request is held for 30 s (and would then be refused): the attempts in flight keep
    // their leases until the sender gives up.
    receiver.answer(503, 30.0);
    let text = format!("{}{TAKEOVER_DELIVERY}", endpoint(&receiver.url("/hook"), &[SECRET_A], ""));
    let mut first = launch(tempfile::tempdir().expect("dir"), Some(schema.url()), None, &text).await;
    let token = first.admin_token.clone();
    let second = launch(tempfile::tempdir().expect("dir"), Some(schema.url()), Some(token), &text).await;
    let pid = first.pid().expect("instance 1 runs");

    // Users made on instance 1, whose commits wake its delivery loop at once: it leases their
    // heads; the updates queue up behind them.
    let mut users = Vec::new();
    for n in 0..4 {
        let user = add_human(&first, None, &format!("takeover{n}"), ADA).await;
        receiver.watch(&user);
        users.push(user);
    }
    futures_join(users.iter().map(|user| update(&first, user, 2, "P"))).await;
    receiver
        .wait_for("/hook", "every user's first event in flight", |requests| {
            let heads: BTreeSet<&str> = requests
                .iter()
                .filter(|r| r["body"]["data"]["sequence"] == 1)
                .filter_map(|r| r["body"]["data"]["userId"].as_str())
                .collect();
            heads.len() == users.len()
        })
        .await;
    first.kill9().await;
    let killed = unix_micros_now();

    // What instance 1 held when it died.
    let held = schema.psql(&format!(
        "SELECT user_id, sequence, leased_until FROM webhook_deliveries \
         WHERE lease_owner LIKE '{pid}-%' AND leased_until > {killed} ORDER BY user_id, sequence"
    ));
    let held: Vec<(String, u64, i64)> = held
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('|');
            let (user, sequence, until) = (fields.next()?, fields.next()?, fields.next()?);
            Some((user.to_owned(), sequence.parse().ok()?, until.parse().ok()?))
        })
        .filter(|(user, _, _)| users.contains(user))
        .collect();
    eprintln!("instance 1 held {} of the {} users' heads when it was killed", held.len(), users.len());
    assert!(!held.is_empty(), "instance 1 held leases when it was killed");
    assert!(held.iter().all(|(_, sequence, _)| *sequence == 1), "only the heads are leased: {held:?}");

    // The receiver answers again; more changes are committed through instance 2.
    receiver.answer(204, 0.0);
    futures_join(users.iter().map(|user| update(&second, user, 2, "Q"))).await;
    let expected = committed(&schema.url(), &users).await;
    assert_eq!(expected.len(), users.len() * 5);
    let requests =
        receiver.wait_for("/hook", "every event delivered by instance 2", |r| delivered(r) == expected).await;

    for (user, sequence, until) in &held {
        let of_event: Vec<f64> = requests
            .iter()
            .filter(|r| r["body"]["data"]["userId"] == json!(user) && r["body"]["data"]["sequence"] == json!(sequence))
            .filter_map(|r| r["received"].as_f64())
            .collect();
        #[expect(clippy::cast_precision_loss, reason = "microseconds since 1970 fit a double's 52 bits")]
        let (killed, until) = (killed as f64 / 1e6, *until as f64 / 1e6);
        assert!(
            of_event.iter().all(|at| *at < killed || *at > until),
            "user {user} event {sequence}: nobody sent it between the crash ({killed}) and the lease's end ({until}): {of_event:?}"
        );
        assert!(
            of_event.iter().any(|at| *at > until),
            "user {user} event {sequence}: sent again after the lease's end"
        );
    }
    let answered: Vec<Value> =
        requests.iter().filter(|r| r["status"].as_u64().is_some_and(|s| (200..300).contains(&s))).cloned().collect();
    assert_signed_and_in_order(&answered, 1);
    let ids: BTreeSet<&str> = answered.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), expected.len(), "dedup by webhook-id gives each event once");
    let metrics = second.metrics().await;
    assert!(metrics.lines().any(|line| line.starts_with("persona_webhook_delivered_total{")), "{metrics}");
    receiver.stop().await;
}
