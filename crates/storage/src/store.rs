//! [`SeaOrmStore`]: the [`Store`] port on SeaORM, reading through a pool and writing through the
//! group-commit workers.

use crate::callers::{self, CallerCache};
use crate::config::{Backend, StorageConfig, redact_url};
use crate::entities::{events, instance, memberships, orgs, users};
use crate::lock::{self, SeaOrmLock};
use crate::migration::Migrator;
use crate::rows::{db_sequence, event_from_row, instance_from_row, membership_from_row, org_from_row, user_from_row};
use crate::search;
use crate::stats::{CommitStats, PoolStats, StorageStats};
use crate::writer::{self, CommitClock, Job, WriterSettings};
use persona_domain::auth::{Caller, Membership, TokenHash, TokenRecord};
use persona_domain::events::{AggregateType, Event};
use persona_domain::ids::{OrgId, UserId};
use persona_domain::org::Org;
use persona_domain::ports::{Commit, Committed, EventPage, INSTANCE_ID, Instance, Store, StoreError};
use persona_domain::query::{UserPage, UserSearch};
use persona_domain::time::Timestamp;
use persona_domain::user::{User, UserState};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0} (use sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    /// The database could not be reached.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// What the driver said.
        reason: String,
    },
    /// The migrations failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
}

/// The SeaORM store: cheap to clone, all clones share the pools, the commit queue and the
/// cache of authenticated callers.
#[derive(Clone)]
pub struct SeaOrmStore {
    read: DatabaseConnection,
    /// The pool the commit workers write through (on PostgreSQL the same as `read`); locked
    /// transactions take their connection from it too.
    write: DatabaseConnection,
    commits: mpsc::Sender<Job>,
    backend: Backend,
    callers: Arc<CallerCache>,
    clock: Arc<CommitClock>,
    stats: Arc<CommitStats>,
    outbox: lock::Outbox,
}

impl std::fmt::Debug for SeaOrmStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmStore").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// A failed read; its cause travels on the error and is logged once, where it is answered.
fn unavailable(error: &DbErr) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn sqlite_pool(name: &'static str, pool: &sea_orm::sqlx::SqlitePool) -> PoolStats {
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    PoolStats { pool: name, open: pool.size(), idle, max: pool.options().get_max_connections() }
}

fn postgres_pool(name: &'static str, pool: &sea_orm::sqlx::PgPool) -> PoolStats {
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    PoolStats { pool: name, open: pool.size(), idle, max: pool.options().get_max_connections() }
}

/// Token, user and memberships of a token hash in one query; `$p` is the placeholder.
macro_rules! caller_sql {
    ($p:literal) => {
        concat!(
            "SELECT t.user_id, t.expires_at, t.revoked, u.org_id, u.state, m.org_id AS member_org, m.roles ",
            "FROM tokens t JOIN users u ON u.id = t.user_id ",
            "LEFT JOIN memberships m ON m.user_id = t.user_id ",
            "WHERE t.hash = ",
            $p,
            " ORDER BY m.org_id"
        )
    };
}

/// The row a primary-key lookup finds. Deliberately not `.one()`: that appends `LIMIT ?`, and
/// SQLite (3.51, as bundled here) looks at a bound LIMIT value while planning, which expires
/// the prepared statement at every new binding: each lookup was parsed and planned again, which
/// cost more than the lookup itself (see BENCHMARKS.md).
async fn by_key<E: EntityTrait, C: ConnectionTrait>(
    select: sea_orm::Select<E>,
    db: &C,
) -> Result<Option<E::Model>, StoreError> {
    Ok(select.all(db).await.map_err(|e| unavailable(&e))?.into_iter().next())
}

/// Prepared statements kept per connection: a batch's events and its webhook deliveries are
/// each appended by one multi-row INSERT whose text depends on the row count, so up to
/// `max_batch` texts each, plus the fixed statements. With fewer, those texts push each other
/// (and the fixed ones) out and are parsed and planned again on every batch.
fn statement_cache(config: &StorageConfig) -> usize {
    config.max_batch.saturating_mul(2).saturating_add(128)
}

