//! `persona`: serves the profiles of human users over REST/JSON, gRPC and gRPC-Web on one port,
//! wire-compatible with ZITADEL's management API.

mod config;
mod connection;
mod console;
mod frames;
mod listener;
mod metrics;
mod observe;
mod protect;
mod readiness;
mod refusals;
mod serve;
mod telemetry;
mod tls;

use clap::{Args, Parser, Subcommand};
use config::Config;
use metrics::Metrics;
use persona_domain::auth::Role;
use persona_domain::language::LanguagePolicy;
use persona_domain::ports::Clock as _;
use persona_domain::service::InstanceTokenRequest;
use persona_domain::{BootstrapConfig, Service, ServiceConfig};
use persona_storage::{OsRandom, SeaOrmStore, StorageConfig, SystemClock};
use readiness::Readiness;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Persona: user profiles, wire-compatible with ZITADEL's management API.
#[derive(Debug, Parser)]
#[command(name = "persona", version, about, propagate_version = true)]
struct Cli {
    /// A TOML configuration file (also `PERSONA_CONFIG`).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve REST, gRPC and gRPC-Web on one port (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Print the effective configuration as TOML, secrets redacted, and exit.
    Config,
    /// Administration through the database itself, for an operator without a working token.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The webhook outbox, through the database (with the server running or not).
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Per endpoint: deliveries pending, the age of the oldest, deliveries failed, and whether a
    /// 410 disabled it.
    Status,
    /// Enqueue again every event an endpoint receives that was committed since a time, and
    /// enable the endpoint again if a 410 had disabled it.
    Redeliver(RedeliverArgs),
}

#[derive(Debug, Args)]
struct RedeliverArgs {
    /// The endpoint's URL, as configured.
    #[arg(long, value_name = "URL")]
    url: String,
    /// From this commit time on (RFC 3339, e.g. 2024-05-01T12:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    since: persona_domain::time::Timestamp,
}

/// An RFC 3339 time.
fn parse_rfc3339(text: &str) -> Result<persona_domain::time::Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| persona_domain::time::Timestamp::from_unix_micros(time.timestamp_micros()))
        .map_err(|e| format!("not an RFC 3339 time ({e}); write e.g. 2024-05-01T12:00:00Z"))
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a machine user holding an instance role (IAM_OWNER by default) in the default org,
    /// and a new personal access token for it. Needs no server and may run while one serves.
    Token(TokenArgs),
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// User name of the new machine user [default: recovery-<unix time in milliseconds>].
    #[arg(long, value_name = "NAME")]
    user_name: Option<String>,
    /// The instance-wide role it holds: IAM_OWNER, IAM_ORG_MANAGER, IAM_USER_MANAGER or
    /// IAM_OWNER_VIEWER.
    #[arg(long, value_name = "ROLE", default_value = "IAM_OWNER", value_parser = parse_instance_role)]
    role: Role,
    /// Write the token to this new file, mode 0600 [default: <user name>.pat beside
    /// bootstrap.admin_pat_path]. An existing file is never overwritten.
    #[arg(long, value_name = "PATH", conflicts_with = "stdout")]
    out: Option<PathBuf>,
    /// Print the token on standard output instead of writing a file.
    #[arg(long)]
    stdout: bool,
}

/// An instance-wide role by its wire name.
fn parse_instance_role(name: &str) -> Result<Role, String> {
    Role::from_name(name)
        .filter(|role| role.is_instance_role())
        .ok_or_else(|| "expected IAM_OWNER, IAM_ORG_MANAGER, IAM_USER_MANAGER or IAM_OWNER_VIEWER".to_owned())
}

/// Why the binary stopped with an error.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Storage(#[from] persona_storage::StorageError),
    #[error("{0}")]
    Start(String),
}

