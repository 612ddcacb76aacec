//! [`SeaOrmLock`]: an exclusive hold on one aggregate, for the attempt after a lost race. It is
//! a write transaction of its own that locked the aggregate's row before reading it —
//! `SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite (which locks the whole
//! database file) — so writers on every instance wait for it, and its commit cannot lose.

use crate::callers::{self, CallerCache};
use crate::stats::CommitStats;
use crate::writer::{self, CommitClock};
use persona_domain::ports::{AggregateLock, Commit, Committed, StoreError};
use persona_domain::webhook::WebhookEndpoint;
use sea_orm::DatabaseTransaction;
use std::sync::Arc;
use tokio::sync::Notify;

/// The lock [`crate::SeaOrmStore`] hands out: dropping it rolls its transaction back.
pub struct SeaOrmLock {
    txn: DatabaseTransaction,
    clock: Arc<CommitClock>,
    callers: Arc<CallerCache>,
    stats: Arc<CommitStats>,
    outbox: Outbox,
}

/// What a locked commit needs to record webhook deliveries.
#[derive(Clone)]
pub(crate) struct Outbox {
    pub(crate) webhooks: Arc<[WebhookEndpoint]>,
    pub(crate) signal: Arc<Notify>,
}

impl SeaOrmLock {
    pub(crate) fn new(
        txn: DatabaseTransaction,
        clock: Arc<CommitClock>,
        callers: Arc<CallerCache>,
        stats: Arc<CommitStats>,
        outbox: Outbox,
    ) -> Self {
        Self { txn, clock, callers, stats, outbox }
    }
}

impl std::fmt::Debug for SeaOrmLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmLock").finish_non_exhaustive()
    }
}

impl AggregateLock for SeaOrmLock {
    #[tracing::instrument(
        level = "debug",
        skip_all,
        err(level = "debug"),
        fields(
            editor_id = commit.editor.as_str(),
            aggregate_id = commit.changes.first().map(|change| change.state.id()),
            changes = commit.changes.len(),
        )
    )]
    async fn commit(self, commit: Commit) -> Result<Committed, StoreError> {
        let started = std::time::Instant::now();
        let affects_callers = callers::affects_callers(&commit);
        let at = self.clock.stamp();
        let result = writer::commit_in(self.txn, &commit, at, &self.outbox.webhooks).await.map(|()| Committed { at });
        if result.is_ok() && !self.outbox.webhooks.is_empty() {
            self.outbox.signal.notify_one();
        }
        self.stats.commit_ended(started.elapsed(), &result);
        // As for the queued commits: whatever the outcome, before anyone hears of it.
        if affects_callers {
            self.callers.invalidate();
        }
        result
    }
}
