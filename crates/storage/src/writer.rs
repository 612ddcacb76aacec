//! Group commit: concurrent commits queue up and one transaction writes a whole batch, so many
//! updates share one durable sync. Each commit still succeeds or fails on its own: its
//! sequence guard decides, and commits that may hit a unique index run inside a savepoint.

use crate::entities::{events, instance, memberships, orgs, tokens, users, webhook_deliveries};
use crate::migration::{MEMBERSHIP_KEY, USER_NAME_KEY};
use crate::rows::{db_sequence, membership_to_row, org_to_row, user_to_row};
use crate::stats::CommitStats;
use persona_domain::events::AggregateType;
use persona_domain::ports::{
    AggregateChange, AggregateState, Commit, Committed, INSTANCE_ID, SideEffect, StoreError, UniqueKey,
};
use persona_domain::time::Timestamp;
use persona_domain::webhook::{WebhookEndpoint, endpoints_for};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

/// One queued commit and where its result goes.
pub(crate) struct Job {
    pub(crate) commit: Commit,
    pub(crate) reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// Settings of the commit workers.
pub(crate) struct WriterSettings {
    pub(crate) workers: usize,
    pub(crate) max_batch: usize,
    pub(crate) sqlite: bool,
    /// The webhook endpoints whose deliveries each commit records in its outbox.
    pub(crate) webhooks: Arc<[WebhookEndpoint]>,
    /// Woken after a commit that recorded deliveries.
    pub(crate) outbox_signal: Arc<Notify>,
}

/// Commit times of one process: each later than every earlier one, shared by the commit
/// workers and the locked commits.
#[derive(Debug, Default)]
pub(crate) struct CommitClock {
    last: AtomicI64,
}

impl CommitClock {
    /// A commit time later than every earlier one of this process.
    pub(crate) fn stamp(&self) -> Timestamp {
        let now = crate::system::now().unix_micros();
        let previous = self.last.fetch_max(now, Ordering::SeqCst);
        if now > previous {
            Timestamp::from_unix_micros(now)
        } else {
            Timestamp::from_unix_micros(self.last.fetch_add(1, Ordering::SeqCst) + 1)
        }
    }
}

/// Transaction options of every write: `BEGIN IMMEDIATE` on SQLite, so that a transaction
/// that will write takes the write lock before it reads.
pub(crate) fn write_options(sqlite: bool) -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: sqlite.then_some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    }
}

/// Starts the commit workers on `db` and returns the queue they serve. They stop when every
/// sender is dropped.
pub(crate) fn spawn(
    db: DatabaseConnection,
    settings: &WriterSettings,
    clock: Arc<CommitClock>,
    stats: Arc<CommitStats>,
) -> mpsc::Sender<Job> {
    let (sender, receiver) = mpsc::channel(settings.max_batch * 16);
    let shared = Arc::new(Worker {
        db,
        queue: Mutex::new(receiver),
        max_batch: settings.max_batch.max(1),
        sqlite: settings.sqlite,
        clock,
        stats,
        webhooks: Arc::clone(&settings.webhooks),
        outbox_signal: Arc::clone(&settings.outbox_signal),
    });
    for _ in 0..settings.workers.max(1) {
        let worker = Arc::clone(&shared);
        tokio::spawn(async move { worker.run().await });
    }
    sender
}

struct Worker {
    db: DatabaseConnection,
    queue: Mutex<mpsc::Receiver<Job>>,
    max_batch: usize,
    sqlite: bool,
    clock: Arc<CommitClock>,
    stats: Arc<CommitStats>,
    webhooks: Arc<[WebhookEndpoint]>,
    outbox_signal: Arc<Notify>,
}

/// A commit's own outcome inside a batch (an `Err(DbErr)` around it fails the whole batch).
type ItemResult = Result<(), StoreError>;