/// mimalloc rather than the system allocator: under load glibc's malloc, free and their
/// consolidation took about a sixth of the server's CPU (BENCHMARKS.md, issue 14), spread over
/// the request, SQLite and webhook threads alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.clone()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("persona: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Config) {
        return match config.to_redacted_toml() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("persona: cannot print the configuration: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(error) = telemetry::init(&config.log) {
        eprintln!("persona: invalid configuration: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("persona: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(&config).await,
            Command::Admin { command: AdminCommand::Token(args) } => admin_token(&config, args).await,
            Command::Webhooks { command } => webhooks_command(&config, command).await,
            Command::Config => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "persona stopped");
            eprintln!("persona: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The file behind a `sqlite:` URL, unless it is in memory.
fn sqlite_path(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| Path::new(path))
}

async fn connect(config: &Config) -> Result<SeaOrmStore, Failure> {
    if let Some(parent) = sqlite_path(&config.database.url).and_then(Path::parent).filter(|p| !p.as_os_str().is_empty())
    {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| Failure::Start(format!("cannot create {}: {e}", parent.display())))?;
    }
    let webhooks = webhook_endpoints(config)?.iter().map(persona_webhooks::Endpoint::outbox_endpoint).collect();
    let storage = StorageConfig {
        max_connections: config.database.max_connections,
        webhooks,
        ..StorageConfig::new(config.database.url.clone())
    };
    Ok(SeaOrmStore::connect(&storage).await?)
}

/// The configured webhook endpoints (checked when the configuration was loaded).
fn webhook_endpoints(config: &Config) -> Result<Vec<persona_webhooks::Endpoint>, Failure> {
    config
        .webhooks
        .iter()
        .enumerate()
        .map(|(index, webhook)| webhook.endpoint().map_err(|e| Failure::Config(format!("webhooks.{index}: {e}"))))
        .collect()
}

/// `persona webhooks status` and `persona webhooks redeliver`.
async fn webhooks_command(config: &Config, command: WebhooksCommand) -> Result<(), Failure> {
    use persona_domain::webhook::Outbox as _;
    let store = connect(config).await?;
    let endpoints = webhook_endpoints(config)?;
    let outbox = |e: persona_domain::webhook::OutboxError| Failure::Start(e.to_string());
    match command {
        WebhooksCommand::Status => {
            let status = store.status().await.map_err(outbox)?;
            let now = SystemClock.now();
            let mut urls: Vec<String> = endpoints.iter().map(|endpoint| endpoint.url.clone()).collect();
            urls.extend(
                status.iter().map(|s| s.endpoint.clone()).filter(|url| !config.webhooks.iter().any(|w| &w.url == url)),
            );
            println!("{:<48} {:>8} {:>14} {:>8}  disabled", "endpoint", "pending", "oldest_pending", "failed");
            for url in urls {
                let found = status.iter().find(|s| s.endpoint == url);
                let label = persona_webhooks::Target::parse(&url)
                    .map_or_else(|_| persona_storage::redact_url(&url), |t| t.label());
                let configured = if endpoints.iter().any(|e| e.url == url) { "" } else { " (not configured)" };
                let pending = found.map_or(0, |s| s.pending);
                let oldest = found.and_then(|s| s.oldest_pending).map_or_else(
                    || "-".to_owned(),
                    |at| format!("{}s", (now.unix_micros() - at.unix_micros()).max(0) / 1_000_000),
                );
                let failed = found.map_or(0, |s| s.failed);
                let disabled = found
                    .and_then(|s| s.disabled_at)
                    .map_or_else(|| "no".to_owned(), |at| format!("yes (410 at {})", persona_webhooks::rfc3339(at)));
                println!("{:<48} {pending:>8} {oldest:>14} {failed:>8}  {disabled}{configured}", label);
            }
        }
        WebhooksCommand::Redeliver(args) => {
            let endpoint = endpoints.iter().find(|e| e.url == args.url).ok_or_else(|| {
                Failure::Config("--url names no configured webhook endpoint ([[webhooks]] url)".to_owned())
            })?;
            let count = store.redeliver(&endpoint.outbox_endpoint(), args.since).await.map_err(outbox)?;
            println!("enqueued {count} deliveries to {} again", endpoint.target.label());
            tracing::info!(endpoint = %endpoint.target.label(), count, "webhook deliveries enqueued again");
        }
    }
    store.connection().clone().close().await.map_err(|e| Failure::Start(format!("cannot close the database: {e}")))
}

/// Writes a token with mode 0600, creating the directory if needed; with `fresh`, only into a
/// file that does not exist yet.
async fn write_token(path: &Path, token: &str, fresh: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    if fresh {
        options.write(true).create_new(true);
    } else {
        options.write(true).create(true).truncate(true);
    }
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, format!("{token}\n").as_bytes()).await?;
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    file.sync_all().await
}

