//! `GET /metrics`: counters and histograms kept with atomics and a small map, written in the
//! Prometheus text format (version 0.0.4) on request.
//!
//! Label values are bounded: `rpc` is a known RPC, route or probe name (anything else is
//! `unmatched`), `code` is an HTTP status (REST) or a gRPC status number (gRPC, gRPC-Web).
//!
//! The up/down gauges (requests in flight, open connections) can only be raised through
//! [`Metrics::hold`], whose [`Held`] guard lowers them again when it is dropped. However a
//! request or connection ends (answered, cancelled by an HTTP/2 `RST_STREAM`, its connection
//! closed, its task aborted), its unit is given back: the gauges cannot leak.
//! The storage numbers (commit queue, batches, commit latency, pools) come from
//! [`StorageStats`], read on each scrape.

use persona_storage::{HistogramSnapshot, StorageStats};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The labels of one request series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    protocol: &'static str,
    rpc: String,
    code: String,
}

/// Count, sum and buckets of one series.
#[derive(Debug, Clone, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Everything `/metrics` shows, shared by the request middleware and the listener.
#[derive(Debug)]
pub struct Metrics {
    series: Mutex<BTreeMap<SeriesKey, Series>>,
    in_flight: AtomicI64,
    shed: AtomicU64,
    timed_out: AtomicU64,
    connections_open: AtomicI64,
    connections_refused: AtomicU64,
    connections_cut: [AtomicU64; Cut::ALL.len()],
    started: SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            series: Mutex::new(BTreeMap::new()),
            in_flight: AtomicI64::new(0),
            shed: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            connections_open: AtomicI64::new(0),
            connections_refused: AtomicU64::new(0),
            connections_cut: [AtomicU64::new(0), AtomicU64::new(0)],
            started: SystemTime::now(),
        }
    }
}

/// The up/down gauges, each held by a [`Held`] guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// `persona_requests_in_flight`: requests between their arrival and the end of their answer.
    RequestsInFlight,
    /// `persona_connections_open`: accepted client connections not yet closed.
    ConnectionsOpen,
}

/// Why Persona closed a client connection early (`persona_connections_cut_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The client stopped in its preface, a frame header or a header block for too long.
    HeaderTimeout,
    /// The client reset most of the HTTP/2 streams it opened, more than the limit allows.
    ResetFlood,
}

impl Cut {
    const ALL: [Self; 2] = [Self::HeaderTimeout, Self::ResetFlood];

    fn label(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::ResetFlood => "reset_flood",
        }
    }
}

/// One unit of a [`Gauge`], given back when dropped.
#[derive(Debug)]
#[must_use = "the gauge goes down again as soon as this is dropped"]
pub struct Held {
    metrics: Arc<Metrics>,
    gauge: Gauge,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.metrics.gauge(self.gauge).fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    fn gauge(&self, gauge: Gauge) -> &AtomicI64 {
        match gauge {
            Gauge::RequestsInFlight => &self.in_flight,
            Gauge::ConnectionsOpen => &self.connections_open,
        }
    }

    /// Raises `gauge` by one until the returned guard is dropped.
    pub fn hold(self: &Arc<Self>, gauge: Gauge) -> Held {
        self.gauge(gauge).fetch_add(1, Ordering::Relaxed);
        Held { metrics: Arc::clone(self), gauge }
    }

