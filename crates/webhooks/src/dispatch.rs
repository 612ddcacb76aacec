//! The delivery loop: lease the heads of the (endpoint, user) queues, each with a run of the
//! deliveries after it, send the runs concurrently (a run one delivery after another, stopping
//! at the first that is not delivered), and settle the outcomes in batches. A queue is leased
//! again only once its run is settled, so each user's events arrive in order; different users'
//! events go out in parallel, up to [`DeliverySettings::concurrency`] runs at once.

use crate::client::{Client, Target};
use crate::message::{Secret, body, signature_header};
use crate::stats::{Result as Counted, WebhookStats};
use persona_domain::time::Timestamp;
use persona_domain::webhook::{Delivery, EventFilter, Lease, Outbox, Outcome, WebhookEndpoint, event_id};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, mpsc, watch};

/// One configured endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Its URL (the key of its deliveries).
    pub url: String,
    /// Where that is.
    pub target: Target,
    /// Signing secrets; several during a rotation.
    pub secrets: Vec<Secret>,
    /// Which events it receives.
    pub filter: EventFilter,
}

impl Endpoint {
    /// The endpoint as the store records deliveries for it.
    #[must_use]
    pub fn outbox_endpoint(&self) -> WebhookEndpoint {
        WebhookEndpoint { url: self.url.clone(), filter: self.filter.clone() }
    }
}

/// `[webhook_delivery]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliverySettings {
    /// Per attempt.
    pub timeout: Duration,
    /// The first wait before a retry; it doubles with each further attempt ...
    pub first_retry: Duration,
    /// ... up to this.
    pub max_retry: Duration,
    /// A delivery older than this is parked as failed instead of retried.
    pub max_age: Duration,
    /// Runs in flight at once (of different users).
    pub concurrency: usize,
    /// How often the outbox is looked at when nothing signalled new deliveries (other instances'
    /// commits, retries coming due).
    pub poll: Duration,
}

impl DeliverySettings {
    /// How long a lease holds: long enough for a run's attempts (none starts after
    /// [`DeliverySettings::last_start`]), short enough that a crashed instance's deliveries
    /// are taken over soon.
    #[must_use]
    pub fn lease(&self) -> Duration {
        self.timeout * 3 + Duration::from_secs(1)
    }

    /// How long after its lease a run may start another attempt: that attempt still ends (at
    /// its timeout) a second before the lease does, in time to be settled.
    #[must_use]
    pub fn last_start(&self) -> Duration {
        self.timeout * 2
    }

    /// The wait before retry number `attempt` (1 for the first retry): `first_retry` doubled
    /// `attempt - 1` times, at most `max_retry`, then scaled by `jitter` in [0.5, 1].
    #[must_use]
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(40);
        let base = self.first_retry.as_secs_f64() * f64::from(2u32.saturating_pow(doublings.min(31)));
        let capped = base.min(self.max_retry.as_secs_f64());
        Duration::from_secs_f64(capped * jitter.clamp(0.5, 1.0))
    }
}

/// A random factor in [0.5, 1].
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.75;
    }
    0.5 + f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) / 2.0
}

fn now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_unix_micros(micros)
}

fn after(at: Timestamp, wait: Duration) -> Timestamp {
    Timestamp::from_unix_micros(at.unix_micros().saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX)))
}

struct Known {
    endpoint: Endpoint,
    label: String,
    disabled_logged: AtomicBool,
}

/// Most queues leased, or deliveries settled, in one statement.
const BATCH: usize = 128;

/// Most deliveries of one queue leased together (its head and those after it): a busy user's
/// events go out one after another without a lease and a settle between each two.
const RUN: u32 = 32;

/// Least time between the starts of two leases that did not fill every free slot: under a
/// steady stream of commits a lease then carries the events of several commit batches (and
/// longer runs), rather than one lease, send round and settle per batch; the lag it adds is
/// at most this.
const GATHER: Duration = Duration::from_millis(10);

/// The outcomes of one run, in sequence order.
type Settled = Vec<(Delivery, Outcome)>;

/// `leased` cut into its runs (consecutive deliveries under one lease).
fn runs(leased: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    let mut runs: Vec<Vec<Delivery>> = Vec::new();
    for delivery in leased {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|last| last.lease_id == delivery.lease_id) => run.push(delivery),
            _ => runs.push(vec![delivery]),
        }
    }
    runs
}

/// The delivery loop over an outbox.
pub struct Dispatcher<O> {
    outbox: O,
    endpoints: Arc<HashMap<String, Known>>,
    urls: Arc<Vec<String>>,
    settings: DeliverySettings,
    stats: Arc<WebhookStats>,
    owner: Arc<str>,
    signal: Arc<Notify>,
    client: Client,
}

