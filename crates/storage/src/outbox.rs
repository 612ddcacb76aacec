//! The webhook outbox on SeaORM: [`Outbox`] for [`SeaOrmStore`]. Deliveries are written by the
//! commits themselves (`writer`); here they are leased, settled, counted and enqueued again.
//!
//! Leasing takes, per (endpoint, user) queue, only the pending delivery of lowest sequence, and
//! only while no other delivery of that queue is leased, so that a user's events reach an
//! endpoint in order whichever instance sends them. On PostgreSQL the candidates are locked
//! with `FOR UPDATE SKIP LOCKED`, so two instances never lease the same row; on SQLite the
//! single statement runs under the database's one write lock. A lease expires: a crashed
//! instance's deliveries are taken over once it has.

use crate::config::Backend;
use crate::store::SeaOrmStore;
use persona_domain::events::EventPayload;
use persona_domain::ids::{OrgId, UserId};
use persona_domain::time::Timestamp;
use persona_domain::webhook::{Delivery, EndpointStatus, Lease, Outbox, OutboxError, Outcome, WebhookEndpoint};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, TransactionTrait, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Delivery states as stored.
const PENDING: i32 = 0;
const FAILED: i32 = 2;

fn unavailable(error: &DbErr) -> OutboxError {
    OutboxError::Unavailable(error.to_string())
}

fn corrupt(error: DbErr) -> OutboxError {
    OutboxError::Corrupt(error.to_string())
}

/// `ids` as one bound value for [`SeaOrmStore::among`]: a JSON array for SQLite, an array
/// literal for PostgreSQL. One parameter rather than a list written into the SQL, so that
/// each statement has one text whatever the number of ids, and stays prepared.
fn id_values(backend: Backend, ids: impl IntoIterator<Item = i64>) -> Value {
    let (open, close) = match backend {
        Backend::Sqlite => ('[', ']'),
        Backend::Postgres => ('{', '}'),
    };
    let mut list = String::from(open);
    for (index, id) in ids.into_iter().enumerate() {
        if index > 0 {
            list.push(',');
        }
        let _ = write!(list, "{id}");
    }
    list.push(close);
    list.into()
}

impl SeaOrmStore {
    /// The condition "`column` is one of the ids bound here" ([`id_values`]).
    fn among(&self, column: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each(?))"),
            Backend::Postgres => format!("{column} = ANY(CAST(? AS BIGINT[]))"),
        }
    }

    fn ids(&self, ids: impl IntoIterator<Item = i64>) -> Value {
        id_values(self.backend(), ids)
    }

    /// `sql` with `?` placeholders, numbered `$n` for PostgreSQL.
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        let sql = match self.backend() {
            Backend::Sqlite => sql.to_owned(),
            Backend::Postgres => {
                let mut numbered = String::with_capacity(sql.len() + 8);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        let _ = write!(numbered, "${n}");
                    } else {
                        numbered.push(c);
                    }
                }
                numbered
            }
        };
        Statement::from_sql_and_values(self.write_connection().get_database_backend(), sql, values)
    }

    /// Wakes whoever waits for new deliveries ([`SeaOrmStore::outbox_signal`]) after a commit
    /// recorded some.
    #[must_use]
    pub fn outbox_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.outbox_parts().signal)
    }

    /// The runs of the leased heads `ids`: each head and up to `run - 1` pending deliveries of
    /// its queue after it, in sequence order (a replay's copy of the head itself stays for
    /// later). Read from the read pool: the lease is committed, and only its holder moves the
    /// rows it covers.
    async fn runs(&self, ids: &[i64], run: u32) -> Result<Vec<Delivery>, OutboxError> {
        let sql = format!(
            "SELECT d.id, r.lease_id, d.endpoint, d.user_id, d.sequence, d.org_id, d.attempts, d.created_at, \
             e.event_type, e.payload, e.editor_id, e.created_at AS committed_at \
             FROM (SELECT f.id, h.id AS lease_id, \
             ROW_NUMBER() OVER (PARTITION BY h.id ORDER BY f.sequence, f.id) AS place \
             FROM webhook_deliveries h JOIN webhook_deliveries f ON f.endpoint = h.endpoint \
             AND f.state = {PENDING} AND f.user_id = h.user_id \
             AND (f.id = h.id OR f.sequence > h.sequence) WHERE {}) r \
             JOIN webhook_deliveries d ON d.id = r.id \
             JOIN events e ON e.aggregate_type = 'user' AND e.aggregate_id = d.user_id AND e.sequence = d.sequence \
             WHERE r.place <= ? ORDER BY r.lease_id, r.place",
            self.among("h.id")
        );
        let statement = self.statement(&sql, vec![self.ids(ids.iter().copied()), i64::from(run.max(1)).into()]);
        let rows = self.connection().query_all_raw(statement).await.map_err(|e| unavailable(&e))?;
        rows.iter().map(delivery_from_row).collect()
    }
}

