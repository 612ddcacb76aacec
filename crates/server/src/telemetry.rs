//! Logs: readable text by default, JSON lines on request; the level comes from the config or
//! `RUST_LOG`. Profile values and tokens are never logged by Persona's own code.

use crate::config::LogConfig;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber.
///
/// # Errors
/// A message when the level directives do not parse.
pub fn init(config: &LogConfig) -> Result<(), String> {
    let directives =
        config.level.clone().or_else(|| std::env::var("RUST_LOG").ok()).unwrap_or_else(|| "info".to_owned());
    let filter: Targets = directives.parse().map_err(|e| format!("invalid log level {directives:?}: {e}"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = if config.format.eq_ignore_ascii_case("json") {
        registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init()
    };
    result.map_err(|e| e.to_string())
}
