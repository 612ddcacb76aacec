//! The effective configuration: built-in defaults, then an optional TOML file, then `PERSONA_`
//! environment variables (`__` nests: `PERSONA_DATABASE__URL` is `database.url`).
//!
//! A key that Persona does not know, in the file or in the environment, stops the start with a
//! message that names the key and where it came from; so does a value of the wrong type. The
//! database URL may carry a password: `Debug` and [`Config::redacted`] hide it.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Provider};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the binary can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Suffix of org primary domains.
    pub instance_domain: String,
    /// When non-empty, the only preferred languages accepted (plus none).
    pub allowed_languages: Vec<String>,
    /// How long in-flight requests may take to finish after SIGTERM or SIGINT.
    pub shutdown_grace_seconds: u64,
    /// Database settings.
    pub database: DatabaseConfig,
    /// First-start settings.
    pub bootstrap: BootstrapSection,
    /// Logging.
    pub log: LogConfig,
    /// Request and connection limits.
    pub limits: LimitsConfig,
    /// TLS for the listener; off unless both paths are set.
    pub tls: TlsConfig,
    /// Which browser origins may call the API (CORS).
    pub cors: CorsConfig,
    /// Endpoints that receive every committed user event (Standard Webhooks).
    pub webhooks: Vec<WebhookConfig>,
    /// How webhooks are delivered, for every endpoint.
    pub webhook_delivery: WebhookDeliveryConfig,
}

/// One string or several (`secret = "whsec_..."` or `secret = ["whsec_...", "whsec_..."]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// None given.
    #[default]
    None,
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// Every value, in order.
    #[must_use]
    pub fn values(&self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::One(value) => vec![value.clone()],
            Self::Many(values) => values.clone(),
        }
    }

    fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }
}

/// `[[webhooks]]`: one endpoint.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL the events are POSTed to.
    pub url: String,
    /// Signing secrets (`whsec_<base64>`); several during a rotation, each signs every message.
    #[serde(skip_serializing_if = "OneOrMany::is_none")]
    pub secret: OneOrMany,
    /// Files holding a secret each (instead of, or besides, `secret`).
    #[serde(skip_serializing_if = "OneOrMany::is_none")]
    pub secret_file: OneOrMany,
    /// Event-type patterns (`user.*`); empty: every user event.
    pub events: Vec<String>,
    /// Org ids; empty: every org.
    pub orgs: Vec<String>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &persona_storage::redact_url(&self.url))
            .field("secret", &"***")
            .field("secret_file", &self.secret_file)
            .field("events", &self.events)
            .field("orgs", &self.orgs)
            .finish()
    }
}

/// `[webhook_delivery]`: retries and timeouts of every endpoint. Fractions of seconds and hours
/// are accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookDeliveryConfig {
    /// Per attempt.
    pub timeout_seconds: f64,
    /// The first wait before a retry; it doubles (with jitter) with each further attempt ...
    pub first_retry_seconds: f64,
    /// ... up to this.
    pub max_retry_seconds: f64,
    /// Then the delivery is parked as failed.
    pub max_age_hours: f64,
}

impl Default for WebhookDeliveryConfig {
    fn default() -> Self {
        Self { timeout_seconds: 10.0, first_retry_seconds: 5.0, max_retry_seconds: 3600.0, max_age_hours: 72.0 }
    }
}

impl WebhookDeliveryConfig {
    /// The settings of the delivery loop.
    #[must_use]
    pub fn settings(&self) -> persona_webhooks::DeliverySettings {
        let seconds = |value: f64| Duration::try_from_secs_f64(value).unwrap_or(Duration::from_secs(1));
        persona_webhooks::DeliverySettings {
            timeout: seconds(self.timeout_seconds),
            first_retry: seconds(self.first_retry_seconds),
            max_retry: seconds(self.max_retry_seconds),
            max_age: seconds(self.max_age_hours * 3600.0),
            concurrency: 64,
            poll: Duration::from_millis(250),
        }
    }
}