impl Worker {
    async fn run(&self) {
        loop {
            let batch = {
                let mut queue = self.queue.lock().await;
                let Some(first) = queue.recv().await else {
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < self.max_batch {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                batch
            };
            self.commit_batch(batch).await;
        }
    }

    fn stamp(&self) -> Timestamp {
        self.clock.stamp()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(commits = batch.len()))]
    async fn commit_batch(&self, mut batch: Vec<Job>) {
        // One lock order for every batch, so concurrent batches on PostgreSQL cannot deadlock.
        batch.sort_by(|a, b| first_key(&a.commit).cmp(&first_key(&b.commit)));
        let at = self.stamp();
        let commits: Vec<&Commit> = batch.iter().map(|job| &job.commit).collect();
        let outcome = self.write(&commits, at).await;
        match outcome {
            Ok(results) => {
                if !self.webhooks.is_empty() {
                    self.outbox_signal.notify_one();
                }
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result.map(|()| Committed { at }));
                }
            }
            Err(WriteFailure::AtCommit(error)) => {
                // The batch may have landed: trying again could apply it twice or report its own
                // effect as a conflict, so every commit of it hears the truth, that nobody knows.
                let result = Err(StoreError::Uncertain(error.to_string()));
                for job in batch {
                    let _ = job.reply.send(result.clone());
                }
            }
            Err(WriteFailure::Before(_)) if batch.len() > 1 => {
                // Something failed for the batch as a whole: give every commit its own try, so
                // one bad commit cannot take the others down with it.
                for job in batch {
                    let at = self.stamp();
                    let result = match self.write(&[&job.commit], at).await {
                        Ok(mut results) => {
                            if !self.webhooks.is_empty() {
                                self.outbox_signal.notify_one();
                            }
                            results.pop().unwrap_or(Err(StoreError::Conflict)).map(|()| Committed { at })
                        }
                        Err(failure) => Err(failure.into_store_error()),
                    };
                    let _ = job.reply.send(result);
                }
            }
            Err(failure) => {
                let result = Err(failure.into_store_error());
                for job in batch {
                    let _ = job.reply.send(result.clone());
                }
            }
        }
    }

    /// Writes the commits in one transaction; per-commit rejections are in the result list.
    async fn write(&self, commits: &[&Commit], at: Timestamp) -> Result<Vec<ItemResult>, WriteFailure> {
        self.stats.batch_size.record(u64::try_from(commits.len()).unwrap_or(u64::MAX));
        self.write_until_commit(commits, at).await.map_err(WriteFailure::Before)?.finish().await
    }

    /// Everything of [`Worker::write`] but the COMMIT.
    async fn write_until_commit(&self, commits: &[&Commit], at: Timestamp) -> Result<Written, DbErr> {
        let txn = self.db.begin_with_options(write_options(self.sqlite)).await?;
        let mut results = Vec::with_capacity(commits.len());
        // Events and deliveries of commits without a savepoint, appended together at the end of
        // the batch.
        let mut deferred = Deferred::default();
        for commit in commits {
            let result = if needs_savepoint(commit) {
                let savepoint = txn.begin().await?;
                match apply(&savepoint, commit, at, &self.webhooks, None).await {
                    Ok(Ok(())) => {
                        savepoint.commit().await?;
                        Ok(())
                    }
                    Ok(Err(rejected)) => {
                        savepoint.rollback().await?;
                        Err(rejected)
                    }
                    Err(error) => match rejection(&error) {
                        Some(rejected) => {
                            savepoint.rollback().await?;
                            Err(rejected)
                        }
                        None => return Err(error),
                    },
                }
            } else {
                apply(&txn, commit, at, &self.webhooks, Some(&mut deferred)).await?
            };
            results.push(result);
        }
        insert_events(&txn, deferred.events).await?;
        insert_deliveries(&txn, deferred.deliveries).await?;
        Ok(Written { txn, results })
    }
}

/// A batch written but not yet committed.
struct Written {
    txn: DatabaseTransaction,
    results: Vec<ItemResult>,
}

impl Written {
    async fn finish(self) -> Result<Vec<ItemResult>, WriteFailure> {
        self.txn.commit().await.map_err(WriteFailure::AtCommit)?;
        Ok(self.results)
    }
}

/// Where a batch failed: before its COMMIT (nothing was written) or in it (nobody knows).
enum WriteFailure {
    Before(DbErr),
    AtCommit(DbErr),
}

impl WriteFailure {
    fn into_store_error(self) -> StoreError {
        match self {
            Self::Before(error) => classify(&error),
            Self::AtCommit(error) => StoreError::Uncertain(error.to_string()),
        }
    }
}

