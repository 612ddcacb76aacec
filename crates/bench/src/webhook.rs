//! The webhook rows (issue 14): update throughput with one webhook endpoint configured against
//! without, and the delivery lag from commit to arrival at a receiver of the bench's own.
//!
//! The receiver is a small HTTP/1.1 server in this process that answers every POST with 204 and
//! checks it as the load generator checks answers: the Standard Webhooks signature verifies,
//! `webhook-id` names the event the body describes, and each user's events arrive one after
//! another with no gap (`sequence` previous + 1; a repeat of an event already received is
//! counted as a duplicate, which at-least-once delivery allows). The lag of an event is its
//! arrival time less the commit time the body's `timestamp` carries.

use crate::histogram::Histogram;
use crate::load::{self, Protocol, RunResult, Slot, Target, Timing};
use crate::server::{self, Server, Setup};
use crate::{BenchError, Plan};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use persona_webhooks::Secret;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

/// The endpoint's signing secret (a fixed one: the bench talks to itself on loopback).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// After the load stops, the deliveries may fall behind for a while, but a run in which none
/// arrives for this long fails as having lost events ...
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// ... and so does one that has not caught up after this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// A drain within this counts as keeping up.
pub const KEEPS_UP_WITHIN: Duration = Duration::from_secs(1);

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Per user: the last sequence received in order.
    last: HashMap<String, u64>,
    /// Events received (first arrivals).
    delivered: u64,
    /// Requests for events already received.
    duplicates: u64,
    /// Commit to arrival, microseconds, of first arrivals.
    lag: Histogram,
    /// Requests that failed a check.
    errors: u64,
    /// The first of them.
    first_error: Option<String>,
}

