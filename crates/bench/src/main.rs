//! `persona-bench`: throughput, latency and memory of `UpdateHumanProfile` over REST/JSON, gRPC,
//! gRPC-Web and Connect (JSON) against the storage limit, and how the cost grows with users and
//! history.
//!
//! ```sh
//! cargo run --release -p persona-bench -- [--quick] [--lookups] [--webhooks]
//! ```
//!
//! It builds the release `persona` binary with cargo, runs it on a fresh SQLite database and,
//! when `PERSONA_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database created beside the
//! one that URL names, prints a table and writes `target/bench/summary.json`. Any failed
//! request fails the run (exit code 1). `--lookups` measures only the `list_users` lookups at
//! the large user count, without building or starting the server; `--webhooks` only the webhook
//! rows (throughput with one endpoint against without, delivery lag). See BENCHMARKS.md.

/// Progress on stderr, with the seconds since the bench started.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("bench [{:7.1} s] {}", $crate::started().elapsed().as_secs_f64(), format!($($arg)*))
    };
}

mod histogram;
mod load;
mod lookup;
mod report;
mod seed;
mod server;
mod webhook;

use load::{Protocol, Slot, Target, Timing};
use persona_domain::{Service, ServiceConfig};
use persona_storage::{Backend, OsRandom, SeaOrmStore, StorageConfig, SystemClock};
use report::{BackendReport, Row};
use sea_orm::ConnectionTrait;
use server::{Server, Setup};
use std::fmt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// When the bench started.
fn started() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// Why the bench stopped.
#[derive(Debug)]
pub struct BenchError(String);

impl BenchError {
    /// An error with this text.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

/// How big and how long.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// `--quick`.
    pub quick: bool,
    /// Each run's timing.
    pub timing: Timing,
    /// Users in the database for the main runs (and the small side of the growth pair).
    pub users: usize,
    /// Users for the large side of the growth pair.
    pub many_users: usize,
    /// Earlier events of the history user.
    pub history: usize,
    /// `list_users` lookups measured per kind, with `many_users` in the database.
    pub lookups: usize,
    /// `--webhooks`: only the webhook rows.
    pub webhooks_only: bool,
}

/// Concurrency levels of every protocol.
pub const CONCURRENCY: [usize; 3] = [1, 8, 64];

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                timing: Timing { warmup: Duration::from_millis(200), measure: Duration::from_millis(800) },
                users: 1_000,
                many_users: 10_000,
                history: 1_000,
                lookups: 200,
                webhooks_only: false,
            }
        } else {
            Self {
                quick,
                timing: Timing { warmup: Duration::from_secs(1), measure: Duration::from_secs(8) },
                users: 1_000,
                many_users: 100_000,
                history: 10_000,
                lookups: 5_000,
                webhooks_only: false,
            }
        }
    }
}