/// Writes one commit in `txn` (a transaction of its own, holding a lock) and ends it: committed
/// when every guard held, rolled back otherwise.
pub(crate) async fn commit_in(
    txn: DatabaseTransaction,
    commit: &Commit,
    at: Timestamp,
    webhooks: &[WebhookEndpoint],
) -> Result<(), StoreError> {
    let outcome = apply(&txn, commit, at, webhooks, None).await;
    let rejected = match outcome {
        Ok(Ok(())) => return txn.commit().await.map_err(|error| StoreError::Uncertain(error.to_string())),
        Ok(Err(rejected)) => rejected,
        Err(error) => classify(&error),
    };
    if let Err(error) = txn.rollback().await {
        tracing::warn!(%error, "rolling back a rejected commit failed");
    }
    Err(rejected)
}

fn first_key(commit: &Commit) -> (&'static str, &str) {
    commit.changes.first().map_or(("", ""), |change| aggregate_key(&change.state))
}

fn aggregate_key(state: &AggregateState) -> (&'static str, &str) {
    match state {
        AggregateState::User(user) => (AggregateType::User.as_str(), user.id.as_str()),
        AggregateState::Org(org) => (AggregateType::Org.as_str(), org.id.as_str()),
        AggregateState::Instance(_) => (AggregateType::Instance.as_str(), INSTANCE_ID),
    }
}

/// Commits that can only fail through their sequence guard run without a savepoint: the guard
/// is their first statement, so a rejected one has written nothing.
fn needs_savepoint(commit: &Commit) -> bool {
    commit.changes.len() != 1
        || commit.changes.iter().any(|change| change.expected_sequence == 0)
        || commit.side_effects.iter().any(|effect| matches!(effect, SideEffect::PutMembership(_)))
}

/// A unique violation is a rejection of one commit, not a failure of the batch.
fn rejection(error: &DbErr) -> Option<StoreError> {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => Some(if USER_NAME_KEY.is_named_in(&message) {
            StoreError::Duplicate(UniqueKey::UserName)
        } else if MEMBERSHIP_KEY.is_named_in(&message) {
            StoreError::Duplicate(UniqueKey::Membership)
        } else {
            // A primary key or an event sequence: the aggregate exists or moved on.
            StoreError::Conflict
        }),
        _ => None,
    }
}

/// The error a commit reports when its transaction failed before its COMMIT (the cause travels
/// on the error and is logged once, at the edge).
fn classify(error: &DbErr) -> StoreError {
    rejection(error).unwrap_or_else(|| StoreError::Unavailable(error.to_string()))
}

/// Rows of a batch's commits appended together before the transaction ends.
#[derive(Default)]
struct Deferred {
    events: Vec<events::ActiveModel>,
    deliveries: Vec<webhook_deliveries::ActiveModel>,
}

/// Writes one commit: its rows, its events, and the outbox's deliveries of its user events to
/// the `webhooks` whose filters let them through, all in `db`'s transaction. Events and
/// deliveries go into `deferred` when given (the caller appends them before the transaction
/// ends), else they are appended at once.
async fn apply<C: ConnectionTrait>(
    db: &C,
    commit: &Commit,
    at: Timestamp,
    webhooks: &[WebhookEndpoint],
    mut deferred: Option<&mut Deferred>,
) -> Result<ItemResult, DbErr> {
    for change in &commit.changes {
        if !put_state(db, change, at).await? {
            return Ok(Err(StoreError::Conflict));
        }
        let deliveries = delivery_rows(change, at, webhooks);
        match deferred.as_deref_mut() {
            Some(pending) => {
                pending.events.extend(event_rows(commit, change, at));
                pending.deliveries.extend(deliveries);
            }
            None => {
                insert_events(db, event_rows(commit, change, at).collect()).await?;
                insert_deliveries(db, deliveries.collect()).await?;
            }
        }
    }
    for effect in &commit.side_effects {
        side_effect(db, effect).await?;
    }
    Ok(Ok(()))
}