impl WebhookConfig {
    /// The endpoint: URL checked, secrets read and decoded.
    ///
    /// # Errors
    /// A message that names what is wrong, never a secret.
    pub fn endpoint(&self) -> Result<persona_webhooks::Endpoint, String> {
        let target = persona_webhooks::Target::parse(&self.url).map_err(|e| format!("url: {e}"))?;
        let mut secrets = Vec::new();
        for (index, secret) in self.secret.values().iter().enumerate() {
            secrets.push(persona_webhooks::Secret::parse(secret).map_err(|e| format!("secret {}: {e}", index + 1))?);
        }
        for file in self.secret_file.values() {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("secret_file {file}: {e}"))?;
            secrets.push(persona_webhooks::Secret::parse(&text).map_err(|e| format!("secret_file {file}: {e}"))?);
        }
        if secrets.is_empty() {
            return Err("secret or secret_file must be set".to_owned());
        }
        Ok(persona_webhooks::Endpoint {
            url: self.url.clone(),
            target,
            secrets,
            filter: persona_domain::webhook::EventFilter { events: self.events.clone(), orgs: self.orgs.clone() },
        })
    }
}

/// Database settings.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:password@host/db`.
    pub url: String,
    /// Pool size; empty picks a default per backend.
    pub max_connections: Option<u32>,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_database_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// First-start settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapSection {
    /// Name of the default org.
    pub org_name: String,
    /// User name of the admin machine user.
    pub admin_user_name: String,
    /// Where the admin's personal access token is written (mode 0600).
    pub admin_pat_path: PathBuf,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable text, one line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or per-target directives; `RUST_LOG` counts
    /// when this is not set.
    pub level: Option<String>,
    /// `text` or `json`.
    pub format: LogFormat,
}

/// Request and connection limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest REST body and gRPC message, in bytes.
    pub max_body_bytes: usize,
    /// How long one request may take before it is answered with `DeadlineExceeded` (504).
    pub request_timeout_seconds: u64,
    /// Requests handled at once; more are answered at once with `Unavailable` (503).
    pub max_concurrent_requests: usize,
    /// Open client connections; further ones are closed right after they are accepted.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
    /// Interval of HTTP/2 keep-alive pings; 0 turns them off.
    pub http2_keep_alive_interval_seconds: u64,
    /// How long to wait for a keep-alive ping's answer before closing the connection.
    pub http2_keep_alive_timeout_seconds: u64,
    /// How long a client may take to send the headers of an HTTP/1.1 request, and how long it
    /// may stay in its HTTP/2 preface, a frame header or a header block.
    pub header_read_timeout_seconds: u64,
    /// HTTP/2 streams a client may reset on one connection; beyond, once most of the streams
    /// it opened were reset, the connection gets GOAWAY and is closed.
    pub http2_max_reset_streams: u64,
    /// HTTP/2 streams reset by the client before Persona took them up, at once (h2's
    /// `max_pending_accept_reset_streams`); beyond: GOAWAY `ENHANCE_YOUR_CALM`.
    pub http2_max_pending_reset_streams: usize,
    /// HTTP/2 streams Persona may reset on one connection for the client's protocol errors
    /// (hyper's `max_local_error_reset_streams`); beyond: GOAWAY `ENHANCE_YOUR_CALM`.
    pub http2_max_local_error_reset_streams: usize,
}

/// Cross-origin requests from browsers (gRPC-Web and REST).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins (`scheme://host[:port]`) whose pages may call the API; empty (or `["*"]`): any
    /// origin. Credentials (cookies) are never allowed: callers send a bearer token.
    pub allowed_origins: Vec<String>,
}

impl CorsConfig {
    /// The allowed origins as the browser sends them in `Origin`, or `None` for any origin.
    ///
    /// # Errors
    /// A message naming the first entry that is not an origin.
    pub fn origins(&self) -> Result<Option<Vec<String>>, String> {
        if self.allowed_origins.is_empty() || self.allowed_origins == ["*"] {
            return Ok(None);
        }
        self.allowed_origins.iter().map(|entry| origin(entry)).collect::<Result<Vec<_>, _>>().map(Some)
    }
}