impl Seen {
    fn fail(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

/// The bench's webhook receiver; stops when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:port/bench`.
    pub url: String,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl Receiver {
    /// Listens on a free loopback port.
    pub async fn start() -> Result<Self, BenchError> {
        let secret = Secret::parse(SECRET).map_err(|e| BenchError::new(format!("bench secret: {e}")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| BenchError::new(format!("receiver bind: {e}")))?;
        let port = listener.local_addr().map_err(|e| BenchError::new(format!("receiver address: {e}")))?.port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let secret = Arc::new(secret);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let (seen, secret) = (Arc::clone(&shared), Arc::clone(&secret));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let (seen, secret) = (Arc::clone(&seen), Arc::clone(&secret));
                        async move { Ok::<_, Infallible>(receive(&seen, &secret, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { url: format!("http://127.0.0.1:{port}/bench"), seen, task })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on the events of `users` after their current sequences are expected.
    fn expect(&self, users: &[Slot]) {
        let mut seen = self.seen();
        for slot in users {
            seen.last.insert(slot.id.clone(), slot.sequence);
        }
    }

    /// Events of `users` up to their current sequences not received yet.
    fn missing(&self, users: &[Slot]) -> u64 {
        let seen = self.seen();
        users.iter().map(|slot| slot.sequence.saturating_sub(seen.last.get(&slot.id).copied().unwrap_or(0))).sum()
    }

    /// The first failed check, if any.
    fn check(&self) -> Result<(), BenchError> {
        let seen = self.seen();
        match &seen.first_error {
            Some(error) => {
                Err(BenchError::new(format!("webhook receiver: {} bad deliveries, first: {error}", seen.errors)))
            }
            None => Ok(()),
        }
    }

    /// The configuration file of a server delivering to this receiver.
    fn config(&self) -> String {
        format!("[[webhooks]]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n", self.url)
    }
}

/// Checks and records one request; answers 204 (400 to what is not a delivery at all).
async fn receive(seen: &Mutex<Seen>, secret: &Secret, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let arrived = now_micros();
    let answer = |status: u16| {
        let mut response = http::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
        response
    };
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            seen.lock().unwrap_or_else(PoisonError::into_inner).fail(format!("body: {error}"));
            return answer(400);
        }
    };
    let checked = check_delivery(secret, &id, &timestamp, &signature, &body);
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    let (user, sequence, committed) = match checked {
        Ok(fields) => fields,
        Err(error) => {
            seen.fail(format!("{id}: {error}"));
            return answer(400);
        }
    };
    let Some(last) = seen.last.get(&user).copied() else {
        seen.fail(format!("{id}: an event of a user the bench did not update"));
        return answer(204);
    };
    if sequence <= last {
        seen.duplicates += 1;
    } else if sequence == last + 1 {
        seen.last.insert(user, sequence);
        seen.delivered += 1;
        seen.lag.record(u64::try_from(arrived - committed).unwrap_or(0));
    } else {
        seen.fail(format!("{id}: sequence {sequence} arrived after {last}: out of order or one lost"));
    }
    answer(204)
}

/// Verifies the signature and that the id names the body's event; answers (user, sequence,
/// commit time in microseconds).
fn check_delivery(
    secret: &Secret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<(String, u64, i64), String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let sent_at: i64 = timestamp.parse().map_err(|_| format!("webhook-timestamp {timestamp:?}"))?;
    if secret.sign(id, sent_at, text) != signature {
        return Err(format!("the signature {signature:?} does not verify"));
    }
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("the body is not JSON: {e}"))?;
    let user = json["data"]["userId"].as_str().ok_or("no data.userId")?.to_owned();
    let sequence = json["data"]["sequence"].as_u64().ok_or("no data.sequence")?;
    if id != format!("evt_{user}_{sequence}") {
        return Err(format!("webhook-id does not name user {user}'s event {sequence}"));
    }
    if json["type"] != "user.human.profile.changed" {
        return Err(format!("type {}", json["type"]));
    }
    let committed = json["timestamp"].as_str().ok_or("no timestamp")?;
    let committed = chrono::DateTime::parse_from_rfc3339(committed)
        .map_err(|e| format!("timestamp {committed:?}: {e}"))?
        .timestamp_micros();
    Ok((user, sequence, committed))
}

/// The webhook rows of one backend.
pub struct WebhookReport {
    /// Protocol of the updates.
    pub protocol: &'static str,
    /// Workers.
    pub concurrency: usize,
    /// Updates/s without an endpoint.
    pub without_rps: f64,
    /// p99 of the updates without, ms.
    pub without_p99: f64,
    /// Updates/s with one endpoint.
    pub with_rps: f64,
    /// p99 of the updates with, ms.
    pub with_p99: f64,
    /// Events committed during the runs with the endpoint.
    pub committed: u64,
    /// Of them received.
    pub delivered: u64,
    /// Requests for events received before.
    pub duplicates: u64,
    /// Events committed but not yet received when each run's load stopped (the largest).
    pub tail: u64,
    /// The longest time from a run's end to its last delivery, ms.
    pub drain_ms: f64,
    /// `persona_webhook_backlog` at its highest while the load ran.
    pub backlog_max: f64,
    /// `persona_webhook_backlog` after the drain (the last run).
    pub backlog_after: f64,
    /// Commit to arrival, microseconds.
    pub lag: Histogram,
    /// CPU spent without the endpoint, over the load.
    pub without_cpu: Cpu,
    /// CPU spent with the endpoint, over the load and the drain.
    pub with_cpu: Cpu,
}

/// CPU seconds of the server and of the bench (load generator, and receiver when there is
/// one), and the updates they were spent on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// The server's user + system seconds.
    pub server: f64,
    /// The bench process's.
    pub bench: f64,
    /// Updates committed meanwhile.
    pub updates: u64,
}

impl Cpu {
    /// CPU microseconds per update of (the server, the bench).
    pub fn per_update_us(&self) -> (f64, f64) {
        #[expect(clippy::cast_precision_loss, reason = "update counts are far below 2^52")]
        let updates = self.updates.max(1) as f64;
        (self.server * 1e6 / updates, self.bench * 1e6 / updates)
    }

    fn add(&mut self, server: f64, bench: f64, updates: u64) {
        self.server += server;
        self.bench += bench;
        self.updates += updates;
    }
}

impl WebhookReport {
    /// Throughput with over without (1.0: no cost).
    pub fn ratio(&self) -> f64 {
        if self.without_rps > 0.0 { self.with_rps / self.without_rps } else { 0.0 }
    }

    /// A lag quantile in ms.
    pub fn lag_ms(&self, quantile: f64) -> f64 {
        micros_to_ms(self.lag.value_at_quantile(quantile))
    }

    /// The largest lag in ms.
    pub fn lag_max_ms(&self) -> f64 {
        micros_to_ms(self.lag.max())
    }

    /// Whether the deliveries kept up: every run drained within [`KEEPS_UP_WITHIN`] and the
    /// backlog gauge read 0 afterwards.
    pub fn keeps_up(&self) -> bool {
        self.drain_ms <= KEEPS_UP_WITHIN.as_secs_f64() * 1000.0 && self.backlog_after == 0.0
    }
}

fn micros_to_ms(micros: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "latencies are far below 2^52 microseconds")]
    let micros = micros as f64;
    micros / 1000.0
}

