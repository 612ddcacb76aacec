//! `memberships`: roles of users in orgs (`org_id` empty for instance-wide roles).

use sea_orm::entity::prelude::*;

/// One membership row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    /// The member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// The org, or the empty string for instance-wide roles.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    /// Role names separated by commas.
    pub roles: String,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