/// `entry` as a serialized origin (lowercase, no default port), or why it is not one.
fn origin(entry: &str) -> Result<String, String> {
    let not = |why: &str| format!("{entry:?} is not an origin ({why}); write it as scheme://host[:port]");
    let lower = entry.to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").ok_or_else(|| not("no scheme"))?;
    if scheme != "http" && scheme != "https" {
        return Err(not("the scheme is not http or https"));
    }
    if rest.contains(['/', '?', '#', '@', ' ']) || rest.is_empty() {
        return Err(not("only a host and a port may follow the scheme, without a trailing slash"));
    }
    // An IPv6 address is bracketed and has colons of its own.
    let split_at = if rest.starts_with('[') { rest.find(']').map(|end| end + 1) } else { rest.find(':') };
    let (host, port) = match split_at.map(|at| rest.split_at(at)) {
        Some((host, "")) => (host, None),
        Some((host, port)) => (host, Some(port.strip_prefix(':').ok_or_else(|| not("junk after the host"))?)),
        None => (rest, None),
    };
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b)) {
        return Err(not("the host is not a host name or address"));
    }
    match port {
        None => Ok(format!("{scheme}://{host}")),
        Some(port) if port.parse::<u16>().is_err() => Err(not("the port is not a number")),
        Some(port) if (scheme, port) == ("http", "80") || (scheme, port) == ("https", "443") => {
            Ok(format!("{scheme}://{host}"))
        }
        Some(port) => Ok(format!("{scheme}://{host}:{port}")),
    }
}

/// TLS settings: PEM files of the certificate chain and of its private key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain (PEM), leaf first.
    pub cert_path: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            instance_domain: "localhost".to_owned(),
            allowed_languages: Vec::new(),
            shutdown_grace_seconds: 10,
            database: DatabaseConfig::default(),
            bootstrap: BootstrapSection::default(),
            log: LogConfig::default(),
            limits: LimitsConfig::default(),
            tls: TlsConfig::default(),
            cors: CorsConfig::default(),
            webhooks: Vec::new(),
            webhook_delivery: WebhookDeliveryConfig::default(),
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
        Self { level: None, format: LogFormat::Text }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout_seconds: 30,
            max_concurrent_requests: 512,
            max_connections: 4096,
            http2_max_concurrent_streams: 256,
            http2_keep_alive_interval_seconds: 30,
            http2_keep_alive_timeout_seconds: 10,
            header_read_timeout_seconds: 30,
            http2_max_reset_streams: 100,
            http2_max_pending_reset_streams: 20,
            http2_max_local_error_reset_streams: 1024,
        }
    }
}

impl LimitsConfig {
    /// [`Self::request_timeout_seconds`] as a duration.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

/// The prefix of configuration variables.
const ENV_PREFIX: &str = "PERSONA_";

/// Environment variables that start with `PERSONA_` but are not configuration.
const NOT_CONFIG: &[&str] = &["TEST_DATABASE_URL", "CONFIG"];

/// Why the configuration could not be loaded. Each message names the key and its source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A key Persona does not know.
    #[error("unknown key `{key}` in {origin}")]
    UnknownKey {
        /// The dotted key, e.g. `limits.max_body_byte`.
        key: String,
        /// Where it was set.
        origin: String,
    },
    /// A value that does not fit its key, or a file that cannot be read.
    #[error("{0}")]
    Invalid(String),
}

/// Where a key came from, for messages.
fn describe_source(metadata: Option<&figment::Metadata>, path: &[String]) -> String {
    let Some(metadata) = metadata else {
        return "the configuration".to_owned();
    };
    match &metadata.source {
        Some(figment::Source::File(file)) => format!("file {}", file.display()),
        Some(other) => other.to_string(),
        None if metadata.name.contains("environment") => {
            format!("environment variable {ENV_PREFIX}{}", path.join("__").to_ascii_uppercase())
        }
        None => metadata.name.to_string(),
    }
}