/// Writes the aggregate's row: insert when new, else update guarded by the expected sequence.
/// Returns whether the guard held.
async fn put_state<C: ConnectionTrait>(db: &C, change: &AggregateChange, at: Timestamp) -> Result<bool, DbErr> {
    let expected = db_sequence(change.expected_sequence);
    if change.is_guard() {
        return guard_holds(db, &change.state, expected).await;
    }
    let fresh = change.expected_sequence == 0;
    let rows = match &change.state {
        AggregateState::User(user) => {
            let created = if fresh { at } else { user.created_at };
            let row = user_to_row(user, created, at).into_active_model().reset_all();
            if fresh {
                users::Entity::insert(row).exec_without_returning(db).await?
            } else {
                let filter = users::Column::Id.eq(user.id.as_str()).and(users::Column::Sequence.eq(expected));
                users::Entity::update_many().set(row).filter(filter).exec(db).await?.rows_affected
            }
        }
        AggregateState::Org(org) => {
            let created = if fresh { at } else { org.created_at };
            let row = org_to_row(org, created, at).into_active_model().reset_all();
            if fresh {
                orgs::Entity::insert(row).exec_without_returning(db).await?
            } else {
                let filter = orgs::Column::Id.eq(org.id.as_str()).and(orgs::Column::Sequence.eq(expected));
                orgs::Entity::update_many().set(row).filter(filter).exec(db).await?.rows_affected
            }
        }
        AggregateState::Instance(state) => {
            let created = if fresh { at } else { state.created_at };
            let row = instance::Model {
                id: INSTANCE_ID.to_owned(),
                default_org_id: state.default_org_id.as_str().to_owned(),
                sequence: db_sequence(state.sequence),
                created_at: created.unix_micros(),
                changed_at: at.unix_micros(),
            }
            .into_active_model()
            .reset_all();
            if fresh {
                instance::Entity::insert(row).exec_without_returning(db).await?
            } else {
                let filter = instance::Column::Id.eq(INSTANCE_ID).and(instance::Column::Sequence.eq(expected));
                instance::Entity::update_many().set(row).filter(filter).exec(db).await?.rows_affected
            }
        }
    };
    Ok(rows == 1)
}

/// Checks a guard ([`AggregateChange::guard`]) inside the transaction: a no-op update of the row
/// at the expected sequence, so that on PostgreSQL the row stays locked until the commit and a
/// concurrent writer of it waits, then fails its own sequence check.
async fn guard_holds<C: ConnectionTrait>(db: &C, state: &AggregateState, expected: i64) -> Result<bool, DbErr> {
    let rows = match state {
        AggregateState::User(user) => {
            let filter = users::Column::Id.eq(user.id.as_str()).and(users::Column::Sequence.eq(expected));
            let same = Expr::col(users::Column::Sequence);
            users::Entity::update_many().col_expr(users::Column::Sequence, same).filter(filter).exec(db).await?
        }
        AggregateState::Org(org) => {
            let filter = orgs::Column::Id.eq(org.id.as_str()).and(orgs::Column::Sequence.eq(expected));
            let same = Expr::col(orgs::Column::Sequence);
            orgs::Entity::update_many().col_expr(orgs::Column::Sequence, same).filter(filter).exec(db).await?
        }
        AggregateState::Instance(_) => {
            let filter = instance::Column::Id.eq(INSTANCE_ID).and(instance::Column::Sequence.eq(expected));
            let same = Expr::col(instance::Column::Sequence);
            instance::Entity::update_many().col_expr(instance::Column::Sequence, same).filter(filter).exec(db).await?
        }
    };
    Ok(rows.rows_affected == 1)
}

/// The event rows of one aggregate change, numbered after its expected sequence.
fn event_rows<'a>(
    commit: &'a Commit,
    change: &'a AggregateChange,
    at: Timestamp,
) -> impl Iterator<Item = events::ActiveModel> + 'a {
    let (aggregate_type, aggregate_id) = aggregate_key(&change.state);
    let owner = match &change.state {
        AggregateState::User(user) => user.org_id.as_str(),
        AggregateState::Org(org) => org.id.as_str(),
        AggregateState::Instance(instance) => instance.default_org_id.as_str(),
    };
    (1..).zip(&change.events).map(move |(offset, payload)| events::ActiveModel {
        position: sea_orm::ActiveValue::NotSet,
        aggregate_type: sea_orm::ActiveValue::Set(aggregate_type.to_owned()),
        aggregate_id: sea_orm::ActiveValue::Set(aggregate_id.to_owned()),
        sequence: sea_orm::ActiveValue::Set(db_sequence(change.expected_sequence + offset)),
        event_type: sea_orm::ActiveValue::Set(payload.event_type().to_owned()),
        payload: sea_orm::ActiveValue::Set(payload.to_json()),
        editor_id: sea_orm::ActiveValue::Set(commit.editor.as_str().to_owned()),
        resource_owner: sea_orm::ActiveValue::Set(owner.to_owned()),
        created_at: sea_orm::ActiveValue::Set(at.unix_micros()),
    })
}