impl<O: Outbox> Dispatcher<O> {
    /// A loop delivering to `endpoints` from `outbox`; `signal` is woken by commits that
    /// recorded deliveries.
    #[must_use]
    pub fn new(
        outbox: O,
        endpoints: Vec<Endpoint>,
        settings: DeliverySettings,
        stats: Arc<WebhookStats>,
        signal: Arc<Notify>,
    ) -> Self {
        let https = endpoints.iter().any(|endpoint| endpoint.target.tls);
        let urls = endpoints.iter().map(|endpoint| endpoint.url.clone()).collect();
        let endpoints = endpoints
            .into_iter()
            .map(|endpoint| {
                let label = endpoint.target.label();
                (endpoint.url.clone(), Known { endpoint, label, disabled_logged: AtomicBool::new(false) })
            })
            .collect();
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let owner: Arc<str> = format!("{}-{:016x}", std::process::id(), u64::from_le_bytes(id)).into();
        Self {
            outbox,
            endpoints: Arc::new(endpoints),
            urls: Arc::new(urls),
            settings,
            stats,
            owner,
            signal,
            client: Client::new(https),
        }
    }

    /// Delivers until `stop` turns true. Leases still held then expire and are taken over.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        if let Some(problem) = self.client.tls_problem() {
            tracing::warn!(problem, "https webhook endpoints cannot be reached");
        }
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let (settled, outcomes) = mpsc::unbounded_channel();
        let settler =
            tokio::spawn(settle_loop(self.outbox.clone(), Arc::clone(&self.owner), outcomes, Arc::clone(&self.signal)));
        let mut last_backlog = std::time::Instant::now() - Duration::from_secs(60);
        let mut failing = false;
        let mut gather_until = std::time::Instant::now();
        while !*stop.borrow() {
            if last_backlog.elapsed() >= Duration::from_secs(1) {
                self.count_backlog().await;
                last_backlog = std::time::Instant::now();
            }
            let free = permits.available_permits().min(BATCH);
            if free == 0 {
                // Every slot is busy: wait until outcomes are recorded (the settler signals), so
                // that the next lease fills every slot freed by then and finds those queues'
                // next events, rather than leasing once per freed slot.
                wait(&self.signal, self.settings.poll, &mut stop).await;
                continue;
            }
            if let Some(wait) = gather_until.checked_duration_since(std::time::Instant::now()) {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {},
                    _ = stop.changed() => continue,
                }
            }
            let leased_at = std::time::Instant::now();
            let at = now();
            let lease = Lease {
                now: at,
                until: after(at, self.settings.lease()),
                queues: u32::try_from(free).unwrap_or(1),
                run: RUN,
            };
            match self.outbox.lease(&self.urls, &self.owner, lease).await {
                Ok(leased) if !leased.is_empty() => {
                    failing = false;
                    let runs = runs(leased);
                    let exhausted = runs.len() < free;
                    let last_start = leased_at + self.settings.last_start();
                    for run in runs {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
                        let attempt = Attempt {
                            endpoints: Arc::clone(&self.endpoints),
                            settings: self.settings,
                            stats: Arc::clone(&self.stats),
                            client: self.client.clone(),
                        };
                        let settled = settled.clone();
                        tokio::spawn(async move {
                            let outcomes = attempt.send_run(run, last_start).await;
                            drop(permit);
                            let _ = settled.send(outcomes);
                        });
                    }
                    // The free heads were all leased: lease again once outcomes are recorded
                    // or new deliveries committed, and not before more may have gathered (a
                    // full lease goes round again at once).
                    if exhausted {
                        gather_until = leased_at + GATHER;
                        wait(&self.signal, self.settings.poll, &mut stop).await;
                    }
                }
                Ok(_) => {
                    failing = false;
                    gather_until = leased_at + GATHER;
                    wait(&self.signal, self.settings.poll, &mut stop).await;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot lease webhook deliveries; trying again");
                        failing = true;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {},
                        _ = stop.changed() => {},
                    }
                }
            }
        }
        drop(settled);
        // Let the outcomes already known be recorded (what is not is sent again later).
        let _ = tokio::time::timeout(self.settings.timeout, settler).await;
    }

    async fn count_backlog(&self) {
        if let Ok(status) = self.outbox.status().await {
            for known in self.endpoints.values() {
                let pending = status.iter().find(|s| s.endpoint == known.endpoint.url).map_or(0, |s| s.pending);
                self.stats.backlog(&known.label, pending);
            }
        }
    }
}

/// Until `signal` (outcomes recorded, deliveries committed), `poll` or `stop`.
async fn wait(signal: &Notify, poll: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = signal.notified() => {},
        () = tokio::time::sleep(poll) => {},
        _ = stop.changed() => {},
    }
}

