//! `orgs`: the read model of organisations.

use sea_orm::entity::prelude::*;

/// One org row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orgs")]
pub struct Model {
    /// Org id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Name.
    pub name: String,
    /// OrgState wire number.
    pub state: i32,
    /// Primary domain.
    pub primary_domain: String,
    /// Events of the org so far.
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
