//! Test support shared by Persona's test suites (the storage crate's tests and the end-to-end
//! tests): real PostgreSQL, isolated by one schema per test, in the database that
//! `PERSONA_TEST_DATABASE_URL` names.
//!
//! A test that needs PostgreSQL when none is configured is skipped, and says so on standard
//! error (`cargo test -- --nocapture` shows it); under CI (`CI` set) it fails instead, so that
//! a CI without its database cannot pass by skipping.
//!
//! It has no dependencies: schemas are made and dropped with `psql` (the PostgreSQL client the
//! tests of a PostgreSQL deployment have at hand), so that a schema is dropped even when the
//! test that made it panics, without an async runtime in `Drop`.

#![expect(
    clippy::panic,
    clippy::expect_used,
    reason = "test support: a failure to set up the test database fails the test that asked for it"
)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable that names the test database.
pub const TEST_DATABASE_URL: &str = "PERSONA_TEST_DATABASE_URL";

/// The test database's URL for `what` (the test or part of a test that needs it), or `None`
/// when none is configured, after saying on standard error that `what` was skipped.
///
/// # Panics
/// When no test database is configured and `CI` is set: CI must not skip PostgreSQL.
pub fn test_database_url(what: &str) -> Option<String> {
    let configured = std::env::var(TEST_DATABASE_URL).ok().filter(|url| !url.is_empty());
    let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    let test = std::thread::current().name().filter(|name| *name != "main").map(str::to_owned);
    let what = test.map_or_else(|| what.to_owned(), |test| format!("{test} ({what})"));
    match decide(configured, ci, &what) {
        Ok(Some(url)) => Some(url),
        Ok(None) => {
            eprintln!("skipped on PostgreSQL: {what} ({TEST_DATABASE_URL} is not set)");
            None
        }
        Err(refusal) => panic!("{refusal}"),
    }
}

/// Whether to run (`Some` URL), skip (`None`) or fail (`Err`, with the reason).
fn decide(configured: Option<String>, ci: bool, what: &str) -> Result<Option<String>, String> {
    match configured {
        Some(url) => Ok(Some(url)),
        None if ci => Err(format!(
            "{what} needs PostgreSQL: CI is set, so {TEST_DATABASE_URL} must be too (a skipped test would pass silently)"
        )),
        None => Ok(None),
    }
}

/// A fresh, empty PostgreSQL schema in the test database, dropped (with all it holds) when
/// this value is dropped. Declare it before what uses it (a store, a server), so that those
/// stop first.
#[derive(Debug)]
pub struct PgSchema {
    base_url: String,
    /// The schema's name: `t_<label>_<pid>_<nanos>_<n>`, unique per process and call.
    pub name: String,
}

impl PgSchema {
    /// A new schema whose name starts with `label` (lower-case letters, digits and `_`), or
    /// `None` when no test database is configured (reported as a skip by
    /// [`test_database_url`]).
    ///
    /// # Panics
    /// When `label` is not a plain identifier, `psql` cannot create the schema, or no test
    /// database is configured under CI.
    pub fn create(label: &str) -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        assert!(
            label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "a schema label is lower-case letters, digits and _: {label:?}"
        );
        let base_url = test_database_url(label)?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let next = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("t_{label}_{}_{nanos}_{next}", std::process::id());
        let schema = Self { base_url, name };
        schema.psql_in_database(&format!("CREATE SCHEMA \"{}\"", schema.name));
        Some(schema)
    }

    /// The test database's URL, without the schema.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A database URL whose connections work in this schema (its `search_path`).
    pub fn url(&self) -> String {
        let separator = if self.base_url.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-csearch_path%3D{}", self.base_url, self.name)
    }

    /// Runs `sql` with `psql` in this schema and returns its unaligned, tuples-only output.
    ///
    /// # Panics
    /// When `psql` cannot run or the SQL fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in_database(&format!("SET search_path TO \"{}\"; {sql}", self.name))
    }

    fn psql_in_database(&self, sql: &str) -> String {
        let output = Command::new("psql")
            .arg(&self.base_url)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql runs (the PostgreSQL client is needed for the PostgreSQL tests)");
        assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.base_url)
            .args(["-X", "-q", "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
            .output();
    }
}

#[cfg(test)]
mod tests {
    use super::{PgSchema, decide};

    #[test]
    fn without_a_database_a_test_is_skipped_locally_and_fails_in_ci() {
        let url = "postgres://postgres@127.0.0.1:5432/test".to_owned();
        assert_eq!(decide(Some(url.clone()), false, "t"), Ok(Some(url.clone())));
        assert_eq!(decide(Some(url.clone()), true, "t"), Ok(Some(url)));
        assert_eq!(decide(None, false, "t"), Ok(None));
        let refusal = decide(None, true, "store::postgres_commits_synchronously").expect_err("fails in CI");
        assert!(refusal.contains("store::postgres_commits_synchronously"), "names the test: {refusal}");
        assert!(refusal.contains("PERSONA_TEST_DATABASE_URL"), "names the variable: {refusal}");
    }

    fn schema_exists(probe: &PgSchema, name: &str) -> bool {
        let found = probe.psql(&format!("SELECT count(*) FROM pg_namespace WHERE nspname = '{name}'"));
        found.trim() == "1"
    }

    #[test]
    fn a_schema_is_fresh_private_to_its_test_and_dropped_with_its_guard() {
        let Some(probe) = PgSchema::create("probe") else { return };
        let schema = PgSchema::create("support").expect("a second schema");
        assert_ne!(schema.name, probe.name, "every call gets a schema of its own");
        assert!(schema.url().contains(&format!("search_path%3D{}", schema.name)), "{}", schema.url());
        assert_eq!(schema.psql("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").trim(), "0");
        schema.psql("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)");
        assert_eq!(schema.psql("SELECT n FROM kept").trim(), "7", "unqualified names are the schema's");
        assert!(probe.psql("SELECT to_regclass('kept') IS NULL").trim() == "t", "other schemas do not see it");
        let name = schema.name.clone();
        assert!(schema_exists(&probe, &name));
        drop(schema);
        assert!(!schema_exists(&probe, &name), "dropped with everything in it");
    }
}
