//! `persona`: serves the profiles of human users over REST/JSON, gRPC and gRPC-Web on one port,
//! wire-compatible with ZITADEL's management API.

mod config;
mod listener;
mod metrics;
mod observe;
mod protect;
mod readiness;
mod serve;
mod telemetry;
mod tls;

use clap::{Parser, Subcommand};
use config::Config;
use metrics::Metrics;
use persona_domain::language::LanguagePolicy;
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
    let storage = StorageConfig {
        max_connections: config.database.max_connections,
        ..StorageConfig::new(config.database.url.clone())
    };
    Ok(SeaOrmStore::connect(&storage).await?)
}

/// Writes the admin token with mode 0600, creating the directory if needed.
async fn write_token(path: &Path, token: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
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

async fn serve(config: Config) -> Result<(), Failure> {
    let languages = if config.allowed_languages.is_empty() {
        LanguagePolicy::any()
    } else {
        LanguagePolicy::allow_list(config.allowed_languages.iter().map(String::as_str))
            .map_err(|_| Failure::Config("allowed_languages holds a malformed tag".to_owned()))?
    };
    let tls = match (&config.tls.cert_path, &config.tls.key_path) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(|e| Failure::Config(e.to_string()))?),
        _ => None,
    };
    let openapi = serve::openapi_document().map_err(|e| Failure::Start(e.to_string()))?;
    let store = connect(&config).await?;
    let service_config =
        ServiceConfig { languages, instance_domain: config.instance_domain.clone(), ..ServiceConfig::default() };
    let service = Service::new(store.clone(), Arc::new(SystemClock), Arc::new(OsRandom), service_config);

    let boot = BootstrapConfig {
        org_name: config.bootstrap.org_name.clone(),
        admin_user_name: config.bootstrap.admin_user_name.clone(),
    };
    match service.bootstrap(&boot).await {
        Ok(Some(created)) => {
            let path = &config.bootstrap.admin_pat_path;
            write_token(path, &created.admin_token)
                .await
                .map_err(|e| Failure::Start(format!("cannot write the admin token to {}: {e}", path.display())))?;
            tracing::info!(org_id = %created.org_id, admin_id = %created.admin_id, path = %path.display(), "first start: created the default org and the admin; its token is in the file");
        }
        Ok(None) => tracing::debug!("instance already set up"),
        Err(error) => return Err(Failure::Start(format!("cannot set up the instance: {error}"))),
    }

    let metrics = Arc::new(Metrics::default());
    let readiness = Arc::new(Readiness::default());
    readiness.check(&service).await;
    let pool_store = store.clone();
    let ops = serve::Operations {
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        storage: Arc::new(move || pool_store.stats()),
        openapi,
    };
    let (app, health) = serve::app(service.clone(), &config, ops).await.map_err(|e| Failure::Start(e.to_string()))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
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