async fn open(
    config: &StorageConfig,
    backend: Backend,
    max_connections: u32,
) -> Result<DatabaseConnection, StorageError> {
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .sqlx_logging(false);
    match backend {
        Backend::Sqlite => {
            let busy = config.busy_timeout;
            let statements = statement_cache(config);
            options.map_sqlx_sqlite_opts(move |o: SqliteConnectOptions| {
                o.create_if_missing(true)
                    .statement_cache_capacity(statements)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
        }
        Backend::Postgres => {
            if let Some(schema) = &config.schema {
                options.set_schema_search_path(schema.clone());
            }
            options.map_sqlx_postgres_opts(|o: PgConnectOptions| o.options([("synchronous_commit", "on")]));
        }
    }
    Database::connect(options)
        .await
        .map_err(|e| StorageError::Connect { url: redact_url(&config.url), reason: e.to_string() })
}

/// Applies the migrations; several processes starting at once may race, so a failed attempt
/// is retried after the winner finished.
async fn migrate(db: &DatabaseConnection) -> Result<(), StorageError> {
    let mut last = String::new();
    for attempt in 0..5u64 {
        match Migrator::up(db, None).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                last = error.to_string();
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
        }
    }
    Err(StorageError::Migrate(last))
}

impl SeaOrmStore {
    /// Opens the database, creates the PostgreSQL schema if one is configured, applies the
    /// migrations and starts the commit workers. Must run inside a Tokio runtime.
    ///
    /// # Errors
    /// [`StorageError`] when the URL is unsupported, the database unreachable or a migration
    /// fails.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(backend = ?config.backend()))]
    pub async fn connect(config: &StorageConfig) -> Result<Self, StorageError> {
        let backend = config.backend().ok_or_else(|| StorageError::UnsupportedUrl(redact_url(&config.url)))?;
        if let (Backend::Postgres, Some(schema)) = (backend, &config.schema) {
            let admin = open(&StorageConfig { schema: None, ..config.clone() }, backend, 1).await?;
            let quoted = schema.replace('"', "\"\"");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{quoted}\""))
                .await
                .map_err(|e| StorageError::Migrate(e.to_string()))?;
            let _ = admin.close().await;
        }
        let (read, write, workers) = match backend {
            Backend::Sqlite => {
                let write = open(config, backend, 1).await?;
                migrate(&write).await?;
                let read = open(config, backend, config.max_connections.unwrap_or(4)).await?;
                (read, write, config.writers.unwrap_or(1))
            }
            Backend::Postgres => {
                let pool = open(config, backend, config.max_connections.unwrap_or(16)).await?;
                migrate(&pool).await?;
                (pool.clone(), pool, config.writers.unwrap_or(4))
            }
        };
        let outbox = lock::Outbox { webhooks: config.webhooks.clone().into(), signal: Arc::new(Notify::new()) };
        let settings = WriterSettings {
            workers,
            max_batch: config.max_batch,
            sqlite: backend == Backend::Sqlite,
            webhooks: Arc::clone(&outbox.webhooks),
            outbox_signal: Arc::clone(&outbox.signal),
        };
        let clock = Arc::new(CommitClock::default());
        let stats = Arc::new(CommitStats::default());
        let commits = writer::spawn(write.clone(), &settings, Arc::clone(&clock), Arc::clone(&stats));
        let callers = Arc::new(CallerCache::new(config.caller_cache_ttl));
        Ok(Self { read, write, commits, backend, callers, clock, stats, outbox })
    }

    /// Which database this store uses.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The token with its user and memberships, in one query.
    async fn read_token(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => caller_sql!("?"),
            Backend::Postgres => caller_sql!("$1"),
        };
        let statement = Statement::from_sql_and_values(self.read.get_database_backend(), sql, [token.to_hex().into()]);
        let rows = self.read.query_all_raw(statement).await.map_err(|e| unavailable(&e))?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let column = |e: DbErr| StoreError::Corrupt(format!("caller row: {e}"));
        let user_id: String = first.try_get("", "user_id").map_err(column)?;
        let expires_at: Option<i64> = first.try_get("", "expires_at").map_err(column)?;
        let revoked: bool = first.try_get("", "revoked").map_err(column)?;
        let org_id: String = first.try_get("", "org_id").map_err(column)?;
        let state: i32 = first.try_get("", "state").map_err(column)?;
        let mut memberships = Vec::with_capacity(rows.len());
        for row in &rows {
            let member_org: Option<String> = row.try_get("", "member_org").map_err(column)?;
            let roles: Option<String> = row.try_get("", "roles").map_err(column)?;
            if let (Some(org_id), Some(roles)) = (member_org, roles) {
                memberships.push(membership_from_row(memberships::Model { user_id: user_id.clone(), org_id, roles })?);
            }
        }
        Ok(Some(TokenRecord {
            caller: Caller { user_id: UserId::new(user_id), org_id: OrgId::new(org_id), memberships },
            expires_at: expires_at.map(Timestamp::from_unix_micros),
            revoked,
            user_removed: state == UserState::Deleted.number(),
        }))
    }

    /// A write transaction for a lock: on SQLite `BEGIN IMMEDIATE` takes the database's write
    /// lock at once.
    async fn begin_locked(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = writer::write_options(self.backend == Backend::Sqlite);
        self.write.begin_with_options(options).await.map_err(|e| unavailable(&e))
    }

    fn hold(&self, txn: DatabaseTransaction) -> SeaOrmLock {
        SeaOrmLock::new(
            txn,
            Arc::clone(&self.clock),
            Arc::clone(&self.callers),
            Arc::clone(&self.stats),
            self.outbox.clone(),
        )
    }

    /// The commit queue, the batches, commit latency, lost races and the pools, now.
    #[must_use]
    pub fn stats(&self) -> StorageStats {
        let capacity = self.commits.max_capacity();
        let free = self.commits.capacity();
        let pools = match self.backend {
            Backend::Sqlite => vec![
                sqlite_pool("read", self.read.get_sqlite_connection_pool()),
                sqlite_pool("write", self.write.get_sqlite_connection_pool()),
            ],
            Backend::Postgres => vec![postgres_pool("read_write", self.read.get_postgres_connection_pool())],
        };
        StorageStats {
            queue_depth: u64::try_from(capacity.saturating_sub(free)).unwrap_or(u64::MAX),
            queue_capacity: u64::try_from(capacity).unwrap_or(u64::MAX),
            batch_size: self.stats.batch_size.snapshot(),
            commit_seconds: self.stats.commit_seconds.snapshot(),
            conflicts: self.stats.conflicts.load(std::sync::atomic::Ordering::Relaxed),
            pools,
        }
    }

    /// The pool writes go through.
    pub(crate) fn write_connection(&self) -> &DatabaseConnection {
        &self.write
    }

    /// The webhook endpoints and the signal of new deliveries.
    pub(crate) fn outbox_parts(&self) -> &lock::Outbox {
        &self.outbox
    }

    /// The read connection pool (for tests and tools that inspect the tables).
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.read
    }
}

