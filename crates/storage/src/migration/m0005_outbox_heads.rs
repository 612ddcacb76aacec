//! The outbox's indexes, for the lease as it is now: the pending rows of an endpoint in
//! (user, sequence) order, so that one pass over that index finds each queue's head without a
//! sort. The index on (state, next_attempt_at) served no query and cost every delivery two
//! more index writes (one as it is recorded, one as it leaves), so it goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::Index;

/// Replaces `webhook_deliveries_queue` and `webhook_deliveries_due` by `webhook_deliveries_heads`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum WebhookDeliveries {
    Table,
    Endpoint,
    State,
    UserId,
    Sequence,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_heads")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Endpoint)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::UserId)
                    .col(WebhookDeliveries::Sequence)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        for old in ["webhook_deliveries_queue", "webhook_deliveries_due"] {
            manager.drop_index(Index::drop().name(old).table(WebhookDeliveries::Table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
