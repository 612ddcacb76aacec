//! The table, the targets of issue 6 checked against it, and `target/bench/summary.json`.

use crate::load::{Protocol, RunResult};
use crate::lookup::Lookup;
use crate::webhook::{KEEPS_UP_WITHIN, WebhookReport};
use crate::{BenchError, CONCURRENCY, Plan};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// One run's line of the table.
pub struct Row {
    /// What was driven.
    pub protocol: Protocol,
    /// Workers.
    pub concurrency: usize,
    /// Updates per second.
    pub rps: f64,
    /// Latency quantiles and maximum, ms.
    pub p50: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Slowest, ms.
    pub max: f64,
    /// Failed requests.
    pub errors: u64,
    /// Updates in the recorded window.
    pub count: u64,
    /// CPU seconds of the server (or of the bench process for storage runs) during the run.
    pub cpu: f64,
    /// Peak RSS of the server during the run, MiB.
    pub peak_rss: Option<f64>,
}

impl Row {
    /// A row from a run.
    pub fn new(protocol: Protocol, concurrency: usize, result: &RunResult, cpu: f64, peak_rss: Option<f64>) -> Self {
        Self {
            protocol,
            concurrency,
            rps: result.rps,
            p50: result.ms(0.5),
            p90: result.ms(0.9),
            p99: result.ms(0.99),
            max: result.max_ms(),
            errors: result.errors,
            count: result.count,
            cpu,
            peak_rss,
        }
    }
}

/// A pair of runs whose ratio shows how cost grows.
pub struct Growth {
    /// `users` or `history`.
    pub what: &'static str,
    /// Protocol used.
    pub protocol: &'static str,
    /// Workers.
    pub concurrency: usize,
    /// Throughput of the small side.
    pub base_rps: f64,
    /// Throughput of the large side.
    pub grown_rps: f64,
    /// p99 of both sides, ms.
    pub p99: (f64, f64),
}

impl Growth {
    /// The pair `base` (few users, fresh user) and `grown`.
    pub fn new(
        what: &'static str,
        protocol: &'static str,
        concurrency: usize,
        base: &RunResult,
        grown: &RunResult,
    ) -> Self {
        Self {
            what,
            protocol,
            concurrency,
            base_rps: base.rps,
            grown_rps: grown.rps,
            p99: (base.ms(0.99), grown.ms(0.99)),
        }
    }

    /// Grown throughput over base throughput (1.0: no cost).
    pub fn ratio(&self) -> f64 {
        if self.base_rps > 0.0 { self.grown_rps / self.base_rps } else { 0.0 }
    }
}

/// Everything measured on one backend.
pub struct BackendReport {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// Durability settings, for the table.
    pub note: String,
    /// One row per run.
    pub rows: Vec<Row>,
    /// Growth pairs.
    pub growth: Vec<Growth>,
    /// Highest RSS under load, MiB.
    pub peak_rss_mb: f64,
    /// RSS after start on the existing database, idle, MiB.
    pub idle_rss_mb: f64,
    /// Process start to the first 200 from `/ready`, on the existing database, ms.
    pub startup_ms: f64,
    /// (users, many users, history events).
    pub sizes: (usize, usize, usize),
    /// `list_users` lookups with the many users in the database.
    pub lookups: Vec<Lookup>,
    /// Throughput with one webhook endpoint against without, and the delivery lag.
    pub webhooks: Option<WebhookReport>,
}

