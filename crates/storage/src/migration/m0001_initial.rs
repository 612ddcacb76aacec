//! The event log, the read model of users, orgs and the instance, memberships and tokens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::Index;

/// A unique key whose violation rejects one commit as a duplicate rather than failing its
/// batch. The schema below creates the key under [`name`](Self::name), and the writer
/// recognises a violation of it by the same constant: PostgreSQL quotes the name in its
/// message, SQLite lists the key's columns (`UNIQUE constraint failed: users.user_name_key`).
pub(crate) struct UniqueKeyName {
    /// The unique index's or the constraint's name.
    pub(crate) name: &'static str,
    /// The key's first column as `table.column`, as SQLite's message lists it.
    pub(crate) first_column: &'static str,
}

impl UniqueKeyName {
    /// Whether a unique-violation message of either backend names this key.
    pub(crate) fn is_named_in(&self, message: &str) -> bool {
        message.contains(self.name) || message.contains(self.first_column)
    }
}

/// Case-insensitive user names: the unique index on `users.user_name_key`.
pub(crate) const USER_NAME_KEY: UniqueKeyName =
    UniqueKeyName { name: "users_user_name_key", first_column: "users.user_name_key" };

/// One membership per user and org: the primary key of `memberships`. PostgreSQL would name it
/// `memberships_pkey` anyway; the schema names it so that nothing relies on that default.
pub(crate) const MEMBERSHIP_KEY: UniqueKeyName =
    UniqueKeyName { name: "memberships_pkey", first_column: "memberships.user_id" };

/// Creates every table of the first version.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Events {
    Table,
    Position,
    AggregateType,
    AggregateId,
    Sequence,
    EventType,
    Payload,
    EditorId,
    ResourceOwner,
    CreatedAt,
}

#[derive(Iden)]
enum Users {
    Table,
    Id,
    OrgId,
    UserName,
    UserNameKey,
    Kind,
    State,
    FirstName,
    LastName,
    NickName,
    DisplayName,
    PreferredLanguage,
    Gender,
    Email,
    EmailVerified,
    Phone,
    PhoneVerified,
    MachineName,
    MachineDescription,
    AccessTokenType,
    Sequence,
    CreatedAt,
    ChangedAt,
}

#[derive(Iden)]
enum Orgs {
    Table,
    Id,
    Name,
    State,
    PrimaryDomain,
    Sequence,
    CreatedAt,
    ChangedAt,
}

#[derive(Iden)]
enum Instance {
    Table,
    Id,
    DefaultOrgId,
    Sequence,
    CreatedAt,
    ChangedAt,
}

#[derive(Iden)]
enum Memberships {
    Table,
    UserId,
    OrgId,
    Roles,
}

#[derive(Iden)]
enum Tokens {
    Table,
    Id,
    UserId,
    Hash,
    ExpiresAt,
    Revoked,
}

fn text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().not_null().to_owned()
}

fn big(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

fn int(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).integer().not_null().to_owned()
}

fn flag(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).boolean().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Events::Position).big_integer().not_null().auto_increment().primary_key())
                    .col(text(Events::AggregateType))
                    .col(text(Events::AggregateId))
                    .col(big(Events::Sequence))
                    .col(text(Events::EventType))
                    .col(text(Events::Payload))
                    .col(text(Events::EditorId))
                    .col(text(Events::ResourceOwner))
                    .col(big(Events::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("events_aggregate_sequence")
                    .table(Events::Table)
                    .col(Events::AggregateType)
                    .col(Events::AggregateId)
                    .col(Events::Sequence)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Users::Id).text().not_null().primary_key())
                    .col(text(Users::OrgId))
                    .col(text(Users::UserName))
                    .col(ColumnDef::new(Users::UserNameKey).text().null())
                    .col(text(Users::Kind))
                    .col(int(Users::State))
                    .col(text(Users::FirstName))
                    .col(text(Users::LastName))
                    .col(text(Users::NickName))
                    .col(text(Users::DisplayName))
                    .col(text(Users::PreferredLanguage))
                    .col(int(Users::Gender))
                    .col(text(Users::Email))
                    .col(flag(Users::EmailVerified))
                    .col(ColumnDef::new(Users::Phone).text().null())
                    .col(flag(Users::PhoneVerified))
                    .col(text(Users::MachineName))
                    .col(text(Users::MachineDescription))
                    .col(int(Users::AccessTokenType))
                    .col(big(Users::Sequence))
                    .col(big(Users::CreatedAt))
                    .col(big(Users::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(USER_NAME_KEY.name)
                    .table(Users::Table)
                    .col(Users::UserNameKey)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("users_org_id").table(Users::Table).col(Users::OrgId).if_not_exists().to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orgs::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Orgs::Id).text().not_null().primary_key())
                    .col(text(Orgs::Name))
                    .col(int(Orgs::State))
                    .col(text(Orgs::PrimaryDomain))
                    .col(big(Orgs::Sequence))
                    .col(big(Orgs::CreatedAt))
                    .col(big(Orgs::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Instance::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Instance::Id).text().not_null().primary_key())
                    .col(text(Instance::DefaultOrgId))
                    .col(big(Instance::Sequence))
                    .col(big(Instance::CreatedAt))
                    .col(big(Instance::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .if_not_exists()
                    .col(text(Memberships::UserId))
                    .col(text(Memberships::OrgId))
                    .col(text(Memberships::Roles))
                    .primary_key(
                        Index::create().name(MEMBERSHIP_KEY.name).col(Memberships::UserId).col(Memberships::OrgId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Tokens::Id).text().not_null().primary_key())
                    .col(text(Tokens::UserId))
                    .col(text(Tokens::Hash))
                    .col(ColumnDef::new(Tokens::ExpiresAt).big_integer().null())
                    .col(flag(Tokens::Revoked))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("tokens_hash")
                    .table(Tokens::Table)
                    .col(Tokens::Hash)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("tokens_user_id")
                    .table(Tokens::Table)
                    .col(Tokens::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unique_keys_name_columns_the_schema_creates() {
        let column = |table: &dyn Iden, column: &dyn Iden| format!("{}.{}", table.unquoted(), column.unquoted());
        assert_eq!(USER_NAME_KEY.first_column, column(&Users::Table, &Users::UserNameKey));
        assert_eq!(MEMBERSHIP_KEY.first_column, column(&Memberships::Table, &Memberships::UserId));
    }
}