async fn migrate(config: &Config) -> Result<(), Failure> {
    let store = connect(config).await?;
    tracing::info!(database = %config::redact_database_url(&config.database.url), "migrations applied");
    store.connection().clone().close().await.map_err(|e| Failure::Start(format!("cannot close the database: {e}")))
}

/// `<path>.pending`: where a first start keeps the admin's token until the set-up is known to
/// have landed.
fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pending");
    PathBuf::from(name)
}

/// The first start on an empty database. The admin's token is written (mode 0600) to
/// `<admin_pat_path>.pending` before the set-up is committed and moved to `admin_pat_path` once
/// it is known to have landed, so a crash or a lost acknowledgement can never lose it; a later
/// start finishes the move when the kept token authenticates, and drops it when it does not.
async fn first_start(service: &Service<SeaOrmStore>, config: &Config) -> Result<(), Failure> {
    let path = &config.bootstrap.admin_pat_path;
    let pending = pending_path(path);
    let io = |what: &str, at: &Path, e: std::io::Error| Failure::Start(format!("cannot {what} {}: {e}", at.display()));
    let set_up = |e: persona_domain::Error| Failure::Start(format!("cannot set up the instance: {e}"));
    if let Ok(kept) = tokio::fs::read_to_string(&pending).await {
        if service.token_authenticates(kept.trim()).await.map_err(set_up)? {
            tokio::fs::rename(&pending, path).await.map_err(|e| io("move the admin token to", path, e))?;
            tracing::warn!(path = %path.display(), "an interrupted first start had set the instance up: its admin token is now in the file");
        } else {
            tokio::fs::remove_file(&pending).await.map_err(|e| io("remove", &pending, e))?;
        }
    }
    let Some(prepared) = service.prepare_bootstrap(&bootstrap_config(config)).await.map_err(set_up)? else {
        tracing::debug!("instance already set up");
        return Ok(());
    };
    write_token(&pending, prepared.admin_token(), false)
        .await
        .map_err(|e| io("write the admin token to", &pending, e))?;
    match service.commit_bootstrap(prepared).await {
        Ok(Some(created)) => {
            tokio::fs::rename(&pending, path).await.map_err(|e| io("move the admin token to", path, e))?;
            tracing::info!(org_id = %created.org_id, admin_id = %created.admin_id, path = %path.display(), "first start: created the default org and the admin; its token is in the file");
            Ok(())
        }
        Ok(None) => {
            tracing::debug!("another instance set the instance up first");
            tokio::fs::remove_file(&pending).await.map_err(|e| io("remove", &pending, e))
        }
        Err(error) => Err(Failure::Start(format!(
            "cannot set up the instance: {error}; the admin token it may have created is kept in {} until the next start",
            pending.display()
        ))),
    }
}

/// `persona admin token`: a new machine user with an instance role and its token, written to a
/// new file (or standard output), recorded as events like any other change.
async fn admin_token(config: &Config, args: TokenArgs) -> Result<(), Failure> {
    let user_name = args.user_name.unwrap_or_else(|| {
        let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
        format!("recovery-{millis}")
    });
    let path = args.out.unwrap_or_else(|| {
        let dir = config.bootstrap.admin_pat_path.parent().unwrap_or_else(|| Path::new(""));
        dir.join(format!("{user_name}.pat"))
    });
    if !args.stdout && tokio::fs::try_exists(&path).await.unwrap_or(true) {
        return Err(Failure::Start(format!(
            "{} exists and is never overwritten; choose another file with --out PATH, or use --stdout",
            path.display()
        )));
    }
    let service = domain_service(config, connect(config).await?)?;
    let request = InstanceTokenRequest { user_name: user_name.clone(), role: args.role };
    let issued = service
        .issue_instance_token(&request)
        .await
        .map_err(|e| Failure::Start(format!("cannot create the token: {e}")))?;
    let role = args.role.name();
    let user_id = &issued.user_id;
    if args.stdout {
        println!("{}", issued.token);
        eprintln!("persona: created machine user {user_name} (id {user_id}) holding {role}");
    } else {
        write_token(&path, &issued.token, true)
            .await
            .map_err(|e| Failure::Start(format!("cannot write the token to {}: {e}", path.display())))?;
        eprintln!(
            "persona: created machine user {user_name} (id {user_id}) holding {role}; its token is in {}",
            path.display()
        );
    }
    tracing::info!(%user_id, %user_name, role, "created a machine user with an instance role and its token");
    service
        .store()
        .connection()
        .clone()
        .close()
        .await
        .map_err(|e| Failure::Start(format!("cannot close the database: {e}")))
}