/// The outbox rows of one aggregate change: for each user event, one per endpoint that wants it.
fn delivery_rows<'a>(
    change: &'a AggregateChange,
    at: Timestamp,
    webhooks: &'a [WebhookEndpoint],
) -> impl Iterator<Item = webhook_deliveries::ActiveModel> + 'a {
    let user = match &change.state {
        AggregateState::User(user) if !webhooks.is_empty() => Some(user),
        _ => None,
    };
    user.into_iter().flat_map(move |user| {
        (1..).zip(&change.events).flat_map(move |(offset, payload)| {
            endpoints_for(webhooks, payload, &user.org_id).map(move |endpoint| {
                use sea_orm::ActiveValue::{NotSet, Set};
                webhook_deliveries::ActiveModel {
                    id: NotSet,
                    endpoint: Set(endpoint.url.clone()),
                    user_id: Set(user.id.as_str().to_owned()),
                    sequence: Set(db_sequence(change.expected_sequence + offset)),
                    org_id: Set(user.org_id.as_str().to_owned()),
                    state: Set(0),
                    attempts: Set(0),
                    next_attempt_at: Set(at.unix_micros()),
                    leased_until: Set(0),
                    lease_owner: Set(String::new()),
                    last_status: Set(0),
                    created_at: Set(at.unix_micros()),
                }
            })
        })
    })
}

/// Most delivery rows in one INSERT: 11 values each stays below every backend's limit.
const DELIVERIES_PER_INSERT: usize = 500;

/// Appends outbox rows with as few statements as the parameter limits allow.
async fn insert_deliveries<C: ConnectionTrait>(
    db: &C,
    rows: Vec<webhook_deliveries::ActiveModel>,
) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<webhook_deliveries::ActiveModel> = rows.by_ref().take(DELIVERIES_PER_INSERT).collect();
        webhook_deliveries::Entity::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Most event rows in one INSERT: 8 values each stays below every backend's parameter limit.
const EVENTS_PER_INSERT: usize = 1000;

/// Appends event rows with as few statements as the parameter limits allow.
async fn insert_events<C: ConnectionTrait>(db: &C, rows: Vec<events::ActiveModel>) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<events::ActiveModel> = rows.by_ref().take(EVENTS_PER_INSERT).collect();
        events::Entity::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

async fn side_effect<C: ConnectionTrait>(db: &C, effect: &SideEffect) -> Result<(), DbErr> {
    match effect {
        SideEffect::PutMembership(membership) => {
            let row = membership_to_row(membership).into_active_model().reset_all();
            memberships::Entity::insert(row).exec_without_returning(db).await?;
        }
        SideEffect::PutToken(token) => {
            let row = tokens::Model {
                id: token.id.as_str().to_owned(),
                user_id: token.user_id.as_str().to_owned(),
                hash: token.hash.to_hex(),
                expires_at: token.expires_at.map(Timestamp::unix_micros),
                revoked: false,
            };
            tokens::Entity::insert(row.into_active_model().reset_all()).exec_without_returning(db).await?;
        }
        SideEffect::RevokeTokensOf(user) => {
            tokens::Entity::update_many()
                .col_expr(tokens::Column::Revoked, Expr::value(true))
                .filter(tokens::Column::UserId.eq(user.as_str()))
                .exec(db)
                .await?;
        }
        SideEffect::RemoveMembershipsOf(user) => {
            memberships::Entity::delete_many().filter(memberships::Column::UserId.eq(user.as_str())).exec(db).await?;
        }
    }
    Ok(())
}