impl BackendReport {
    /// An empty report.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            note: String::new(),
            rows: Vec::new(),
            growth: Vec::new(),
            peak_rss_mb: 0.0,
            idle_rss_mb: 0.0,
            startup_ms: 0.0,
            sizes: (0, 0, 0),
            lookups: Vec::new(),
            webhooks: None,
        }
    }

    fn row(&self, protocol: Protocol, concurrency: usize) -> Option<&Row> {
        self.rows.iter().find(|r| r.protocol == protocol && r.concurrency == concurrency)
    }

    fn rps(&self, protocol: Protocol) -> f64 {
        self.row(protocol, CONCURRENCY[2]).map_or(0.0, |r| r.rps)
    }

    fn p99_c8(&self, protocol: Protocol) -> f64 {
        self.row(protocol, CONCURRENCY[1]).map_or(0.0, |r| r.p99)
    }

    fn growth_ratio(&self, what: &str) -> f64 {
        self.growth.iter().find(|g| g.what == what).map_or(0.0, Growth::ratio)
    }

    /// The summary fields of issue 6, and of issue 14 under `webhooks`.
    fn summary(&self) -> Value {
        let mut summary = self.summary_of_rows();
        if let (Some(hooks), Value::Object(fields)) = (&self.webhooks, &mut summary) {
            fields.insert(
                "webhooks".to_owned(),
                json!({
                    "protocol": hooks.protocol,
                    "concurrency": hooks.concurrency,
                    "without_rps": round(hooks.without_rps),
                    "with_rps": round(hooks.with_rps),
                    "ratio": round3(hooks.ratio()),
                    "lag_p50_ms": round2(hooks.lag_ms(0.5)),
                    "lag_p99_ms": round2(hooks.lag_ms(0.99)),
                    "lag_max_ms": round2(hooks.lag_max_ms()),
                    "committed": hooks.committed,
                    "delivered": hooks.delivered,
                    "duplicates": hooks.duplicates,
                    "tail_at_end": hooks.tail,
                    "drain_ms": round2(hooks.drain_ms),
                    "backlog_max": hooks.backlog_max,
                    "backlog_after": hooks.backlog_after,
                    "server_cpu_us_per_update": [round2(hooks.without_cpu.per_update_us().0), round2(hooks.with_cpu.per_update_us().0)],
                    "bench_cpu_us_per_update": [round2(hooks.without_cpu.per_update_us().1), round2(hooks.with_cpu.per_update_us().1)],
                }),
            );
        }
        summary
    }

    fn summary_of_rows(&self) -> Value {
        if self.rows.is_empty() {
            return json!({});
        }
        json!({
            "storage_rps": round(self.rps(Protocol::Storage)),
            "rest_rps": round(self.rps(Protocol::Rest)),
            "grpc_rps": round(self.rps(Protocol::Grpc)),
            "grpcweb_rps": round(self.rps(Protocol::GrpcWeb)),
            "connect_rps": round(self.rps(Protocol::Connect)),
            "grpc_v2_rps": round(self.rps(Protocol::GrpcV2)),
            "scim_patch_rps": round(self.rps(Protocol::ScimPatch)),
            "p99_ms_c8": {
                "rest": round2(self.p99_c8(Protocol::Rest)),
                "grpc": round2(self.p99_c8(Protocol::Grpc)),
                "grpcweb": round2(self.p99_c8(Protocol::GrpcWeb)),
                "connect": round2(self.p99_c8(Protocol::Connect)),
                "grpc_v2": round2(self.p99_c8(Protocol::GrpcV2)),
                "scim_patch": round2(self.p99_c8(Protocol::ScimPatch)),
            },
            "peak_rss_mb": round2(self.peak_rss_mb),
            "idle_rss_mb": round2(self.idle_rss_mb),
            "startup_ms": round2(self.startup_ms),
            "growth_users_ratio": round3(self.growth_ratio("users")),
            "growth_history_ratio": round3(self.growth_ratio("history")),
            "list_users": self.lookups.iter().map(|l| json!({
                "lookup": l.what,
                "users": l.users,
                "p50_ms": round3(l.ms(0.5)),
                "p99_ms": round3(l.ms(0.99)),
            })).collect::<Vec<_>>(),
        })
    }

    /// The targets of issue 14 (webhooks): (target, measured, holds).
    fn webhook_targets(&self) -> Vec<(String, String, bool)> {
        let Some(hooks) = &self.webhooks else { return Vec::new() };
        let ratio = hooks.ratio();
        vec![
            (
                format!("one webhook endpoint costs <= 15 % ({} c={})", hooks.protocol, hooks.concurrency),
                format!("x{ratio:.2}"),
                ratio >= 0.85,
            ),
            (
                format!("deliveries keep up (drained within {} s, backlog 0 after)", KEEPS_UP_WITHIN.as_secs()),
                format!("drained in {:.0} ms, backlog {}", hooks.drain_ms, hooks.backlog_after),
                hooks.keeps_up(),
            ),
        ]
    }

    /// The targets of issue 6 that apply to this backend: (target, measured, holds).
    fn targets(&self) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        if self.rows.is_empty() {
            return out;
        }
        let storage = self.rps(Protocol::Storage);
        let (rest, grpc) = (self.rps(Protocol::Rest), self.rps(Protocol::Grpc));
        if self.name == "sqlite" {
            let share = |rps: f64| if storage > 0.0 { rps / storage } else { 0.0 };
            out.push(("gRPC >= 0.6 x storage (c=64)".to_owned(), format!("{:.2} x", share(grpc)), share(grpc) >= 0.6));
            out.push(("REST >= 0.5 x storage (c=64)".to_owned(), format!("{:.2} x", share(rest)), share(rest) >= 0.5));
            out.push(("gRPC >= 5,000 updates/s".to_owned(), format!("{grpc:.0}/s"), grpc >= 5000.0));
            out.push(("REST >= 4,000 updates/s".to_owned(), format!("{rest:.0}/s"), rest >= 4000.0));
            for (label, protocol) in
                [("REST", Protocol::Rest), ("gRPC", Protocol::Grpc), ("gRPC-Web", Protocol::GrpcWeb)]
            {
                let p99 = self.p99_c8(protocol);
                out.push((format!("{label} p99 at c=8 <= 10 ms"), format!("{p99:.2} ms"), p99 <= 10.0));
            }
        } else {
            out.push(("gRPC >= 2,000 updates/s".to_owned(), format!("{grpc:.0}/s"), grpc >= 2000.0));
        }
        out.push((
            "peak RSS under load <= 64 MB".to_owned(),
            format!("{:.1} MB", self.peak_rss_mb),
            self.peak_rss_mb <= 64.0,
        ));
        out.push(("idle RSS <= 25 MB".to_owned(), format!("{:.1} MB", self.idle_rss_mb), self.idle_rss_mb <= 25.0));
        out.push((
            "ready <= 300 ms (existing database)".to_owned(),
            format!("{:.0} ms", self.startup_ms),
            self.startup_ms <= 300.0,
        ));
        for growth in &self.growth {
            let label = match growth.what {
                "users" => format!("{} vs {} users costs <= 20 %", self.sizes.1, self.sizes.0),
                _ => format!("{}-event history costs <= 20 %", self.sizes.2),
            };
            let ratio = growth.ratio();
            out.push((label, format!("x{ratio:.2}"), ratio >= 0.8));
        }
        out
    }
}