    /// A request was answered (or given up) with `code` after `latency`.
    pub fn request_finished(&self, protocol: &'static str, rpc: &str, code: &str, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let key = SeriesKey { protocol, rpc: rpc.to_owned(), code: code.to_owned() };
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = series.entry(key).or_default();
        entry.count += 1;
        entry.sum += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// A request was refused because too many were in progress.
    pub fn request_shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// A request ran out of time.
    pub fn request_timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    /// Client connections open now.
    #[must_use]
    pub fn open_connections(&self) -> usize {
        usize::try_from(self.connections_open.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// A connection was closed at once because the limit was reached.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was closed early, for `reason`.
    pub fn connection_cut(&self, reason: Cut) {
        self.connections_cut[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of everything, plus the storage numbers and readiness.
    #[must_use]
    pub fn render(&self, storage: &StorageStats, ready: bool) -> String {
        let mut out = String::with_capacity(4096);
        let started = self.started.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        header(&mut out, "persona_build_info", "gauge", "Version of the running binary.");
        let _ = writeln!(out, "persona_build_info{{version=\"{}\"}} 1", escape(env!("CARGO_PKG_VERSION")));
        header(&mut out, "persona_process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
        let _ = writeln!(out, "persona_process_start_time_seconds {started}");
        header(&mut out, "persona_ready", "gauge", "1 when the database is reachable and migrated.");
        let _ = writeln!(out, "persona_ready {}", u8::from(ready));

        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner).clone();
        header(&mut out, "persona_requests_total", "counter", "Requests answered, by protocol, RPC and result code.");
        for (key, value) in &series {
            let _ = writeln!(out, "persona_requests_total{{{}}} {}", labels(key), value.count);
        }
        header(&mut out, "persona_request_duration_seconds", "histogram", "Time to answer a request, in seconds.");
        for (key, value) in &series {
            let labels = labels(key);
            for (bound, count) in BUCKETS.iter().zip(value.buckets) {
                let _ = writeln!(out, "persona_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "persona_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", value.count);
            let _ = writeln!(out, "persona_request_duration_seconds_sum{{{labels}}} {}", value.sum);
            let _ = writeln!(out, "persona_request_duration_seconds_count{{{labels}}} {}", value.count);
        }
        header(&mut out, "persona_requests_in_flight", "gauge", "Requests being handled.");
        let _ = writeln!(out, "persona_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        header(&mut out, "persona_requests_shed_total", "counter", "Requests refused because too many were running.");
        let _ = writeln!(out, "persona_requests_shed_total {}", self.shed.load(Ordering::Relaxed));
        header(&mut out, "persona_requests_timed_out_total", "counter", "Requests answered with DeadlineExceeded.");
        let _ = writeln!(out, "persona_requests_timed_out_total {}", self.timed_out.load(Ordering::Relaxed));
        header(&mut out, "persona_connections_open", "gauge", "Open client connections.");
        let _ = writeln!(out, "persona_connections_open {}", self.connections_open.load(Ordering::Relaxed));
        header(&mut out, "persona_connections_refused_total", "counter", "Connections closed at the connection limit.");
        let _ = writeln!(out, "persona_connections_refused_total {}", self.connections_refused.load(Ordering::Relaxed));
        header(
            &mut out,
            "persona_connections_cut_total",
            "counter",
            "Connections closed early for misbehaving, by reason.",
        );
        for reason in Cut::ALL {
            let count = self.connections_cut[reason as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "persona_connections_cut_total{{reason=\"{}\"}} {count}", reason.label());
        }

        render_storage(&mut out, storage);
        out
    }
}

/// The commit queue, batches, commit latency, lost races and the connection pools.
fn render_storage(out: &mut String, storage: &StorageStats) {
    header(out, "persona_commit_queue_depth", "gauge", "Commits waiting for a commit worker.");
    let _ = writeln!(out, "persona_commit_queue_depth {}", storage.queue_depth);
    header(out, "persona_commit_queue_capacity", "gauge", "Commits the queue holds before callers wait.");
    let _ = writeln!(out, "persona_commit_queue_capacity {}", storage.queue_capacity);
    let help = "Commits written per transaction (group commit).";
    histogram(out, "persona_commit_batch_size", help, &storage.batch_size);
    let help = "Time from handing a commit to storage until it is durable or rejected, in seconds.";
    histogram(out, "persona_commit_duration_seconds", help, &storage.commit_seconds);
    let help = "Commits rejected because another writer changed the object first.";
    header(out, "persona_commit_conflicts_total", "counter", help);
    let _ = writeln!(out, "persona_commit_conflicts_total {}", storage.conflicts);
    header(out, "persona_db_pool_connections", "gauge", "Database connections by pool and state.");
    for pool in &storage.pools {
        let name = escape(pool.pool);
        let in_use = pool.open.saturating_sub(pool.idle);
        let _ = writeln!(out, "persona_db_pool_connections{{pool=\"{name}\",state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "persona_db_pool_connections{{pool=\"{name}\",state=\"in_use\"}} {in_use}");
    }
    header(out, "persona_db_pool_max_connections", "gauge", "Size limit of each database pool.");
    for pool in &storage.pools {
        let _ = writeln!(out, "persona_db_pool_max_connections{{pool=\"{}\"}} {}", escape(pool.pool), pool.max);
    }
}

/// One histogram without labels.
fn histogram(out: &mut String, name: &str, help: &str, value: &HistogramSnapshot) {
    header(out, name, "histogram", help);
    for (bound, count) in value.bounds.iter().zip(&value.cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", value.count);
    let _ = writeln!(out, "{name}_sum {}", value.sum);
    let _ = writeln!(out, "{name}_count {}", value.count);
}

/// The webhook series: attempts by result, endpoint (scheme, host, port and path: never
/// credentials or a query) and HTTP status (0: no answer), the backlog, and the lag from commit
/// to delivery.
pub fn render_webhooks(out: &mut String, snapshot: &persona_webhooks::stats::Snapshot) {
    use persona_webhooks::stats::Result as Counted;
    for (result, help) in [
        (Counted::Delivered, "Webhook deliveries answered 2xx, by endpoint and status."),
        (Counted::Retried, "Webhook attempts to be retried (non-2xx, timeout or no connection: code 0)."),
        (Counted::Failed, "Webhook deliveries parked as failed after webhook_delivery.max_age_hours."),
        (Counted::Disabled, "Webhook attempts answered 410 Gone, which disable the endpoint."),
    ] {
        let name = format!("persona_webhook_{}_total", result.name());
        header(out, &name, "counter", help);
        for ((counted, endpoint, code), count) in &snapshot.attempts {
            if *counted == result {
                let _ = writeln!(out, "{name}{{endpoint=\"{}\",code=\"{code}\"}} {count}", escape(endpoint));
            }
        }
    }
    header(out, "persona_webhook_backlog", "gauge", "Webhook deliveries pending, by endpoint.");
    for (endpoint, pending) in &snapshot.backlog {
        let _ = writeln!(out, "persona_webhook_backlog{{endpoint=\"{}\"}} {pending}", escape(endpoint));
    }
    let name = "persona_webhook_lag_seconds";
    header(out, name, "histogram", "Time from commit (or redelivery) to delivery, in seconds.");
    for (endpoint, histogram) in &snapshot.lag {
        let label = format!("endpoint=\"{}\"", escape(endpoint));
        for (bound, count) in persona_webhooks::LAG_BOUNDS.iter().zip(histogram.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{label},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{label},le=\"+Inf\"}} {}", histogram.count);
        let _ = writeln!(out, "{name}_sum{{{label}}} {}", histogram.sum);
        let _ = writeln!(out, "{name}_count{{{label}}} {}", histogram.count);
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn labels(key: &SeriesKey) -> String {
    format!("protocol=\"{}\",rpc=\"{}\",code=\"{}\"", escape(key.protocol), escape(&key.rpc), escape(&key.code))
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_storage::{BATCH_SIZE_BOUNDS, COMMIT_SECONDS_BOUNDS, PoolStats};

    fn storage(pools: Vec<PoolStats>) -> StorageStats {
        let empty = |bounds: &'static [f64]| HistogramSnapshot {
            bounds,
            cumulative: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
        };
        StorageStats {
            queue_depth: 0,
            queue_capacity: 4096,
            batch_size: empty(&BATCH_SIZE_BOUNDS),
            commit_seconds: empty(&COMMIT_SECONDS_BOUNDS),
            conflicts: 0,
            pools,
        }
    }

    #[test]
    fn storage_numbers_become_gauges_histograms_and_counters() {
        let mut stats = storage(vec![
            PoolStats { pool: "read", open: 2, idle: 2, max: 4 },
            PoolStats { pool: "write", open: 1, idle: 0, max: 1 },
        ]);
        stats.queue_depth = 7;
        stats.conflicts = 3;
        stats.batch_size.cumulative = vec![1, 1, 2, 2, 2, 2, 2, 2, 2];
        stats.batch_size.count = 2;
        stats.batch_size.sum = 4.0;
        let text = Metrics::default().render(&stats, true);
        for line in [
            "# TYPE persona_commit_queue_depth gauge",
            "persona_commit_queue_depth 7",
            "persona_commit_queue_capacity 4096",
            "# TYPE persona_commit_batch_size histogram",
            "persona_commit_batch_size_bucket{le=\"1\"} 1",
            "persona_commit_batch_size_bucket{le=\"4\"} 2",
            "persona_commit_batch_size_bucket{le=\"+Inf\"} 2",
            "persona_commit_batch_size_sum 4",
            "persona_commit_batch_size_count 2",
            "# TYPE persona_commit_duration_seconds histogram",
            "persona_commit_duration_seconds_bucket{le=\"0.0005\"} 0",
            "persona_commit_duration_seconds_count 0",
            "# TYPE persona_commit_conflicts_total counter",
            "persona_commit_conflicts_total 3",
            "persona_db_pool_connections{pool=\"write\",state=\"in_use\"} 1",
            "persona_db_pool_connections{pool=\"read\",state=\"idle\"} 2",
            "persona_db_pool_max_connections{pool=\"write\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn requests_become_counters_and_histograms() {
        let metrics = Arc::new(Metrics::default());
        for latency in [Duration::from_millis(3), Duration::from_secs(20)] {
            let _in_flight = metrics.hold(Gauge::RequestsInFlight);
            metrics.request_finished("rest", "UpdateHumanProfile", "200", latency);
        }
        let text = metrics.render(&storage(vec![PoolStats { pool: "read", open: 3, idle: 2, max: 4 }]), true);
        let series = "protocol=\"rest\",rpc=\"UpdateHumanProfile\",code=\"200\"";
        assert!(text.contains(&format!("persona_requests_total{{{series}}} 2")), "{text}");
        assert!(
            text.contains(&format!("persona_request_duration_seconds_bucket{{{series},le=\"0.005\"}} 1")),
            "{text}"
        );
        assert!(text.contains(&format!("persona_request_duration_seconds_bucket{{{series},le=\"+Inf\"}} 2")), "{text}");
        assert!(text.contains("persona_requests_in_flight 0"), "{text}");
        assert!(text.contains("persona_db_pool_connections{pool=\"read\",state=\"in_use\"} 1"), "{text}");
        assert!(text.contains("persona_ready 1"), "{text}");
    }

    #[test]
    fn gauges_go_down_when_their_guards_are_dropped_however_their_owner_ends() {
        let metrics = Arc::new(Metrics::default());
        let text = |metrics: &Metrics| metrics.render(&storage(Vec::new()), true);
        let connection = metrics.hold(Gauge::ConnectionsOpen);
        let requests: Vec<Held> = (0..3).map(|_| metrics.hold(Gauge::RequestsInFlight)).collect();
        assert!(text(&metrics).contains("persona_requests_in_flight 3\n"));
        assert!(text(&metrics).contains("persona_connections_open 1\n"));
        // A future holding a guard, dropped before it ran to the end: a cancelled request.
        let cancelled = {
            let held = metrics.hold(Gauge::RequestsInFlight);
            async move {
                std::future::pending::<()>().await;
                drop(held);
            }
        };
        assert!(text(&metrics).contains("persona_requests_in_flight 4\n"));
        drop(cancelled);
        drop(requests);
        drop(connection);
        assert!(text(&metrics).contains("persona_requests_in_flight 0\n"), "{}", text(&metrics));
        assert!(text(&metrics).contains("persona_connections_open 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
