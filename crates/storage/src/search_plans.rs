//! Tests: the user-name and email lookups a search compiles to (exact, case ignored, prefix,
//! in-emails) are index lookups on both backends, as the query plans say. On PostgreSQL
//! sequential scans are disabled for the check, so that a tiny table still shows whether an
//! index *can* serve the condition (a wrong collation or operator would leave only the scan).

use crate::config::{Backend, StorageConfig};
use crate::search;
use crate::store::SeaOrmStore;
use persona_domain::query::{OrgScope, SortField, TextField, TextMatch, UserFilter, UserSearch};
use persona_test_support::PgSchema;
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement, TransactionTrait};

/// Each lookup and the index that must serve it.
fn lookups() -> Vec<(UserFilter, &'static str)> {
    let text = |field, value: &str, method| UserFilter::Text { field, value: value.to_owned(), method };
    vec![
        (text(TextField::UserName, "Ölaf", TextMatch::Equals), "users_user_name"),
        (text(TextField::UserName, "Ölaf", TextMatch::EqualsIgnoreCase), "users_user_name_key"),
        (text(TextField::UserName, "Öl", TextMatch::StartsWith), "users_user_name"),
        (text(TextField::UserName, "Öl", TextMatch::StartsWithIgnoreCase), "users_user_name_key"),
        (text(TextField::Email, "Ölaf@Example.com", TextMatch::Equals), "users_email"),
        (text(TextField::Email, "Ölaf@Example.com", TextMatch::EqualsIgnoreCase), "users_email_key"),
        (text(TextField::Email, "Öl", TextMatch::StartsWith), "users_email"),
        (text(TextField::Email, "Öl", TextMatch::StartsWithIgnoreCase), "users_email_key"),
        (UserFilter::InEmails(vec!["a@b.c".to_owned(), "Ö@b.c".to_owned()]), "users_email_key"),
    ]
}

/// The plan of `statement` as one text.
async fn plan<C: ConnectionTrait>(db: &C, statement: Statement, explain: &str) -> String {
    let statement = Statement { sql: format!("{explain} {}", statement.sql), ..statement };
    let rows = db.query_all_raw(statement).await.expect("explain");
    let column = if explain == "EXPLAIN" { "QUERY PLAN" } else { "detail" };
    rows.iter().map(|row| row.try_get::<String>("", column).expect("plan line")).collect::<Vec<_>>().join("\n")
}

async fn every_lookup_uses_its_index(store: &SeaOrmStore) {
    let (backend, db_backend, explain) = match store.backend() {
        Backend::Sqlite => (Backend::Sqlite, DbBackend::Sqlite, "EXPLAIN QUERY PLAN"),
        Backend::Postgres => (Backend::Postgres, DbBackend::Postgres, "EXPLAIN"),
    };
    for (filter, index) in lookups() {
        for sort in [SortField::CreationDate, SortField::UserName] {
            let search = UserSearch {
                scope: OrgScope::All,
                filter: filter.clone(),
                sort,
                ascending: true,
                offset: 0,
                limit: 100,
            };
            let condition = search::condition(&search, backend);
            for statement in [
                search::page(&search, condition.clone()).build(db_backend),
                search::count(condition.clone()).build(db_backend),
            ] {
                let txn = store.connection().begin().await.expect("begin");
                if backend == Backend::Postgres {
                    txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.expect("no sequential scans");
                }
                let plan = plan(&txn, statement, explain).await;
                txn.rollback().await.expect("rollback");
                let uses =
                    |name: &str| plan.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == name);
                assert!(uses(index), "{filter:?} sorted by {sort:?} must use {index}:\n{plan}");
                assert!(
                    !plan.contains("Seq Scan") && !plan.contains("SCAN users\n") && !plan.ends_with("SCAN users"),
                    "{plan}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_lookups_use_their_indexes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
    let store = SeaOrmStore::connect(&StorageConfig::new(url)).await.expect("sqlite store");
    every_lookup_uses_its_index(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lookups_use_their_indexes() {
    let Some(schema) = PgSchema::create("plans") else { return };
    let config = StorageConfig { schema: Some(schema.name.clone()), ..StorageConfig::new(schema.base_url()) };
    let store = SeaOrmStore::connect(&config).await.expect("postgres store");
    every_lookup_uses_its_index(&store).await;
}