fn from_figment(errors: figment::Error) -> ConfigError {
    let messages: Vec<String> = errors
        .into_iter()
        .map(|error| {
            let key = error.path.join(".");
            let source = describe_source(error.metadata.as_ref(), &error.path);
            if key.is_empty() {
                format!("{} (in {source})", error.kind)
            } else {
                format!("invalid value for `{key}` in {source}: {}", error.kind)
            }
        })
        .collect();
    ConfigError::Invalid(messages.join("; "))
}

/// The dotted names of every leaf key and every section, from the defaults.
fn known_keys() -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(prefix: &str, value: &serde_json::Value, leaves: &mut BTreeSet<String>, sections: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(map) = value {
            if !prefix.is_empty() {
                sections.insert(prefix.to_owned());
            }
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                walk(&path, child, leaves, sections);
            }
        } else {
            leaves.insert(prefix.to_owned());
        }
    }
    let (mut leaves, mut sections) = (BTreeSet::new(), BTreeSet::new());
    if let Ok(defaults) = serde_json::to_value(Config::default()) {
        walk("", &defaults, &mut leaves, &mut sections);
    }
    (leaves, sections)
}

/// The first key of `dict` (a TOML file's content) that Persona does not know.
fn unknown_in_dict(
    prefix: &str,
    dict: &Dict,
    leaves: &BTreeSet<String>,
    sections: &BTreeSet<String>,
) -> Option<String> {
    dict.iter().find_map(|(key, value)| {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if leaves.contains(&path) {
            None
        } else if sections.contains(&path) {
            match value {
                Value::Dict(_, inner) => unknown_in_dict(&path, inner, leaves, sections),
                _ => None,
            }
        } else {
            Some(path)
        }
    })
}

/// Checks the keys of the file and of the `PERSONA_` variables against the known ones.
fn check_keys(file: Option<&Path>, env: &[(String, String)]) -> Result<(), ConfigError> {
    let (leaves, sections) = known_keys();
    if let Some(path) = file {
        let data = Toml::file_exact(path).data().map_err(|error| {
            ConfigError::Invalid(format!("cannot read the file {}: {}", path.display(), error.kind))
        })?;
        for dict in data.values() {
            if let Some(key) = unknown_in_dict("", dict, &leaves, &sections) {
                return Err(ConfigError::UnknownKey { key, origin: format!("file {}", path.display()) });
            }
        }
    }
    for (name, _) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
        if NOT_CONFIG.contains(&rest) {
            continue;
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        if !leaves.contains(&key) && !sections.contains(&key) {
            return Err(ConfigError::UnknownKey { key, origin: format!("environment variable {name}") });
        }
    }
    Ok(())
}