fn main() -> ExitCode {
    started();
    const USAGE: &str =
        "usage: cargo run --release -p persona-bench -- [--quick] [--lookups] [--webhooks] [--seconds N]";
    let mut quick = false;
    let mut lookups_only = false;
    let mut webhooks_only = false;
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--lookups" => lookups_only = true,
            "--webhooks" => webhooks_only = true,
            "--seconds" => match args.next().and_then(|n| n.parse::<f64>().ok()).filter(|n| *n > 0.0 && *n < 3600.0) {
                Some(n) => seconds = Some(Duration::from_secs_f64(n)),
                None => {
                    eprintln!("persona-bench: --seconds needs a number of seconds\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!(
                    "{USAGE}\n  --quick      short runs and smaller growth sets (the CI smoke test)\n  --lookups    only the list_users lookups (no server)\n  --webhooks   only the webhook rows (with one endpoint against without, delivery lag)\n  --seconds N  recorded seconds per run (default 8; 0.8 with --quick)"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("persona-bench: unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("persona-bench: build me with --release (cargo run --release -p persona-bench)");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("persona-bench: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut plan = Plan::new(quick);
    plan.webhooks_only = webhooks_only;
    if let Some(seconds) = seconds {
        plan.timing.measure = seconds;
    }
    let run = if lookups_only { runtime.block_on(lookups(plan)) } else { runtime.block_on(bench(plan)) };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("persona-bench: FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(plan: Plan) -> Result<(), BenchError> {
    let binary = server::build_persona()?;
    let summary_dir = binary
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("bench"))
        .ok_or_else(|| BenchError::new("no target directory"))?;
    let mut reports = Vec::new();
    reports.push(bench_backend(&plan, &binary, Db::Sqlite).await?);
    match std::env::var("PERSONA_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) {
        Some(url) => {
            let database = format!("persona_bench_{}", std::process::id());
            let (admin, created) = create_database(&url, &database).await?;
            let result = bench_backend(&plan, &binary, Db::Postgres(created)).await;
            drop_database(&admin, &database).await;
            reports.push(result?);
        }
        None => say!("PERSONA_TEST_DATABASE_URL is not set: PostgreSQL skipped"),
    }
    report::print(&plan, &reports);
    let path = report::write_summary(&summary_dir, &reports)?;
    println!("\nsummary: {}", path.display());
    Ok(())
}

/// Only the `list_users` lookups, on fresh databases seeded through the store (no server, so
/// no admin either: the seeded users' editor and org are made up).
async fn lookups(plan: Plan) -> Result<(), BenchError> {
    let admin = seed::Admin {
        authorization: String::new(),
        id: persona_domain::ids::UserId::new("bench-admin".to_owned()),
        org: persona_domain::ids::OrgId::new("bench-org".to_owned()),
    };
    let measure = async |name: &'static str, url: &str| -> Result<Vec<lookup::Lookup>, BenchError> {
        let store = open_store(url).await?;
        say!("{name}: seeding {} users", plan.many_users);
        seed::users(&store, &admin, 0, plan.many_users).await?;
        say!("{name}: {} lookups of each kind", plan.lookups);
        lookup::run(&store, &admin.org, plan.many_users, plan.lookups).await
    };
    let dir = WorkDir::new("lookups")?;
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
    let mut results = vec![("sqlite", measure("sqlite", &sqlite).await?)];
    match std::env::var("PERSONA_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) {
        Some(url) => {
            let database = format!("persona_bench_{}", std::process::id());
            let (admin_db, created) = create_database(&url, &database).await?;
            let result = measure("postgres", &created).await;
            drop_database(&admin_db, &database).await;
            results.push(("postgres", result?));
        }
        None => say!("PERSONA_TEST_DATABASE_URL is not set: PostgreSQL skipped"),
    }
    for (name, lookups) in &results {
        println!("\n== {name} ==");
        report::print_lookups(lookups);
    }
    Ok(())
}

/// A fresh directory for one backend's server files, removed when dropped.
struct WorkDir(std::path::PathBuf);

impl WorkDir {
    fn new(name: &str) -> Result<Self, BenchError> {
        let path = std::env::temp_dir().join(format!("persona-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| BenchError::new(format!("{}: {e}", path.display())))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum Db {
    Sqlite,
    Postgres(String),
}

/// The URL with its database name replaced.
fn with_database(url: &str, database: &str) -> Result<String, BenchError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| BenchError::new("odd PostgreSQL URL"))?;
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(a, q)| (a, Some(q)));
    let authority = before_query.split('/').next().unwrap_or(before_query);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

/// Creates a fresh database next to the one `url` names; returns an admin connection and its URL.
async fn create_database(url: &str, database: &str) -> Result<(sea_orm::DatabaseConnection, String), BenchError> {
    let admin = sea_orm::Database::connect(url)
        .await
        .map_err(|e| BenchError::new(format!("PostgreSQL at {}: {e}", persona_storage::redact_url(url))))?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {database}"))
        .await
        .map_err(|e| BenchError::new(format!("drop old bench database: {e}")))?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {database}"))
        .await
        .map_err(|e| BenchError::new(format!("create bench database: {e}")))?;
    Ok((admin, with_database(url, database)?))
}

async fn drop_database(admin: &sea_orm::DatabaseConnection, database: &str) {
    if let Err(error) = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await {
        say!("could not drop {database}: {error}");
    }
}

/// A store like the server's (same defaults) on `url`.
async fn open_store(url: &str) -> Result<SeaOrmStore, BenchError> {
    SeaOrmStore::connect(&StorageConfig::new(url)).await.map_err(|e| BenchError::new(format!("open store: {e}")))
}

fn slots(from: usize, to: usize) -> Vec<Slot> {
    (from..to).map(|n| Slot { id: seed::user_id(n), sequence: 1, next_b: false }).collect()
}

async fn bench_backend(plan: &Plan, binary: &Path, db: Db) -> Result<BackendReport, BenchError> {
    let name = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres(_) => "postgres",
    };
    let dir = WorkDir::new(name)?;
    let url = match db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display()),
        Db::Postgres(url) => url,
    };
    say!("{name}: first start (set-up)");
    let setup = Setup { binary, url: &url, dir: dir.path(), config: None };
    let (first, _) = Server::start(&setup).await?;
    first.stop().await?;
    let token = std::fs::read_to_string(setup.pat_path())
        .map_err(|e| BenchError::new(format!("admin token: {e}")))?
        .trim()
        .to_owned();

    let max_c = CONCURRENCY.iter().copied().max().unwrap_or(1);
    let mut report = BackendReport::new(name);
    let store = open_store(&url).await?;
    let backend = store.backend();
    let admin = seed::Admin::of(&store, &token).await?;
    report.note = match backend {
        Backend::Sqlite => "SQLite WAL, synchronous=FULL".to_owned(),
        Backend::Postgres => "PostgreSQL, synchronous_commit=on".to_owned(),
    };
    report.sizes = (plan.users, plan.many_users, plan.history);
    let mut users = slots(0, max_c);
    let authorization = admin.authorization.clone();
    if plan.webhooks_only {
        say!("{name}: seeding {} users", plan.users);
        seed::users(&store, &admin, 0, plan.users).await?;
        drop(store);
        say!("{name}: webhooks: {} c={max_c} without and with one endpoint", Protocol::Grpc.name());
        report.webhooks = Some(webhook::rows(plan, &setup, &authorization, &mut users, max_c).await?);
        return Ok(report);
    }
    say!("{name}: seeding {} users and a {}-event history", plan.users, plan.history);
    seed::users(&store, &admin, 0, plan.users).await?;
    seed::history(&store, &admin, "bench-history", plan.history).await?;
    seed::history(&store, &admin, "bench-fresh", 0).await?;
    say!("{name}: seeded");

    // The storage limit: the same update transactions through the application service.
    {
        let random = OsRandom::new().map_err(|e| BenchError::new(e.to_string()))?;
        let service = Service::new(store.clone(), Arc::new(SystemClock), Arc::new(random), ServiceConfig::default());
        let target = Target::Storage(service);
        for c in CONCURRENCY {
            say!("{name}: storage c={c}");
            let cpu = server::cpu_seconds_of("self")?;
            let result = load::run(&target, Protocol::Storage, &authorization, &mut users, c, plan.timing).await?;
            let cpu = server::cpu_seconds_of("self")? - cpu;
            report.rows.push(Row::new(Protocol::Storage, c, &result, cpu, None));
        }
    }
    drop(store);
    tokio::time::sleep(Duration::from_millis(300)).await;

    say!("{name}: start on the existing database");
    let (mut server, ready) = Server::start(&setup).await?;
    report.startup_ms = ready.as_secs_f64() * 1000.0;
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.idle_rss_mb = server.rss_mb()?;
    let target = Target::Server(server.address.clone());
    let scim = Target::Scim { address: server.address.clone(), org: admin.org.as_str().to_owned() };
    let protocols =
        [Protocol::Rest, Protocol::Grpc, Protocol::GrpcWeb, Protocol::Connect, Protocol::GrpcV2, Protocol::ScimPatch];
    for protocol in protocols {
        let target = if protocol == Protocol::ScimPatch { &scim } else { &target };
        for c in CONCURRENCY {
            say!("{name}: {} c={c}", protocol.name());
            server.reset_peak();
            let cpu = server.cpu_seconds()?;
            let result = load::run(target, protocol, &authorization, &mut users, c, plan.timing).await;
            server.check_alive()?;
            let result = result?;
            let cpu = server.cpu_seconds()? - cpu;
            let peak = server.peak_rss_mb()?;
            report.peak_rss_mb = report.peak_rss_mb.max(peak);
            report.rows.push(Row::new(protocol, c, &result, cpu, Some(peak)));
        }
    }

    // History: one user with a long history against a fresh one, one at a time.
    say!("{name}: history ({} events vs fresh)", plan.history);
    let mut fresh = vec![Slot { id: "bench-fresh".to_owned(), sequence: 1, next_b: false }];
    let mut long = vec![Slot { id: "bench-history".to_owned(), sequence: 1 + plan.history as u64, next_b: false }];
    // Alternated in four parts each, so that a disturbance (another process, autovacuum) hits
    // both sides alike.
    let part = Timing { warmup: plan.timing.warmup / 4, measure: plan.timing.measure / 4 };
    let (mut fresh_run, mut long_run) = (None, None);
    for _ in 0..4 {
        let a = load::run(&target, Protocol::Grpc, &authorization, &mut fresh, 1, part).await?;
        let b = load::run(&target, Protocol::Grpc, &authorization, &mut long, 1, part).await?;
        load::merge(&mut fresh_run, a);
        load::merge(&mut long_run, b);
    }
    let (Some(fresh_run), Some(long_run)) = (fresh_run, long_run) else {
        return Err(BenchError::new("no history runs"));
    };
    report.growth.push(report::Growth::new("history", "grpc", 1, &fresh_run, &long_run));

    // Users: the same gRPC load with few and with many users in the database.
    say!("{name}: growth ({} vs {} users)", plan.users, plan.many_users);
    let small = load::run(&target, Protocol::Grpc, &authorization, &mut users, max_c, plan.timing).await?;
    server.check_alive()?;
    server.stop().await?;

    // Webhooks: the same gRPC load without and with one endpoint, and the delivery lag.
    say!("{name}: webhooks: {} c={max_c} without and with one endpoint", Protocol::Grpc.name());
    report.webhooks = Some(webhook::rows(plan, &setup, &authorization, &mut users, max_c).await?);
    {
        let store = open_store(&url).await?;
        say!("{name}: seeding up to {} users", plan.many_users);
        seed::users(&store, &admin, plan.users, plan.many_users).await?;
        say!("{name}: seeded; {} list_users lookups of each kind", plan.lookups);
        report.lookups = lookup::run(&store, &admin.org, plan.many_users, plan.lookups).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut server, _) = Server::start(&setup).await?;
    let target = Target::Server(server.address.clone());
    let large = load::run(&target, Protocol::Grpc, &authorization, &mut users, max_c, plan.timing).await;
    server.check_alive()?;
    let large = large?;
    server.stop().await?;
    report.growth.push(report::Growth::new("users", "grpc", max_c, &small, &large));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/persona_ci", "b").ok().as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/b")
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "b").ok().as_deref(),
            Some("postgres://h/b?sslmode=disable")
        );
        assert_eq!(with_database("postgresql://u:p@h", "b").ok().as_deref(), Some("postgresql://u:p@h/b"));
    }
}