/// `persona_webhook_backlog` (summed over endpoints) from the server's `/metrics`.
async fn backlog(address: &str) -> Result<f64, BenchError> {
    let mut sender = load::http1(address).await?;
    let request = http::Request::get("/metrics")
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .map_err(|e| BenchError::new(format!("request: {e}")))?;
    let (status, _, body) = load::exchange(&mut sender, request).await?;
    if status != 200 {
        return Err(BenchError::new(format!("/metrics answered {status}")));
    }
    let text = String::from_utf8_lossy(&body);
    let values: Vec<f64> = text
        .lines()
        .filter(|line| line.starts_with("persona_webhook_backlog{"))
        .filter_map(|line| line.rsplit(' ').next().and_then(|n| n.parse().ok()))
        .collect();
    if values.is_empty() {
        return Err(BenchError::new("/metrics has no persona_webhook_backlog series"));
    }
    Ok(values.iter().sum())
}

/// Runs the load with and without one endpoint, alternated in two parts each so that a
/// disturbance of the shared machine hits both sides alike, with `setup`'s server started anew
/// for every part (it starts in milliseconds).
pub async fn rows(
    plan: &Plan,
    setup: &Setup<'_>,
    authorization: &str,
    users: &mut [Slot],
    concurrency: usize,
) -> Result<WebhookReport, BenchError> {
    let receiver = Receiver::start().await?;
    let config = setup.dir.join("webhooks.toml");
    std::fs::write(&config, receiver.config()).map_err(|e| BenchError::new(format!("{}: {e}", config.display())))?;
    let hooked = Setup { config: Some(&config), ..*setup };
    let part = Timing { warmup: plan.timing.warmup, measure: plan.timing.measure / 2 };
    let protocol = Protocol::Grpc;
    let (mut without, mut with) = (None, None);
    let mut report = WebhookReport {
        protocol: protocol.name(),
        concurrency,
        without_rps: 0.0,
        without_p99: 0.0,
        with_rps: 0.0,
        with_p99: 0.0,
        committed: 0,
        delivered: 0,
        duplicates: 0,
        tail: 0,
        drain_ms: 0.0,
        backlog_max: 0.0,
        backlog_after: 0.0,
        lag: Histogram::default(),
        without_cpu: Cpu::default(),
        with_cpu: Cpu::default(),
    };
    for _ in 0..2 {
        let (mut server, _) = Server::start(setup).await?;
        let before: u64 = users.iter().map(|slot| slot.sequence).sum();
        let (server_cpu, bench_cpu) = (server.cpu_seconds()?, server::cpu_seconds_of("self")?);
        let run =
            load::run(&Target::Server(server.address.clone()), protocol, authorization, users, concurrency, part).await;
        let after: u64 = users.iter().map(|slot| slot.sequence).sum();
        report.without_cpu.add(
            server.cpu_seconds()? - server_cpu,
            server::cpu_seconds_of("self")? - bench_cpu,
            after - before,
        );
        server.check_alive()?;
        load::merge(&mut without, run?);
        server.stop().await?;

        let result = with_endpoint(&hooked, &receiver, authorization, users, concurrency, part, &mut report).await?;
        load::merge(&mut with, result);
    }
    let (Some(without), Some(with)) = (without, with) else {
        return Err(BenchError::new("no webhook runs"));
    };
    let seen = receiver.seen();
    report.without_rps = without.rps;
    report.without_p99 = without.ms(0.99);
    report.with_rps = with.rps;
    report.with_p99 = with.ms(0.99);
    report.delivered = seen.delivered;
    report.duplicates = seen.duplicates;
    report.lag = seen.lag.clone();
    Ok(report)
}