impl Config {
    /// Loads defaults, then `file` (or the file `PERSONA_CONFIG` names) if given, then the
    /// `PERSONA_` environment variables, and checks the result.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key and source of a value that is unknown or does not fit.
    pub fn load(file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().unwrap_or_default())))
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let file = file.or_else(|| std::env::var_os("PERSONA_CONFIG").map(PathBuf::from));
        check_keys(file.as_deref(), &env)?;
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").ignore(NOT_CONFIG));
        let config: Self = figment.extract().map_err(from_figment)?;
        config.check(&figment)?;
        Ok(config)
    }

    /// Rules a single value's type cannot express; errors name the key and where it was set.
    fn check(&self, figment: &Figment) -> Result<(), ConfigError> {
        let unusable = |key: &str, reason: &str| {
            let path: Vec<String> = key.split('.').map(str::to_owned).collect();
            let source = describe_source(figment.find_metadata(key), &path);
            ConfigError::Invalid(format!("invalid value for `{key}` in {source}: {reason}"))
        };
        let limits = &self.limits;
        let positive = [
            ("limits.max_body_bytes", limits.max_body_bytes as u64),
            ("limits.request_timeout_seconds", limits.request_timeout_seconds),
            ("limits.max_concurrent_requests", limits.max_concurrent_requests as u64),
            ("limits.max_connections", limits.max_connections as u64),
            ("limits.http2_max_concurrent_streams", u64::from(limits.http2_max_concurrent_streams)),
            ("limits.http2_keep_alive_timeout_seconds", limits.http2_keep_alive_timeout_seconds),
            ("limits.header_read_timeout_seconds", limits.header_read_timeout_seconds),
            ("limits.http2_max_reset_streams", limits.http2_max_reset_streams),
            ("limits.http2_max_pending_reset_streams", limits.http2_max_pending_reset_streams as u64),
            ("limits.http2_max_local_error_reset_streams", limits.http2_max_local_error_reset_streams as u64),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(unusable(key, "must be at least 1"));
        }
        self.cors.origins().map_err(|reason| unusable("cors.allowed_origins", &reason))?;
        let delivery = &self.webhook_delivery;
        for (key, value) in [
            ("webhook_delivery.timeout_seconds", delivery.timeout_seconds),
            ("webhook_delivery.first_retry_seconds", delivery.first_retry_seconds),
            ("webhook_delivery.max_retry_seconds", delivery.max_retry_seconds),
            ("webhook_delivery.max_age_hours", delivery.max_age_hours),
        ] {
            if !(value.is_finite() && value > 0.0 && value < 1e9) {
                return Err(unusable(key, "must be a positive number"));
            }
        }
        let mut urls = BTreeSet::new();
        for (index, webhook) in self.webhooks.iter().enumerate() {
            webhook.endpoint().map_err(|reason| unusable(&format!("webhooks.{index}"), &reason))?;
            if !urls.insert(webhook.url.as_str()) {
                return Err(unusable(&format!("webhooks.{index}.url"), "another endpoint has the same URL"));
            }
        }
        match (&self.tls.cert_path, &self.tls.key_path) {
            (Some(_), None) => Err(unusable("tls.cert_path", "tls.key_path must be set too")),
            (None, Some(_)) => Err(unusable("tls.key_path", "tls.cert_path must be set too")),
            _ => Ok(()),
        }
    }

    /// This configuration with every secret replaced by `***`: safe to print or log.
    #[must_use]
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        copy.database.url = redact_database_url(&self.database.url);
        for webhook in &mut copy.webhooks {
            webhook.url = persona_storage::redact_url(&webhook.url);
            webhook.secret = match &webhook.secret {
                OneOrMany::None => OneOrMany::None,
                OneOrMany::One(_) => OneOrMany::One("***".to_owned()),
                OneOrMany::Many(all) => OneOrMany::Many(vec!["***".to_owned(); all.len()]),
            };
        }
        copy
    }

    /// The redacted configuration as TOML, as `persona config` prints it.
    ///
    /// # Errors
    /// A message when the configuration cannot be written as TOML (a bug).
    pub fn to_redacted_toml(&self) -> Result<String, String> {
        toml::to_string(&self.redacted()).map_err(|e| e.to_string())
    }
}

