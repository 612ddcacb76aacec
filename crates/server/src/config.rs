//! The effective configuration: built-in defaults, then an optional TOML file, then `PERSONA_`
//! environment variables (`__` nests: `PERSONA_DATABASE__URL` is `database.url`).

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything the binary can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Database settings.
    pub database: DatabaseConfig,
    /// First-start settings.
    pub bootstrap: BootstrapSection,
    /// Logging.
    pub log: LogConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Suffix of org primary domains.
    pub instance_domain: String,
    /// When non-empty, the only preferred languages accepted (plus none).
    pub allowed_languages: Vec<String>,
}

/// Database settings.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:password@host/db`.
    pub url: String,
    /// Pool size; empty picks a default per backend.
    pub max_connections: Option<u32>,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &persona_storage::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// First-start settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BootstrapSection {
    /// Name of the default org.
    pub org_name: String,
    /// User name of the admin machine user.
    pub admin_user_name: String,
    /// Where the admin's personal access token is written (mode 0600).
    pub admin_pat_path: PathBuf,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or per-target directives; `RUST_LOG` wins
    /// when this is not set.
    pub level: Option<String>,
    /// `text` or `json`.
    pub format: String,
}

/// Request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Largest REST body and gRPC message, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            database: DatabaseConfig::default(),
            bootstrap: BootstrapSection::default(),
            log: LogConfig::default(),
            limits: LimitsConfig::default(),
            instance_domain: "localhost".to_owned(),
            allowed_languages: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: "sqlite://data/persona.db?mode=rwc".to_owned(), max_connections: None }
    }
}

impl Default for BootstrapSection {
    fn default() -> Self {
        Self {
            org_name: "Persona".to_owned(),
            admin_user_name: "admin".to_owned(),
            admin_pat_path: PathBuf::from("data/admin.pat"),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: None, format: "text".to_owned() }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024 }
    }
}

/// Environment variables that start with `PERSONA_` but are not configuration.
const NOT_CONFIG: &[&str] = &["TEST_DATABASE_URL", "CONFIG"];

impl Config {
    /// Loads defaults, then `file` (or `PERSONA_CONFIG`) if given, then the environment.
    ///
    /// # Errors
    /// A message naming the key and source of a value that does not fit.
    pub fn load(file: Option<PathBuf>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        let file = file.or_else(|| std::env::var_os("PERSONA_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("PERSONA_").split("__").ignore(NOT_CONFIG));
        figment.extract().map_err(Box::new)
    }
}
