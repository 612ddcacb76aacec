//! Upgrading a database written before the search keys existed (migration m0001 only): the
//! next start adds and fills in the keys, pages of rows at a time, and searches then answer as
//! `search_in` does, case ignored beyond ASCII included, on SQLite and PostgreSQL.

#![expect(clippy::expect_used, reason = "a test crate: a failed step is a failed test")]

use persona_domain::ids::UserId;
use persona_domain::ports::Store;
use persona_domain::query::{OrgScope, SortField, TextField, TextMatch, UserFilter, UserSearch, search_in};
use persona_storage::{Migrator, SeaOrmStore, StorageConfig};
use persona_test_support::PgSchema;
use sea_orm::sea_query::{Alias, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, Database};
use sea_orm_migration::MigratorTrait;

/// More rows than the migration fills in at a time.
const FILLER: usize = 1_234;

/// (id, user name, kind, state, first, last, display, email, phone, machine name).
type OldRow = (String, String, &'static str, i32, String, String, String, String, Option<String>, String);

fn rows() -> Vec<OldRow> {
    let mut rows: Vec<OldRow> = vec![
        (
            "a1".into(),
            "Ölaf".into(),
            "human",
            1,
            "ÖLAF".into(),
            "ΣΊΣΥΦΟΣ".into(),
            "Ölaf Σ".into(),
            "Ölaf@Example.COM".into(),
            Some("+41 X".into()),
            String::new(),
        ),
        (
            "a2".into(),
            "Gone".into(),
            "human",
            3,
            "ÖLAF".into(),
            "Gone".into(),
            "Gone".into(),
            "gone@example.com".into(),
            None,
            String::new(),
        ),
        (
            "a3".into(),
            "CI-Bot".into(),
            "machine",
            2,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            None,
            "Ölaf Machine".into(),
        ),
    ];
    rows.extend((0..FILLER).map(|n| {
        let name = format!("Filler{n:04}");
        (
            format!("f{n:04}"),
            name.clone(),
            "human",
            1,
            "Fill".into(),
            format!("Ér{n}"),
            name.clone(),
            format!("{name}@Example.com"),
            None,
            String::new(),
        )
    }));
    rows
}

/// Writes `rows` as the first schema had them (no key columns).
async fn write_old_rows<C: ConnectionTrait>(db: &C) {
    let columns = [
        "id",
        "org_id",
        "user_name",
        "user_name_key",
        "kind",
        "state",
        "first_name",
        "last_name",
        "nick_name",
        "display_name",
        "preferred_language",
        "gender",
        "email",
        "email_verified",
        "phone",
        "phone_verified",
        "machine_name",
        "machine_description",
        "access_token_type",
        "sequence",
        "created_at",
        "changed_at",
    ];
    for chunk in rows().chunks(200) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new("users")).columns(columns.map(Alias::new));
        for (id, user_name, kind, state, first, last, display, email, phone, machine) in chunk.iter().cloned() {
            let key = (state != 3).then(|| user_name.to_lowercase());
            let values: [SimpleExpr; 22] = [
                id.into(),
                "org".into(),
                user_name.into(),
                key.into(),
                kind.into(),
                state.into(),
                first.into(),
                last.into(),
                "".into(),
                display.into(),
                "und".into(),
                0.into(),
                email.into(),
                true.into(),
                phone.into(),
                false.into(),
                machine.into(),
                "".into(),
                0.into(),
                1i64.into(),
                5i64.into(),
                5i64.into(),
            ];
            insert.values(values).expect("a row");
        }
        db.execute(&insert).await.expect("old rows");
    }
}

async fn an_upgraded_database_searches_like_the_reference(old_url: &str, config: StorageConfig) {
    let db = Database::connect(old_url).await.expect("connect");
    Migrator::up(&db, Some(1)).await.expect("the first schema only");
    write_old_rows(&db).await;
    db.close().await.expect("close");

    let store = SeaOrmStore::connect(&config).await.expect("the upgrade");
    let mut users = Vec::new();
    for (id, ..) in rows() {
        users.push(store.user(&UserId::new(id)).await.expect("read").expect("kept"));
    }
    let text = |field, value: &str, method| UserFilter::Text { field, value: value.to_owned(), method };
    let filters = [
        text(TextField::FirstName, "ölaf", TextMatch::EqualsIgnoreCase),
        text(TextField::LastName, "σίσυφος", TextMatch::EqualsIgnoreCase),
        text(TextField::DisplayName, "ÖLAF", TextMatch::StartsWithIgnoreCase),
        text(TextField::DisplayName, "machine", TextMatch::ContainsIgnoreCase),
        text(TextField::Email, "ölaf@example.com", TextMatch::EqualsIgnoreCase),
        text(TextField::Email, "@EXAMPLE.COM", TextMatch::EndsWithIgnoreCase),
        text(TextField::Phone, "+41 x", TextMatch::EqualsIgnoreCase),
        text(TextField::Phone, "", TextMatch::EqualsIgnoreCase),
        text(TextField::LastName, "ér12", TextMatch::StartsWithIgnoreCase),
        text(TextField::UserName, "FILLER12", TextMatch::StartsWithIgnoreCase),
    ];
    for filter in filters {
        let search = UserSearch {
            scope: OrgScope::All,
            filter,
            sort: SortField::DisplayName,
            ascending: false,
            offset: 0,
            limit: 50,
        };
        let expected = search_in(&users, &search);
        assert!(expected.total > 0, "a filter that finds something: {search:?}");
        assert_eq!(store.list_users(&search).await.expect("search"), expected, "{search:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_sqlite_database_searches_like_the_reference() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
    an_upgraded_database_searches_like_the_reference(&url, StorageConfig::new(url.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_postgres_database_searches_like_the_reference() {
    let Some(schema) = PgSchema::create("upgrade") else { return };
    let config = StorageConfig { schema: Some(schema.name.clone()), ..StorageConfig::new(schema.base_url()) };
    an_upgraded_database_searches_like_the_reference(&schema.url(), config).await;
}
