//! Schema migrations, applied at start (and by `persona migrate`). The same migrations serve
//! SQLite and PostgreSQL.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m0001_initial;
mod m0002_search_keys;
mod m0003_webhooks;
mod m0004_external_id;
mod m0005_outbox_heads;

pub(crate) use m0001_initial::{MEMBERSHIP_KEY, USER_NAME_KEY};

/// Every migration, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_search_keys::Migration),
            Box::new(m0003_webhooks::Migration),
            Box::new(m0004_external_id::Migration),
            Box::new(m0005_outbox_heads::Migration),
        ]
    }
}
