//! `webhook_deliveries`: the transactional outbox, one row per (endpoint, user event) not yet
//! delivered (pending) or given up on (failed).

use sea_orm::entity::prelude::*;

/// One delivery row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The endpoint's URL.
    pub endpoint: String,
    /// The user whose event it is.
    pub user_id: String,
    /// The event's sequence in the user's stream.
    pub sequence: i64,
    /// The org owning the user at the event.
    pub org_id: String,
    /// 0 pending, 2 failed (parked).
    pub state: i32,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due, microseconds.
    pub next_attempt_at: i64,
    /// Until when the lease holds, microseconds; 0: not leased.
    pub leased_until: i64,
    /// Who holds (or last held) the lease.
    pub lease_owner: String,
    /// The last HTTP status, 0 for none.
    pub last_status: i32,
    /// The event's commit time, microseconds.
    pub created_at: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
