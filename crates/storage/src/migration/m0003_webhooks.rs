//! The webhook outbox: deliveries written in the commit's transaction, and the endpoints' state.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::Index;

/// Creates `webhook_deliveries` and `webhook_endpoints`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum WebhookDeliveries {
    Table,
    Id,
    Endpoint,
    UserId,
    Sequence,
    OrgId,
    State,
    Attempts,
    NextAttemptAt,
    LeasedUntil,
    LeaseOwner,
    LastStatus,
    CreatedAt,
}

#[derive(Iden)]
enum WebhookEndpoints {
    Table,
    Url,
    DisabledAt,
    DisabledStatus,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let text = |c: WebhookDeliveries| ColumnDef::new(c).text().not_null().to_owned();
        let big = |c: WebhookDeliveries| ColumnDef::new(c).big_integer().not_null().to_owned();
        let int = |c: WebhookDeliveries| ColumnDef::new(c).integer().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(WebhookDeliveries::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(text(WebhookDeliveries::Endpoint))
                    .col(text(WebhookDeliveries::UserId))
                    .col(big(WebhookDeliveries::Sequence))
                    .col(text(WebhookDeliveries::OrgId))
                    .col(int(WebhookDeliveries::State))
                    .col(int(WebhookDeliveries::Attempts))
                    .col(big(WebhookDeliveries::NextAttemptAt))
                    .col(big(WebhookDeliveries::LeasedUntil))
                    .col(text(WebhookDeliveries::LeaseOwner))
                    .col(int(WebhookDeliveries::LastStatus))
                    .col(big(WebhookDeliveries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // The head of each (endpoint, user) queue, and the due deliveries.
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_queue")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Endpoint)
                    .col(WebhookDeliveries::UserId)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::Sequence)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(WebhookEndpoints::Url).text().not_null().primary_key())
                    .col(ColumnDef::new(WebhookEndpoints::DisabledAt).big_integer().null())
                    .col(ColumnDef::new(WebhookEndpoints::DisabledStatus).integer().not_null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
