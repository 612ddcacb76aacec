//! `instance`: the single row written by the first start.

use sea_orm::entity::prelude::*;

/// The instance row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instance")]
pub struct Model {
    /// Always `instance`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The org created at set-up.
    pub default_org_id: String,
    /// Events of the instance so far.
    pub sequence: i64,
    /// First commit time.
    pub created_at: i64,
    /// Last commit time.
    pub changed_at: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