/// The database URL with its password hidden, in the user-info part and in a `password=`
/// query parameter alike.
#[must_use]
pub fn redact_database_url(url: &str) -> String {
    let redacted = persona_storage::redact_url(url);
    let Some((base, query)) = redacted.split_once('?') else {
        return redacted;
    };
    let parameters: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", parameters.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_password_never_shows() {
        let mut config = Config::default();
        config.database.url = "postgres://persona:s3cret@db/persona?sslmode=require&password=s3cret".to_owned();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let printed = config.to_redacted_toml().expect("toml");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("postgres://persona:***@db/persona?sslmode=require&password=***"), "{printed}");
    }

    #[test]
    fn webhook_secrets_never_show_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let file = write(
            &dir,
            "persona.toml",
            "[[webhooks]]\nurl = \"https://hooks:pw@crm.internal/hook\"\nsecret = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\", \"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]\nevents = [\"user.*\"]\n[webhook_delivery]\ntimeout_seconds = 2\n",
        );
        let config = Config::load(Some(file)).expect("valid");
        assert_eq!(config.webhooks[0].endpoint().expect("endpoint").secrets.len(), 2);
        assert!((config.webhook_delivery.timeout_seconds - 2.0).abs() < f64::EPSILON);
        let printed = config.to_redacted_toml().expect("toml");
        let debug = format!("{config:?}");
        for shown in [&printed, &debug] {
            assert!(!shown.contains("MfKQ9r8") && !shown.contains("AAAAAAAA"), "{shown}");
            assert!(!shown.contains(":pw@"), "{shown}");
        }
        assert!(printed.contains("***"), "{printed}");
        for (body, complaint) in [
            ("[[webhooks]]\nurl = \"ftp://x/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n", "webhooks.0"),
            ("[[webhooks]]\nurl = \"http://x/\"\nsecret = \"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n", "whsec_"),
            ("[[webhooks]]\nurl = \"http://x/\"\n", "secret or secret_file"),
            ("[[webhooks]]\nurl = \"http://x/\"\nsecret_file = \"/nonexistent/hook\"\n", "secret_file"),
            ("[webhook_delivery]\nmax_age_hours = 0\n", "webhook_delivery.max_age_hours"),
        ] {
            let file = write(&dir, "bad.toml", body);
            let error = Config::load(Some(file)).expect_err("refused").to_string();
            assert!(error.contains(complaint), "{body}: {error}");
            assert!(!error.contains("MfKQ9r8"), "{error}");
        }
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn unknown_environment_keys_are_named_with_their_variable() {
        let env = vec![("PERSONA_LIMITS__MAX_BODY_BYTE".to_owned(), "1".to_owned())];
        let error = check_keys(None, &env).expect_err("unknown");
        assert_eq!(
            error,
            ConfigError::UnknownKey {
                key: "limits.max_body_byte".to_owned(),
                origin: "environment variable PERSONA_LIMITS__MAX_BODY_BYTE".to_owned()
            }
        );
        let fine = vec![
            ("PERSONA_TEST_DATABASE_URL".to_owned(), String::new()),
            ("PERSONA_CONFIG".to_owned(), String::new()),
            ("PERSONA_TLS__CERT_PATH".to_owned(), String::new()),
            ("PERSONA_LOG".to_owned(), String::new()),
        ];
        check_keys(None, &fine).expect("known keys");
    }

    #[test]
    fn unknown_file_keys_are_named_with_their_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("persona.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\n[database]\nurl = \"sqlite::memory:\"\npool = 3\n")
            .expect("write");
        let error = check_keys(Some(&path), &[]).expect_err("unknown");
        assert_eq!(
            error,
            ConfigError::UnknownKey { key: "database.pool".to_owned(), origin: format!("file {}", path.display()) }
        );
    }

    #[test]
    fn allowed_origins_are_origins_in_the_form_browsers_send() {
        let accepted = [
            ("https://app.example.com", "https://app.example.com"),
            ("HTTPS://App.Example.com", "https://app.example.com"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("https://example.com:443", "https://example.com"),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[::1]", "http://[::1]"),
        ];
        for (entry, expected) in accepted {
            assert_eq!(origin(entry).as_deref(), Ok(expected), "{entry}");
        }
        for rejected in [
            "app.example.com",
            "https://app.example.com/",
            "https://a.example/path",
            "ftp://a.example",
            "https://",
            "https://a:b",
            "http://[::1]x",
        ] {
            assert!(origin(rejected).is_err(), "{rejected}");
        }
        let any = CorsConfig::default();
        assert_eq!(any.origins(), Ok(None));
        let star = CorsConfig { allowed_origins: vec!["*".to_owned()] };
        assert_eq!(star.origins(), Ok(None));
        let listed =
            CorsConfig { allowed_origins: vec!["https://a.example".to_owned(), "http://b.example:8080".to_owned()] };
        assert_eq!(
            listed.origins(),
            Ok(Some(vec!["https://a.example".to_owned(), "http://b.example:8080".to_owned()]))
        );
    }

    #[test]
    fn a_default_configuration_prints_and_reads_back() {
        let printed = Config::default().to_redacted_toml().expect("toml");
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("persona.toml");
        std::fs::write(&path, &printed).expect("write");
        check_keys(Some(&path), &[]).expect("the printed configuration has only known keys");
    }
}