/// The application service over `store` with the configuration's rules.
fn domain_service(config: &Config, store: SeaOrmStore) -> Result<Service<SeaOrmStore>, Failure> {
    let languages = if config.allowed_languages.is_empty() {
        LanguagePolicy::any()
    } else {
        LanguagePolicy::allow_list(config.allowed_languages.iter().map(String::as_str))
            .map_err(|_| Failure::Config("allowed_languages holds a malformed tag".to_owned()))?
    };
    let service_config =
        ServiceConfig { languages, instance_domain: config.instance_domain.clone(), ..ServiceConfig::default() };
    let random = OsRandom::new().map_err(|e| Failure::Start(e.to_string()))?;
    Ok(Service::new(store, Arc::new(SystemClock), Arc::new(random), service_config))
}

/// The names the first start uses.
fn bootstrap_config(config: &Config) -> BootstrapConfig {
    BootstrapConfig {
        org_name: config.bootstrap.org_name.clone(),
        admin_user_name: config.bootstrap.admin_user_name.clone(),
    }
}

async fn serve(config: Config) -> Result<(), Failure> {
    let tls = match (&config.tls.cert_path, &config.tls.key_path) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(|e| Failure::Config(e.to_string()))?),
        _ => None,
    };
    let openapi = serve::openapi_document().map_err(|e| Failure::Start(e.to_string()))?;
    let store = connect(&config).await?;
    let service = domain_service(&config, store.clone())?;
    first_start(&service, &config).await?;

    let metrics = Arc::new(Metrics::default());
    let readiness = Arc::new(Readiness::default());
    readiness.check(&service).await;
    let pool_store = store.clone();
    let webhook_stats = Arc::new(persona_webhooks::WebhookStats::default());
    let ops = serve::Operations {
        webhooks: Arc::clone(&webhook_stats),
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        storage: Arc::new(move || pool_store.stats()),
        openapi,
    };
    let (app, health) = serve::app(service.clone(), &config, ops).await.map_err(|e| Failure::Start(e.to_string()))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let endpoints = webhook_endpoints(&config)?;
    let delivery = (!endpoints.is_empty()).then(|| {
        tracing::info!(endpoints = endpoints.len(), "delivering webhooks");
        let dispatcher = persona_webhooks::Dispatcher::new(
            store.clone(),
            endpoints,
            config.webhook_delivery.settings(),
            webhook_stats,
            store.outbox_signal(),
        );
        tokio::spawn(dispatcher.run(stopped.clone()))
    });
    let monitor = readiness::spawn_monitor(service, readiness.clone(), health.clone(), stopped);

    let tcp = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| Failure::Start(format!("cannot listen on {}: {e}", config.listen)))?;
    let address = tcp.local_addr().map_err(|e| Failure::Start(e.to_string()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%address, %scheme, "listening (REST, gRPC and gRPC-Web)");
    let settings = listener::ListenerSettings::new(&config.limits, config.shutdown_grace_seconds);
    let shutdown = async {
        shutdown_signal().await;
        readiness.stop();
        health.set_serving(false).await;
    };
    let drained = listener::run(tcp, app, tls, &settings, metrics, shutdown).await;
    match drained {
        listener::Drained::All => tracing::info!("every connection finished"),
        listener::Drained::Cut(open) => {
            tracing::warn!(connections = open, "the grace period ended: cutting the connections still open");
        }
    }
    let _ = stop.send(true);
    let _ = monitor.await;
    if let Some(delivery) = delivery {
        let _ = delivery.await;
    }
    if let Err(error) = store.connection().clone().close().await {
        tracing::warn!(%error, "cannot close the database pool");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://data/persona.db?mode=rwc"), Some(Path::new("data/persona.db")));
        assert_eq!(sqlite_path("sqlite:/tmp/x.db"), Some(Path::new("/tmp/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }
}