/// What one delivery task needs.
struct Attempt {
    endpoints: Arc<HashMap<String, Known>>,
    settings: DeliverySettings,
    stats: Arc<WebhookStats>,
    client: Client,
}

impl Attempt {
    /// Sends a run in order until one is not delivered or it is `last_start`; what was not
    /// attempted is not named in the answer (it stays pending, leased again later).
    async fn send_run(&self, run: Vec<Delivery>, last_start: std::time::Instant) -> Settled {
        let mut outcomes = Vec::with_capacity(run.len());
        for delivery in run {
            if !outcomes.is_empty() && std::time::Instant::now() >= last_start {
                break;
            }
            let outcome = self.send(&delivery).await;
            outcomes.push((delivery, outcome));
            if outcome != Outcome::Delivered {
                break;
            }
        }
        outcomes
    }

    async fn send(&self, delivery: &Delivery) -> Outcome {
        let Some(known) = self.endpoints.get(&delivery.endpoint) else {
            // Leases only name configured endpoints; keep it for when it is configured again.
            return Outcome::Retry { at: after(now(), self.settings.max_retry), status: 0 };
        };
        let id = event_id(&delivery.user_id, delivery.sequence);
        let body = body(delivery);
        let timestamp = now().unix_micros().div_euclid(1_000_000);
        let headers = [
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature_header(&known.endpoint.secrets, &id, timestamp, &body)),
        ];
        let answer =
            tokio::time::timeout(self.settings.timeout, self.client.post(&known.endpoint.target, &headers, body)).await;
        let status = match answer {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => {
                tracing::debug!(endpoint = %known.label, webhook_id = %id, %error, "webhook attempt failed");
                0
            }
            Err(_) => {
                tracing::debug!(endpoint = %known.label, webhook_id = %id, "webhook attempt timed out");
                0
            }
        };
        let at = now();
        if (200..300).contains(&status) {
            self.stats.attempt(Counted::Delivered, &known.label, status);
            let lag = u64::try_from(at.unix_micros() - delivery.enqueued_at.unix_micros()).unwrap_or(0);
            self.stats.lag(&known.label, Duration::from_micros(lag).as_secs_f64());
            return Outcome::Delivered;
        }
        if status == 410 {
            self.stats.attempt(Counted::Disabled, &known.label, status);
            if !known.disabled_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(endpoint = %known.label, "the webhook endpoint answered 410 Gone: it is disabled");
            }
            return Outcome::Gone;
        }
        let next = after(at, self.settings.backoff(delivery.attempts + 1, jitter()));
        if next > after(delivery.enqueued_at, self.settings.max_age) {
            self.stats.attempt(Counted::Failed, &known.label, status);
            tracing::warn!(endpoint = %known.label, webhook_id = %id, status, attempts = delivery.attempts + 1, "a webhook delivery is parked as failed");
            return Outcome::Parked { status };
        }
        self.stats.attempt(Counted::Retried, &known.label, status);
        Outcome::Retry { at: next, status }
    }
}

/// Records outcomes in batches of whole runs; a failure to record leaves the leases to
/// expire, so the deliveries are made again (at least once).
async fn settle_loop<O: Outbox>(
    outbox: O,
    owner: Arc<str>,
    mut outcomes: mpsc::UnboundedReceiver<Settled>,
    signal: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = outcomes.recv().await {
        batch.extend(first);
        while batch.len() < BATCH {
            match outcomes.try_recv() {
                Ok(next) => batch.extend(next),
                Err(_) => break,
            }
        }
        let mut tries = 0;
        loop {
            match outbox.settle(&owner, &batch, now()).await {
                Ok(()) => break,
                Err(error) if tries < 3 => {
                    tries += 1;
                    tracing::debug!(%error, "cannot record webhook outcomes; trying again");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(error) => {
                    tracing::warn!(%error, deliveries = batch.len(), "cannot record webhook outcomes: they will be sent again");
                    break;
                }
            }
        }
        batch.clear();
        // The queues of these deliveries may have their next one ready.
        signal.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all() {
        let settings = DeliverySettings {
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(3600),
            max_age: Duration::from_secs(72 * 3600),
            concurrency: 1,
            poll: Duration::from_secs(1),
        };
        let table = [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (10, 2560.0), (11, 3600.0), (100, 3600.0)];
        for (attempt, full) in table {
            assert_eq!(settings.backoff(attempt, 1.0), Duration::from_secs_f64(full), "attempt {attempt}");
            assert_eq!(settings.backoff(attempt, 0.5), Duration::from_secs_f64(full / 2.0), "attempt {attempt}");
            assert_eq!(settings.backoff(attempt, 0.0), Duration::from_secs_f64(full / 2.0), "clamped {attempt}");
        }
        for _ in 0..100 {
            let factor = jitter();
            assert!((0.5..=1.0).contains(&factor), "{factor}");
        }
    }
}
