//! How to reach the database, and how durable commits are.

use persona_domain::webhook::WebhookEndpoint;
use std::fmt;
use std::time::Duration;

/// Which database the URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (`sqlite://path?mode=rwc` or `sqlite:path`).
    Sqlite,
    /// PostgreSQL (`postgres://...` or `postgresql://...`).
    Postgres,
}

/// Storage settings.
#[derive(Clone)]
pub struct StorageConfig {
    /// Database URL; may hold a password, so `Debug` hides it.
    pub url: String,
    /// Pool size for reads (and, on PostgreSQL, writes); `None` picks a default per backend.
    pub max_connections: Option<u32>,
    /// How long SQLite waits for another writer's lock before giving up.
    pub busy_timeout: Duration,
    /// How long a request waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// Concurrent commit workers; `None`: 1 on SQLite (one writer at a time anyway), 4 on
    /// PostgreSQL.
    pub writers: Option<usize>,
    /// Most commits grouped into one transaction.
    pub max_batch: usize,
    /// PostgreSQL schema to use (tests isolate themselves with one schema each).
    pub schema: Option<String>,
    /// How long an authenticated caller (token, user, memberships) may be served from memory.
    /// Changes made through this store take effect at once; changes made by another process on
    /// the same database (a revoked token, a removed user, a changed membership) take effect
    /// here within this bound. Zero turns the cache off.
    pub caller_cache_ttl: Duration,
    /// The webhook endpoints: every commit records, in its own transaction, one outbox
    /// delivery per user event and endpoint whose filter lets it through.
    pub webhooks: Vec<WebhookEndpoint>,
}

impl StorageConfig {
    /// Settings for `url` with the defaults.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: None,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            writers: None,
            max_batch: 256,
            schema: None,
            caller_cache_ttl: Duration::from_secs(1),
            webhooks: Vec::new(),
        }
    }

    /// The backend the URL names, if it names one.
    #[must_use]
    pub fn backend(&self) -> Option<Backend> {
        let url = self.url.trim_start();
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The URL with any password replaced by `***`.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split_once(':').map_or(credentials, |(user, _)| user);
            if credentials.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://{user}@{host}{path}")
            }
        }
        None => url.to_owned(),
    }
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("busy_timeout", &self.busy_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("writers", &self.writers)
            .field("max_batch", &self.max_batch)
            .field("schema", &self.schema)
            .field("caller_cache_ttl", &self.caller_cache_ttl)
            .field("webhooks", &self.webhooks.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let config = StorageConfig::new("postgres://persona:s3cret@db:5432/persona");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://persona:***@db:5432/persona"), "{shown}");
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        assert_eq!(redact_url("sqlite://data/persona.db?mode=rwc"), "sqlite://data/persona.db?mode=rwc");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
    }

    #[test]
    fn the_scheme_selects_the_backend() {
        assert_eq!(StorageConfig::new("sqlite:x.db").backend(), Some(Backend::Sqlite));
        assert_eq!(StorageConfig::new("postgresql://h/db").backend(), Some(Backend::Postgres));
        assert_eq!(StorageConfig::new("mysql://h/db").backend(), None);
    }
}
