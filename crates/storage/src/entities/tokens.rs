//! `tokens`: personal access tokens, by SHA-256 hash only.

use sea_orm::entity::prelude::*;

/// One token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tokens")]
pub struct Model {
    /// Token id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The machine user.
    pub user_id: String,
    /// Hex SHA-256 of the token (unique).
    pub hash: String,
    /// Expiry in microseconds, NULL for never.
    pub expires_at: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