/// One part with the endpoint: the load, then the drain until every committed event arrived.
async fn with_endpoint(
    hooked: &Setup<'_>,
    receiver: &Receiver,
    authorization: &str,
    users: &mut [Slot],
    concurrency: usize,
    part: Timing,
    report: &mut WebhookReport,
) -> Result<RunResult, BenchError> {
    receiver.expect(users);
    let before: u64 = users.iter().map(|slot| slot.sequence).sum();
    let (mut server, _) = Server::start(hooked).await?;
    let (server_cpu, bench_cpu) = (server.cpu_seconds()?, server::cpu_seconds_of("self")?);
    let address = server.address.clone();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(async move {
        let mut highest: f64 = 0.0;
        loop {
            if let Ok(value) = backlog(&address).await {
                highest = highest.max(value);
            }
            tokio::select! {
                _ = &mut stopped => return highest,
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    });
    let run =
        load::run(&Target::Server(server.address.clone()), Protocol::Grpc, authorization, users, concurrency, part)
            .await;
    let ended = Instant::now();
    let tail = receiver.missing(users);
    let _ = stop.send(());
    let highest = sampler.await.map_err(|e| BenchError::new(format!("backlog sampler: {e}")))?;
    report.backlog_max = report.backlog_max.max(highest);
    server.check_alive()?;
    let run = run?;
    let after: u64 = users.iter().map(|slot| slot.sequence).sum();
    report.committed += after - before;
    report.tail = report.tail.max(tail);
    let (mut fewest, mut progressed) = (u64::MAX, Instant::now());
    loop {
        receiver.check()?;
        let missing = receiver.missing(users);
        if missing == 0 {
            break;
        }
        if missing < fewest {
            (fewest, progressed) = (missing, Instant::now());
        }
        if progressed.elapsed() > STALL_LIMIT || ended.elapsed() > DRAIN_LIMIT {
            return Err(BenchError::new(format!(
                "{missing} committed events not delivered {:.0} s after the load's end (none for {:.0} s)",
                ended.elapsed().as_secs_f64(),
                progressed.elapsed().as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    report.drain_ms = report.drain_ms.max(ended.elapsed().as_secs_f64() * 1000.0);
    report.with_cpu.add(
        server.cpu_seconds()? - server_cpu,
        server::cpu_seconds_of("self")? - bench_cpu,
        after - before,
    );
    // The gauge is counted about once a second: wait for it to show the drained outbox.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = backlog(&server.address).await?;
    while last > 0.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = backlog(&server.address).await?;
    }
    report.backlog_after = last;
    server.check_alive()?;
    server.stop().await?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"type":"user.human.profile.changed","timestamp":"2023-11-14T22:13:20.123456Z","data":{"userId":"7","sequence":3}}"#;

    fn signed(id: &str, body: &str) -> (String, String) {
        let secret = Secret::parse(SECRET).expect("secret");
        ("1700000000".to_owned(), secret.sign(id, 1_700_000_000, body))
    }

    #[test]
    fn the_receiver_checks_signature_id_and_type_and_reads_the_commit_time() {
        let secret = Secret::parse(SECRET).expect("secret");
        let (timestamp, signature) = signed("evt_7_3", BODY);
        assert_eq!(
            check_delivery(&secret, "evt_7_3", &timestamp, &signature, BODY.as_bytes()),
            Ok(("7".to_owned(), 3, 1_700_000_000_123_456))
        );
        assert!(check_delivery(&secret, "evt_7_3", &timestamp, "v1,AAAA", BODY.as_bytes()).is_err(), "bad signature");
        let (timestamp, signature) = signed("evt_7_4", BODY);
        assert!(check_delivery(&secret, "evt_7_4", &timestamp, &signature, BODY.as_bytes()).is_err(), "wrong id");
        let other = BODY.replace("profile.changed", "removed");
        let (timestamp, signature) = signed("evt_7_3", &other);
        assert!(check_delivery(&secret, "evt_7_3", &timestamp, &signature, other.as_bytes()).is_err(), "wrong type");
    }

    async fn post(receiver: &Receiver, user: &str, sequence: u64) -> u16 {
        let body =
            BODY.replace("\"userId\":\"7\",\"sequence\":3", &format!("\"userId\":\"{user}\",\"sequence\":{sequence}"));
        let id = format!("evt_{user}_{sequence}");
        let (timestamp, signature) = signed(&id, &body);
        let address = receiver.url.trim_start_matches("http://").trim_end_matches("/bench").to_owned();
        let mut sender = load::http1(&address).await.expect("connects");
        let request = http::Request::post("/bench")
            .header("host", "127.0.0.1")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        load::exchange(&mut sender, request).await.expect("answered").0
    }

    #[tokio::test]
    async fn the_receiver_counts_each_users_events_in_order_and_fails_a_gap() {
        let receiver = Receiver::start().await.expect("receiver");
        let users = [Slot { id: "u".into(), sequence: 4, next_b: false }];
        receiver.expect(&users);
        let done = [Slot { id: "u".into(), sequence: 6, next_b: false }];
        assert_eq!(receiver.missing(&done), 2);
        assert_eq!(post(&receiver, "u", 5).await, 204);
        assert_eq!(post(&receiver, "u", 5).await, 204, "a repeat is answered");
        assert_eq!(receiver.missing(&done), 1);
        assert!(receiver.check().is_ok());
        {
            let seen = receiver.seen();
            assert_eq!((seen.delivered, seen.duplicates, seen.lag.len()), (1, 1, 1));
        }
        assert_eq!(post(&receiver, "u", 7).await, 204);
        assert!(receiver.check().is_err(), "a gap fails the run");
        assert_eq!(post(&receiver, "stranger", 1).await, 204);
        assert_eq!(receiver.seen().errors, 2, "an event of a user the bench did not update fails too");
    }
}
