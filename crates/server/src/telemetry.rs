//! Logs: readable text by default, JSON lines on request; the level comes from the config or
//! `RUST_LOG`. Each request has a span (see [`crate::observe`]); profile values, tokens and
//! passwords are never logged by Persona's own code, and request bodies are never logged.

use crate::config::{LogConfig, LogFormat};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber, writing to standard error.
///
/// # Errors
/// A message when the level directives do not parse.
pub fn init(config: &LogConfig) -> Result<(), String> {
    let directives =
        config.level.clone().or_else(|| std::env::var("RUST_LOG").ok()).unwrap_or_else(|| "info".to_owned());
    let filter: Targets =
        directives.parse().map_err(|e| format!("invalid value for `log.level` ({directives:?}): {e}"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => {
            // Colours only for a person at a terminal, never into files or log collectors.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
            registry.with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init()
        }
    };
    result.map_err(|e| e.to_string())
}
