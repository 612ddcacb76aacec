//! `events`: the append-only log, unique per aggregate and sequence.

use sea_orm::entity::prelude::*;

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Global position in the log.
    #[sea_orm(primary_key)]
    pub position: i64,
    /// `user`, `org` or `instance`.
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate_id: String,
    /// Sequence within the aggregate, from 1.
    pub sequence: i64,
    /// `user.human.profile.changed`, ...
    pub event_type: String,
    /// JSON payload.
    pub payload: String,
    /// Who caused it.
    pub editor_id: String,
    /// Owning org.
    pub resource_owner: String,
    /// Commit time, microseconds since the epoch.
    pub created_at: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