fn round(value: f64) -> f64 {
    value.round()
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Prints the table and the targets.
pub fn print(plan: &Plan, reports: &[BackendReport]) {
    let mode = if plan.quick { "--quick (smoke test: short runs, smaller growth)" } else { "full" };
    println!();
    println!(
        "persona-bench, {mode}: {:.1} s recorded per run after {:.1} s warm-up; UpdateHumanProfile, every call a real change",
        plan.timing.measure.as_secs_f64(),
        plan.timing.warmup.as_secs_f64()
    );
    for report in reports {
        println!();
        println!("== {} ({}) ==", report.name, report.note);
        if plan.webhooks_only {
            print_webhooks(report);
            continue;
        }
        println!(
            "{:<8} {:>4} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>7} {:>9}",
            "target", "c", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "updates", "cpu s", "peak MB"
        );
        for row in &report.rows {
            println!(
                "{:<8} {:>4} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>8} {:>7.2} {:>9}",
                row.protocol.name(),
                row.concurrency,
                row.rps,
                row.p50,
                row.p90,
                row.p99,
                row.max,
                row.errors,
                row.count,
                row.cpu,
                row.peak_rss.map_or_else(|| "-".to_owned(), |mb| format!("{mb:.1}")),
            );
        }
        println!("(cpu s: the server's CPU seconds during the run; for storage rows, the bench process's own)");
        println!(
            "startup to ready (existing database): {:.0} ms; idle RSS {:.1} MB; peak RSS under load {:.1} MB",
            report.startup_ms, report.idle_rss_mb, report.peak_rss_mb
        );
        for growth in &report.growth {
            let (base, grown) = match growth.what {
                "users" => (format!("{} users", report.sizes.0), format!("{} users", report.sizes.1)),
                _ => ("fresh user".to_owned(), format!("{}-event history", report.sizes.2)),
            };
            println!(
                "growth {:<8} {} c={}: {base} {:.0}/s (p99 {:.2} ms) vs {grown} {:.0}/s (p99 {:.2} ms): ratio {:.2}",
                growth.what,
                growth.protocol,
                growth.concurrency,
                growth.base_rps,
                growth.p99.0,
                growth.grown_rps,
                growth.p99.1,
                growth.ratio()
            );
        }
        print_lookups(&report.lookups);
        print_webhooks(report);
        println!("targets (issue 6):");
        for (target, measured, holds) in report.targets() {
            println!("  [{}] {target}: {measured}", if holds { "holds" } else { "MISSED" });
        }
    }
}

/// Prints the webhook lines and their targets.
fn print_webhooks(report: &BackendReport) {
    let Some(hooks) = &report.webhooks else { return };
    println!(
        "webhooks {} c={}: without {:.0}/s (p99 {:.2} ms) vs one endpoint {:.0}/s (p99 {:.2} ms): ratio {:.2}",
        hooks.protocol,
        hooks.concurrency,
        hooks.without_rps,
        hooks.without_p99,
        hooks.with_rps,
        hooks.with_p99,
        hooks.ratio()
    );
    println!(
        "webhook lag commit -> receiver: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} committed, {} delivered, {} duplicates",
        hooks.lag_ms(0.5),
        hooks.lag_ms(0.99),
        hooks.lag_max_ms(),
        hooks.committed,
        hooks.delivered,
        hooks.duplicates
    );
    println!(
        "webhook backlog: at most {} pending during the load (/metrics), {} not yet received when the load stopped, drained {:.0} ms later, {} pending after",
        hooks.backlog_max, hooks.tail, hooks.drain_ms, hooks.backlog_after
    );
    let (without_server, without_bench) = hooks.without_cpu.per_update_us();
    let (with_server, with_bench) = hooks.with_cpu.per_update_us();
    println!(
        "webhook cpu per update: server {without_server:.0} -> {with_server:.0} us, bench (load and receiver) {without_bench:.0} -> {with_bench:.0} us"
    );
    println!("targets (issue 14):");
    for (target, measured, holds) in report.webhook_targets() {
        println!("  [{}] {target}: {measured}", if holds { "holds" } else { "MISSED" });
    }
}

/// Prints the `list_users` lookup lines.
pub fn print_lookups(lookups: &[Lookup]) {
    for l in lookups {
        println!(
            "list_users by {:<22} with {} users, c=1: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} lookups)",
            l.what,
            l.users,
            l.ms(0.5),
            l.ms(0.99),
            l.max_ms(),
            l.count
        );
    }
}

/// Writes `summary.json` into `dir` and returns its path.
pub fn write_summary(dir: &Path, reports: &[BackendReport]) -> Result<PathBuf, BenchError> {
    let mut all = Map::new();
    for report in reports {
        all.insert(report.name.to_owned(), report.summary());
    }
    std::fs::create_dir_all(dir).map_err(|e| BenchError::new(format!("{}: {e}", dir.display())))?;
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&Value::Object(all)).map_err(|e| BenchError::new(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| BenchError::new(format!("{}: {e}", path.display())))?;
    Ok(path)
}