impl Store for SeaOrmStore {
    type Lock = SeaOrmLock;

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn token(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let miss = match self.callers.get(token) {
            Ok(record) => return Ok(Some(record)),
            Err(miss) => miss,
        };
        let Some(record) = self.read_token(token).await? else {
            return Ok(None);
        };
        self.callers.store(miss, token, &record);
        Ok(Some(record))
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(org_id = id.as_str()))]
    async fn org(&self, id: &OrgId) -> Result<Option<Org>, StoreError> {
        let row = by_key(orgs::Entity::find_by_id(id.as_str()), &self.read).await?;
        row.map(org_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn org_by_domain(&self, domain: &str) -> Result<Option<Org>, StoreError> {
        let query = orgs::Entity::find().filter(orgs::Column::PrimaryDomain.eq(domain));
        let row = query.one(&self.read).await.map_err(|e| unavailable(&e))?;
        row.map(org_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(user_id = id.as_str()))]
    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let row = by_key(users::Entity::find_by_id(id.as_str()), &self.read).await?;
        row.map(user_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(offset = search.offset, limit = search.limit))]
    async fn list_users(&self, search: &UserSearch) -> Result<UserPage, StoreError> {
        let condition = search::condition(search, self.backend);
        let page = search::page(search, condition.clone());
        let rows = page.clone().all(&self.read).await.map_err(|e| unavailable(&e))?;
        let total = search::total_from_page(search.offset, search.limit, rows.len());
        let (rows, total) = match total {
            Some(total) => (rows, total),
            // The count and the page from one snapshot, so that they agree under concurrent writes.
            None => {
                let txn = match self.backend {
                    Backend::Sqlite => self.read.begin().await,
                    Backend::Postgres => {
                        let (level, mode) = (IsolationLevel::RepeatableRead, AccessMode::ReadOnly);
                        self.read.begin_with_config(Some(level), Some(mode)).await
                    }
                }
                .map_err(|e| unavailable(&e))?;
                let rows = page.all(&txn).await.map_err(|e| unavailable(&e))?;
                let counted: Vec<i64> =
                    search::count(condition).into_tuple().all(&txn).await.map_err(|e| unavailable(&e))?;
                txn.commit().await.map_err(|e| unavailable(&e))?;
                let total = counted.first().and_then(|&n| u64::try_from(n).ok());
                (rows, total.ok_or_else(|| StoreError::Corrupt("a count that is no count".to_owned()))?)
            }
        };
        let users = rows.into_iter().map(user_from_row).collect::<Result<_, _>>()?;
        Ok(UserPage { total, users })
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(user_id = user.as_str()))]
    async fn memberships(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        let query = memberships::Entity::find().filter(memberships::Column::UserId.eq(user.as_str()));
        let rows = query.all(&self.read).await.map_err(|e| unavailable(&e))?;
        rows.into_iter().map(membership_from_row).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn instance_memberships(&self) -> Result<Vec<Membership>, StoreError> {
        // Instance-wide memberships are stored with an empty org id.
        let query = memberships::Entity::find().filter(memberships::Column::OrgId.eq(""));
        let rows = query.all(&self.read).await.map_err(|e| unavailable(&e))?;
        rows.into_iter().map(membership_from_row).collect()
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        err(level = "debug"),
        fields(aggregate = aggregate.as_str(), aggregate_id = id, cursor = page.cursor, limit = page.limit)
    )]
    async fn events(&self, aggregate: AggregateType, id: &str, page: EventPage) -> Result<Vec<Event>, StoreError> {
        let mut query = events::Entity::find()
            .filter(events::Column::AggregateType.eq(aggregate.as_str()))
            .filter(events::Column::AggregateId.eq(id));
        let cursor = db_sequence(page.cursor);
        query = if page.ascending {
            query.filter(events::Column::Sequence.gt(cursor)).order_by_asc(events::Column::Sequence)
        } else {
            if page.cursor > 0 {
                query = query.filter(events::Column::Sequence.lt(cursor));
            }
            query.order_by_desc(events::Column::Sequence)
        };
        let rows = query.limit(u64::from(page.limit)).all(&self.read).await.map_err(|e| unavailable(&e))?;
        rows.into_iter().map(event_from_row).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn instance(&self) -> Result<Option<Instance>, StoreError> {
        let row = by_key(instance::Entity::find_by_id(INSTANCE_ID), &self.read).await?;
        row.map(instance_from_row).transpose()
    }

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
    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        let started = std::time::Instant::now();
        let (reply, outcome) = oneshot::channel();
        let affects_callers = callers::affects_callers(&commit);
        let sent = self.commits.send(Job { commit, reply }).await;
        let result = match sent {
            Ok(()) => outcome.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable("the commit worker stopped before answering".to_owned()))
            }),
            Err(_) => Err(StoreError::Unavailable("the commit workers stopped".to_owned())),
        };
        // Whatever the outcome (a failed commit may still have landed), before anyone hears of it.
        if affects_callers {
            self.callers.invalidate();
        }
        self.stats.commit_ended(started.elapsed(), &result);
        result
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn ping(&self) -> Result<(), StoreError> {
        instance::Entity::find().limit(1).all(&self.read).await.map(|_| ()).map_err(|e| unavailable(&e))
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(user_id = id.as_str()))]
    async fn lock_user(&self, id: &UserId) -> Result<(Option<User>, SeaOrmLock), StoreError> {
        let txn = self.begin_locked().await?;
        let row = by_key(users::Entity::find_by_id(id.as_str()).lock_exclusive(), &txn).await?;
        Ok((row.map(user_from_row).transpose()?, self.hold(txn)))
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(org_id = id.as_str()))]
    async fn lock_org(&self, id: &OrgId) -> Result<(Option<Org>, SeaOrmLock), StoreError> {
        let txn = self.begin_locked().await?;
        let row = by_key(orgs::Entity::find_by_id(id.as_str()).lock_exclusive(), &txn).await?;
        Ok((row.map(org_from_row).transpose()?, self.hold(txn)))
    }
}
