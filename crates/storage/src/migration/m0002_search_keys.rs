//! Searching users: lower-cased key columns of the searchable texts (filled in for the rows
//! that exist), the indexes that make user-name and email lookups index lookups, and on
//! PostgreSQL byte order (`COLLATE "C"`) for the texts searches compare and sort, as SQLite's
//! default `BINARY` collation and the domain's `search_in` have it.

use crate::keys::{SearchKeys, StoredTexts};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, QueryResult};

/// Adds the search keys and indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden, Clone, Copy)]
enum Users {
    Table,
    Id,
    UserName,
    Kind,
    FirstName,
    LastName,
    NickName,
    DisplayName,
    MachineName,
    Email,
    Phone,
    FirstNameKey,
    LastNameKey,
    NickNameKey,
    DisplayNameKey,
    EmailKey,
    PhoneKey,
}

/// The key columns, in the order of [`key_values`].
const KEYS: [Users; 6] = [
    Users::FirstNameKey,
    Users::LastNameKey,
    Users::NickNameKey,
    Users::DisplayNameKey,
    Users::EmailKey,
    Users::PhoneKey,
];

fn key_values(keys: SearchKeys) -> [String; 6] {
    [keys.first_name, keys.last_name, keys.nick_name, keys.display_name, keys.email, keys.phone]
}

/// PostgreSQL compares text by the database's collation (often a linguistic one); searches
/// compare and sort by bytes, so every text column they touch is declared `COLLATE "C"` (which
/// also makes the plain indexes below serve range predicates). Not for SQLite: `BINARY` is
/// its default and it knows no collation `"C"`.
const POSTGRES_BYTE_ORDER: &str = r#"ALTER TABLE users
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN user_name TYPE text COLLATE "C",
    ALTER COLUMN user_name_key TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN first_name TYPE text COLLATE "C",
    ALTER COLUMN last_name TYPE text COLLATE "C",
    ALTER COLUMN nick_name TYPE text COLLATE "C",
    ALTER COLUMN display_name TYPE text COLLATE "C",
    ALTER COLUMN machine_name TYPE text COLLATE "C",
    ALTER COLUMN email TYPE text COLLATE "C",
    ALTER COLUMN phone TYPE text COLLATE "C",
    ALTER COLUMN first_name_key TYPE text COLLATE "C",
    ALTER COLUMN last_name_key TYPE text COLLATE "C",
    ALTER COLUMN nick_name_key TYPE text COLLATE "C",
    ALTER COLUMN display_name_key TYPE text COLLATE "C",
    ALTER COLUMN email_key TYPE text COLLATE "C",
    ALTER COLUMN phone_key TYPE text COLLATE "C""#;

/// The indexes, by name and column.
const INDEXES: [(&str, Users); 3] =
    [("users_user_name", Users::UserName), ("users_email", Users::Email), ("users_email_key", Users::EmailKey)];

/// Rows read (and updated) at a time while filling in the keys.
const BACKFILL_PAGE: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for key in KEYS {
            let column = ColumnDef::new(key).text().not_null().default("").to_owned();
            manager.alter_table(Table::alter().table(Users::Table).add_column(column).to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(POSTGRES_BYTE_ORDER).await?;
        }
        backfill(manager.get_connection()).await?;
        for (name, column) in INDEXES {
            manager
                .create_index(Index::create().name(name).table(Users::Table).col(column).if_not_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Fills in the keys of every existing row, computed in Rust as the writer computes them, a
/// page of rows (by id) at a time.
async fn backfill<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let mut after: Option<String> = None;
    loop {
        let mut page = Query::select();
        page.from(Users::Table)
            .columns([
                Users::Id,
                Users::Kind,
                Users::FirstName,
                Users::LastName,
                Users::NickName,
                Users::DisplayName,
                Users::MachineName,
                Users::Email,
                Users::Phone,
            ])
            .order_by(Users::Id, Order::Asc)
            .limit(BACKFILL_PAGE);
        if let Some(after) = &after {
            page.and_where(Expr::col(Users::Id).gt(after.as_str()));
        }
        let rows = db.query_all(&page).await?;
        for row in &rows {
            let (id, keys) = keys_of(row)?;
            let mut update = Query::update();
            update.table(Users::Table).and_where(Expr::col(Users::Id).eq(id.as_str()));
            for (column, value) in KEYS.into_iter().zip(key_values(keys)) {
                update.value(column, value);
            }
            db.execute(&update).await?;
            after = Some(id);
        }
        if rows.len() < BACKFILL_PAGE as usize {
            return Ok(());
        }
    }
}

fn keys_of(row: &QueryResult) -> Result<(String, SearchKeys), DbErr> {
    let text = |column: Users| row.try_get::<String>("", &column.to_string());
    let (kind, first_name, last_name, nick_name) =
        (text(Users::Kind)?, text(Users::FirstName)?, text(Users::LastName)?, text(Users::NickName)?);
    let (display_name, machine_name, email) =
        (text(Users::DisplayName)?, text(Users::MachineName)?, text(Users::Email)?);
    let phone: Option<String> = row.try_get("", &Users::Phone.to_string())?;
    let keys = SearchKeys::of_row(&StoredTexts {
        machine: kind == "machine",
        first_name: &first_name,
        last_name: &last_name,
        nick_name: &nick_name,
        display_name: &display_name,
        machine_name: &machine_name,
        email: &email,
        phone: phone.as_deref(),
    });
    Ok((text(Users::Id)?, keys))
}