/// The `id` column of `rows`.
fn ids_of(rows: &[QueryResult]) -> Result<Vec<i64>, OutboxError> {
    rows.iter().map(|row| row.try_get("", "id")).collect::<Result<_, _>>().map_err(corrupt)
}

fn delivery_from_row(row: &QueryResult) -> Result<Delivery, OutboxError> {
    let id: i64 = row.try_get("", "id").map_err(corrupt)?;
    let sequence: i64 = row.try_get("", "sequence").map_err(corrupt)?;
    let attempts: i32 = row.try_get("", "attempts").map_err(corrupt)?;
    let event_type: String = row.try_get("", "event_type").map_err(corrupt)?;
    let payload: String = row.try_get("", "payload").map_err(corrupt)?;
    let payload = EventPayload::from_json(&event_type, &payload)
        .map_err(|e| OutboxError::Corrupt(format!("delivery {id}: {e}")))?;
    Ok(Delivery {
        id,
        endpoint: row.try_get("", "endpoint").map_err(corrupt)?,
        user_id: UserId::new(row.try_get::<String>("", "user_id").map_err(corrupt)?),
        sequence: u64::try_from(sequence).map_err(|_| OutboxError::Corrupt(format!("delivery {id}: sequence")))?,
        org_id: OrgId::new(row.try_get::<String>("", "org_id").map_err(corrupt)?),
        editor: UserId::new(row.try_get::<String>("", "editor_id").map_err(corrupt)?),
        payload,
        committed_at: Timestamp::from_unix_micros(row.try_get("", "committed_at").map_err(corrupt)?),
        enqueued_at: Timestamp::from_unix_micros(row.try_get("", "created_at").map_err(corrupt)?),
        attempts: u32::try_from(attempts).unwrap_or(0),
        lease_id: row.try_get("", "lease_id").map_err(corrupt)?,
    })
}

