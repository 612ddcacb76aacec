//! `users`: the read model of users, one row per user with the state after its last event.

use sea_orm::entity::prelude::*;

/// One user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// User id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owning org.
    pub org_id: String,
    /// User name as given.
    pub user_name: String,
    /// Lower-cased user name while the user is not removed (unique); NULL once removed.
    pub user_name_key: Option<String>,
    /// `human` or `machine`.
    pub kind: String,
    /// UserState wire number.
    pub state: i32,
    /// Human: first name.
    pub first_name: String,
    /// Human: last name.
    pub last_name: String,
    /// Human: nick name.
    pub nick_name: String,
    /// Human: display name.
    pub display_name: String,
    /// Human: canonical language tag.
    pub preferred_language: String,
    /// Human: gender wire number.
    pub gender: i32,
    /// Human: email.
    pub email: String,
    /// Human: email verified.
    pub email_verified: bool,
    /// Human: phone.
    pub phone: Option<String>,
    /// Human: phone verified.
    pub phone_verified: bool,
    /// Machine: name.
    pub machine_name: String,
    /// Machine: description.
    pub machine_description: String,
    /// Machine: access token type wire number.
    pub access_token_type: i32,
    /// Lower-cased first name (empty for machines), for searches that ignore case.
    pub first_name_key: String,
    /// Lower-cased last name (empty for machines).
    pub last_name_key: String,
    /// Lower-cased nick name (empty for machines).
    pub nick_name_key: String,
    /// Lower-cased display name; a machine's lower-cased name.
    pub display_name_key: String,
    /// Lower-cased email (empty for machines).
    pub email_key: String,
    /// Lower-cased phone (empty without one).
    pub phone_key: String,
    /// The provisioning client's identifier (SCIM's `externalId`), empty for none.
    pub external_id: String,
    /// Lower-cased external id, for searches that ignore case.
    pub external_id_key: String,
    /// Events of the user so far.
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
