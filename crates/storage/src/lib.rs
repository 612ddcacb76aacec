//! # persona-storage
//!
//! The SeaORM implementation of Persona's ports: an append-only event log and a read model on
//! SQLite (the embedded default) or PostgreSQL, with the same migrations on both.
//!
//! Durability: every commit is acknowledged only after the database made it durable — SQLite in
//! WAL mode with `synchronous=FULL`, PostgreSQL with `synchronous_commit=on`. Speed comes from
//! group commit: concurrent commits share one transaction and one sync (see `writer`), while
//! each keeps its own optimistic-concurrency guard.
//!
//! Tracing: every storage method runs in a `debug` span of its name whose fields are the ids it
//! works on (user, org, aggregate, editor), never profile values, tokens or token hashes; a
//! failed call records its error at `debug`. Under the server's default `info` filter the spans
//! are disabled and cost a check of a cached flag, so the hot path stays as it was.

mod callers;
mod config;
mod entities;
mod keys;
mod lock;
mod migration;
mod outbox;
mod rows;
mod search;
#[cfg(test)]
mod search_plans;
mod stats;
mod store;
mod system;
mod writer;

pub use config::{Backend, StorageConfig, redact_url};
pub use lock::SeaOrmLock;
pub use migration::Migrator;
pub use stats::{BATCH_SIZE_BOUNDS, COMMIT_SECONDS_BOUNDS, HistogramSnapshot, PoolStats, StorageStats};
pub use store::{SeaOrmStore, StorageError};
pub use system::{OsRandom, RandomUnavailable, SystemClock};