impl Outbox for SeaOrmStore {
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn lease(&self, endpoints: &[String], owner: &str, lease: Lease) -> Result<Vec<Delivery>, OutboxError> {
        if endpoints.is_empty() || lease.queues == 0 {
            return Ok(Vec::new());
        }
        let now = lease.now.unix_micros();
        // The candidates, from the read pool so that the pass over the backlog holds no write
        // lock: one ordered pass over the pending rows of these endpoints (in the order of the
        // `webhook_deliveries_heads` index, so without a sort; both windows share it) numbers
        // each queue's rows and finds whether any of them is leased, giving the due heads of
        // the free queues.
        let wanted = vec!["?"; endpoints.len()].join(", ");
        let heads = format!(
            "SELECT h.id FROM (SELECT d.id, d.endpoint, d.next_attempt_at, ROW_NUMBER() OVER queue AS place, \
             MAX(d.leased_until) OVER (queue ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS busy_until \
             FROM webhook_deliveries d WHERE d.state = {PENDING} AND d.endpoint IN ({wanted}) \
             WINDOW queue AS (PARTITION BY d.endpoint, d.user_id ORDER BY d.sequence)) h \
             WHERE h.place = 1 AND h.busy_until < ? AND h.next_attempt_at <= ? \
             AND NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.url = h.endpoint AND w.disabled_at IS NOT NULL) \
             ORDER BY h.next_attempt_at, h.id LIMIT ?"
        );
        let mut values: Vec<Value> = endpoints.iter().map(|url| Value::from(url.as_str())).collect();
        values.extend([now.into(), now.into(), i64::from(lease.queues).into()]);
        let rows =
            self.connection().query_all_raw(self.statement(&heads, values)).await.map_err(|e| unavailable(&e))?;
        let candidates = ids_of(&rows)?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // The claim of the heads, checked again row by row when it is made (that snapshot may
        // be old): still pending, due and not leased, and still the head of its queue (a replay
        // enqueued nothing below it). Nothing else of its queue can have been leased or moved
        // since: only heads are leased, and only the holder of a queue's lease settles its rows.
        // On PostgreSQL, rows another instance is claiming right now are skipped.
        let claimable = match self.backend() {
            Backend::Postgres => {
                format!(
                    "id IN (SELECT l.id FROM webhook_deliveries l WHERE {} FOR UPDATE SKIP LOCKED)",
                    self.among("l.id")
                )
            }
            Backend::Sqlite => self.among("id"),
        };
        let claim = format!(
            "UPDATE webhook_deliveries SET leased_until = ?, lease_owner = ? \
             WHERE {claimable} AND state = {PENDING} AND leased_until < ? AND next_attempt_at <= ? \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries q WHERE q.endpoint = webhook_deliveries.endpoint \
             AND q.state = {PENDING} AND q.user_id = webhook_deliveries.user_id \
             AND q.sequence < webhook_deliveries.sequence) \
             RETURNING id"
        );
        let values = vec![
            lease.until.unix_micros().into(),
            owner.into(),
            self.ids(candidates.iter().copied()),
            now.into(),
            now.into(),
        ];
        let rows =
            self.write_connection().query_all_raw(self.statement(&claim, values)).await.map_err(|e| unavailable(&e))?;
        let claimed = ids_of(&rows)?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // The runs in the candidates' order (oldest due first), each in sequence order.
        let mut ordered = candidates;
        ordered.retain(|id| claimed.contains(id));
        let mut runs = self.runs(&ordered, lease.run).await?;
        runs.sort_by_key(|delivery| ordered.iter().position(|id| *id == delivery.lease_id));
        Ok(runs)
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"), fields(settled = settled.len()))]
    async fn settle(&self, owner: &str, settled: &[(Delivery, Outcome)], now: Timestamp) -> Result<(), OutboxError> {
        if settled.is_empty() {
            return Ok(());
        }
        let delivered = |heads: bool| -> Vec<i64> {
            settled
                .iter()
                .filter(|(delivery, outcome)| *outcome == Outcome::Delivered && delivery.heads_run() == heads)
                .map(|(delivery, _)| delivery.id)
                .collect()
        };
        // A head leaves the outbox only while its lease is still ours (else its new owner
        // settles it), the rest of a run in any case (it was delivered).
        let delete = format!(
            "DELETE FROM webhook_deliveries WHERE {} AND (lease_owner = ? OR NOT {})",
            self.among("id"),
            self.among("id")
        );
        let heads = delivered(true);
        let all = heads.iter().copied().chain(delivered(false));
        let deletion = self.statement(&delete, vec![self.ids(all), owner.into(), self.ids(heads.iter().copied())]);
        if settled.iter().all(|(_, outcome)| *outcome == Outcome::Delivered) {
            // The common case, in one statement of its own.
            return self.write_connection().execute_raw(deletion).await.map(|_| ()).map_err(|e| unavailable(&e));
        }
        let txn = self.write_connection().begin().await.map_err(|e| unavailable(&e))?;
        // Attempts that did not deliver first, while the heads of their runs are still there to
        // show whose lease covers them (a head delivered in this batch is deleted below).
        let ours = "EXISTS (SELECT 1 FROM webhook_deliveries h WHERE h.id = ? AND h.lease_owner = ?)";
        for (delivery, outcome) in settled {
            let guard = || -> [Value; 2] { [delivery.lease_id.into(), owner.into()] };
            let (sql, values): (String, Vec<Value>) = match *outcome {
                Outcome::Delivered => continue,
                Outcome::Retry { at, status } => (
                    format!(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, leased_until = 0, \
                         last_status = ? WHERE id = ? AND {ours}"
                    ),
                    [at.unix_micros().into(), i32::from(status).into(), delivery.id.into()]
                        .into_iter()
                        .chain(guard())
                        .collect(),
                ),
                Outcome::Parked { status } => (
                    format!(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, state = {FAILED}, leased_until = 0, \
                         last_status = ? WHERE id = ? AND {ours}"
                    ),
                    [i32::from(status).into(), delivery.id.into()].into_iter().chain(guard()).collect(),
                ),
                Outcome::Gone => {
                    let upsert = "INSERT INTO webhook_endpoints (url, disabled_at, disabled_status) VALUES (?, ?, 410) \
                                  ON CONFLICT (url) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_status = 410";
                    let values = vec![delivery.endpoint.as_str().into(), now.unix_micros().into()];
                    txn.execute_raw(self.statement(upsert, values)).await.map_err(|e| unavailable(&e))?;
                    (
                        format!(
                            "UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = 0, last_status = 410 \
                             WHERE id = ? AND {ours}"
                        ),
                        [delivery.id.into()].into_iter().chain(guard()).collect(),
                    )
                }
            };
            txn.execute_raw(self.statement(&sql, values)).await.map_err(|e| unavailable(&e))?;
        }
        // Then the delivered.
        txn.execute_raw(deletion).await.map_err(|e| unavailable(&e))?;
        txn.commit().await.map_err(|e| unavailable(&e))
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn status(&self) -> Result<Vec<EndpointStatus>, OutboxError> {
        let sql = format!(
            "SELECT endpoint, CAST(SUM(CASE WHEN state = {PENDING} THEN 1 ELSE 0 END) AS BIGINT) AS pending, \
             MIN(CASE WHEN state = {PENDING} THEN created_at END) AS oldest, \
             CAST(SUM(CASE WHEN state = {FAILED} THEN 1 ELSE 0 END) AS BIGINT) AS failed \
             FROM webhook_deliveries GROUP BY endpoint"
        );
        let db = self.connection();
        let rows = db.query_all_raw(self.statement(&sql, vec![])).await.map_err(|e| unavailable(&e))?;
        let mut found: BTreeMap<String, EndpointStatus> = BTreeMap::new();
        for row in &rows {
            let endpoint: String = row.try_get("", "endpoint").map_err(corrupt)?;
            let pending: i64 = row.try_get("", "pending").map_err(corrupt)?;
            let oldest: Option<i64> = row.try_get("", "oldest").map_err(corrupt)?;
            let failed: i64 = row.try_get("", "failed").map_err(corrupt)?;
            found.insert(
                endpoint.clone(),
                EndpointStatus {
                    endpoint,
                    pending: u64::try_from(pending).unwrap_or(0),
                    oldest_pending: oldest.map(Timestamp::from_unix_micros),
                    failed: u64::try_from(failed).unwrap_or(0),
                    disabled_at: None,
                },
            );
        }
        let disabled = "SELECT url, disabled_at FROM webhook_endpoints WHERE disabled_at IS NOT NULL";
        let rows = db.query_all_raw(self.statement(disabled, vec![])).await.map_err(|e| unavailable(&e))?;
        for row in &rows {
            let url: String = row.try_get("", "url").map_err(corrupt)?;
            let at: i64 = row.try_get("", "disabled_at").map_err(corrupt)?;
            found
                .entry(url.clone())
                .or_insert_with(|| EndpointStatus {
                    endpoint: url,
                    pending: 0,
                    oldest_pending: None,
                    failed: 0,
                    disabled_at: None,
                })
                .disabled_at = Some(Timestamp::from_unix_micros(at));
        }
        Ok(found.into_values().collect())
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn redeliver(&self, endpoint: &WebhookEndpoint, since: Timestamp) -> Result<u64, OutboxError> {
        let select = "SELECT aggregate_id, sequence, event_type, resource_owner FROM events \
                      WHERE aggregate_type = 'user' AND created_at >= ? ORDER BY position";
        let db = self.write_connection();
        let rows = db
            .query_all_raw(self.statement(select, vec![since.unix_micros().into()]))
            .await
            .map_err(|e| unavailable(&e))?;
        let now = crate::system::now().unix_micros();
        let txn = db.begin().await.map_err(|e| unavailable(&e))?;
        let mut count = 0u64;
        for row in &rows {
            let event_type: String = row.try_get("", "event_type").map_err(corrupt)?;
            let org: String = row.try_get("", "resource_owner").map_err(corrupt)?;
            if !endpoint.filter.matches(&event_type, &org) {
                continue;
            }
            let user: String = row.try_get("", "aggregate_id").map_err(corrupt)?;
            let sequence: i64 = row.try_get("", "sequence").map_err(corrupt)?;
            let insert = "INSERT INTO webhook_deliveries (endpoint, user_id, sequence, org_id, state, attempts, \
                          next_attempt_at, leased_until, lease_owner, last_status, created_at) \
                          VALUES (?, ?, ?, ?, 0, 0, ?, 0, '', 0, ?)";
            let values =
                vec![endpoint.url.as_str().into(), user.into(), sequence.into(), org.into(), now.into(), now.into()];
            txn.execute_raw(self.statement(insert, values)).await.map_err(|e| unavailable(&e))?;
            count += 1;
        }
        let enable = "UPDATE webhook_endpoints SET disabled_at = NULL WHERE url = ?";
        txn.execute_raw(self.statement(enable, vec![endpoint.url.as_str().into()]))
            .await
            .map_err(|e| unavailable(&e))?;
        txn.commit().await.map_err(|e| unavailable(&e))?;
        self.outbox_parts().signal.notify_one();
        Ok(count)
    }
}
