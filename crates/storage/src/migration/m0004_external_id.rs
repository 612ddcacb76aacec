//! Provisioning (SCIM): the identifier a provisioning client keeps for a user (`externalId`),
//! and its lower-cased key for searches that ignore case. Rows written before have none, which
//! the empty defaults say; on PostgreSQL both compare and sort by bytes (`COLLATE "C"`), as the
//! other searched texts do (m0002).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Adds `external_id` and `external_id_key`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden, Clone, Copy)]
enum Users {
    Table,
    ExternalId,
    ExternalIdKey,
}

const POSTGRES_BYTE_ORDER: &str = r#"ALTER TABLE users
    ALTER COLUMN external_id TYPE text COLLATE "C",
    ALTER COLUMN external_id_key TYPE text COLLATE "C""#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Users::ExternalId, Users::ExternalIdKey] {
            let column = ColumnDef::new(column).text().not_null().default("").to_owned();
            manager.alter_table(Table::alter().table(Users::Table).add_column(column).to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(POSTGRES_BYTE_ORDER).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("users_external_id")
                    .table(Users::Table)
                    .col(Users::ExternalId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
