//! [`SeaOrmStore`]: the [`Store`] port on SeaORM, reading through a pool and writing through the
//! group-commit workers.

use crate::config::{Backend, StorageConfig, redact_url};
use crate::entities::{events, instance, memberships, orgs, tokens, users};
use crate::migration::Migrator;
use crate::rows::{db_sequence, event_from_row, instance_from_row, membership_from_row, org_from_row, user_from_row};
use crate::writer::{self, Job, WriterSettings};
use persona_domain::auth::{Caller, TokenHash};
use persona_domain::events::{AggregateType, Event};
use persona_domain::ids::{OrgId, UserId};
use persona_domain::org::Org;
use persona_domain::ports::{Commit, Committed, EventPage, INSTANCE_ID, Instance, Store, StoreError};
use persona_domain::time::Timestamp;
use persona_domain::user::{User, UserState};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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

/// The SeaORM store: cheap to clone, all clones share the pools and the commit queue.
#[derive(Debug, Clone)]
pub struct SeaOrmStore {
    read: DatabaseConnection,
    commits: mpsc::Sender<Job>,
    backend: Backend,
}

fn unavailable(error: &DbErr) -> StoreError {
    tracing::warn!(error = %error, "database read failed");
    StoreError::Unavailable(error.to_string())
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
            options.map_sqlx_sqlite_opts(move |o: SqliteConnectOptions| {
                o.create_if_missing(true)
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
        let settings = WriterSettings { workers, max_batch: config.max_batch, sqlite: backend == Backend::Sqlite };
        let commits = writer::spawn(write, &settings);
        Ok(Self { read, commits, backend })
    }

    /// Which database this store uses.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The read connection pool (for tests and tools that inspect the tables).
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.read
    }
}

impl Store for SeaOrmStore {
    async fn caller(&self, token: &TokenHash, now: Timestamp) -> Result<Option<Caller>, StoreError> {
        let row = tokens::Entity::find()
            .filter(tokens::Column::Hash.eq(token.to_hex()))
            .filter(tokens::Column::Revoked.eq(false))
            .one(&self.read)
            .await
            .map_err(|e| unavailable(&e))?;
        let Some(row) = row.filter(|t| t.expires_at.is_none_or(|at| at > now.unix_micros())) else {
            return Ok(None);
        };
        let user = users::Entity::find_by_id(row.user_id.clone()).one(&self.read).await.map_err(|e| unavailable(&e))?;
        let Some(user) = user.filter(|u| u.state != UserState::Deleted.number()) else {
            return Ok(None);
        };
        let memberships = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(row.user_id))
            .all(&self.read)
            .await
            .map_err(|e| unavailable(&e))?
            .into_iter()
            .map(membership_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Caller { user_id: UserId::new(user.id), org_id: OrgId::new(user.org_id), memberships }))
    }

    async fn org(&self, id: &OrgId) -> Result<Option<Org>, StoreError> {
        let row = orgs::Entity::find_by_id(id.as_str()).one(&self.read).await.map_err(|e| unavailable(&e))?;
        row.map(org_from_row).transpose()
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let row = users::Entity::find_by_id(id.as_str()).one(&self.read).await.map_err(|e| unavailable(&e))?;
        row.map(user_from_row).transpose()
    }

    async fn user_events(&self, id: &UserId, page: EventPage) -> Result<Vec<Event>, StoreError> {
        let mut query = events::Entity::find()
            .filter(events::Column::AggregateType.eq(AggregateType::User.as_str()))
            .filter(events::Column::AggregateId.eq(id.as_str()));
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

    async fn instance(&self) -> Result<Option<Instance>, StoreError> {
        let row = instance::Entity::find_by_id(INSTANCE_ID).one(&self.read).await.map_err(|e| unavailable(&e))?;
        row.map(instance_from_row).transpose()
    }

    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.commits
            .send(Job { commit, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the commit workers stopped".to_owned()))?;
        outcome.await.map_err(|_| StoreError::Unavailable("the commit worker stopped before answering".to_owned()))?
    }

    async fn ping(&self) -> Result<(), StoreError> {
        instance::Entity::find().limit(1).all(&self.read).await.map(|_| ()).map_err(|e| unavailable(&e))
    }
}
