//! `list_users` on SQLite and PostgreSQL answers exactly as the domain's `search_in` over the
//! same stored users: a table of filters (every text match of every field, non-ASCII case, LIKE
//! wildcards as literal text, nesting, states, kinds, ids, emails, orgs, external ids, byte-order
//! comparisons of texts with and without case, creation and change times), scopes, every sort in
//! both directions, paging, and random filter trees. Without `PERSONA_TEST_DATABASE_URL` the
//! PostgreSQL half is skipped (and fails under `CI`); a database whose default collation is
//! linguistic (ICU `en-US`, say) also checks that searches compare and sort by bytes.

#![expect(clippy::expect_used, reason = "a test crate: a failed step is a failed test")]

use persona_domain::events::{EventPayload, HumanAdded, MachineAdded};
use persona_domain::ids::{OrgId, UserId};
use persona_domain::ports::{AggregateChange, Commit, Store};
use persona_domain::query::{
    Comparison, KindFilter, OrgScope, SortField, TextField, TextMatch, TimeField, UserFilter, UserSearch, search_in,
};
use persona_domain::time::Timestamp;
use persona_domain::user::{User, UserState};
use persona_storage::{SeaOrmStore, StorageConfig};
use persona_test_support::PgSchema;
use proptest::prelude::*;
use tempfile::TempDir;

const FIELDS: [TextField; 8] = [
    TextField::UserName,
    TextField::FirstName,
    TextField::LastName,
    TextField::NickName,
    TextField::DisplayName,
    TextField::Email,
    TextField::Phone,
    TextField::ExternalId,
];

const COMPARISONS: [Comparison; 5] =
    [Comparison::Equal, Comparison::Greater, Comparison::GreaterOrEqual, Comparison::Less, Comparison::LessOrEqual];

/// External ids some users are given (as a provisioning client would set them).
const EXTERNAL_IDS: [&str; 5] = ["ölaf-ext", "OLAF", "50%_x", "Σ-1", "okta|00u1"];

const METHODS: [TextMatch; 8] = [
    TextMatch::Equals,
    TextMatch::EqualsIgnoreCase,
    TextMatch::StartsWith,
    TextMatch::StartsWithIgnoreCase,
    TextMatch::Contains,
    TextMatch::ContainsIgnoreCase,
    TextMatch::EndsWith,
    TextMatch::EndsWithIgnoreCase,
];

const SORTS: [SortField; 9] = [
    SortField::CreationDate,
    SortField::UserName,
    SortField::FirstName,
    SortField::LastName,
    SortField::NickName,
    SortField::DisplayName,
    SortField::Email,
    SortField::State,
    SortField::Kind,
];

/// Values the text filters compare with: case variants beyond ASCII, Greek sigma (whose lower
/// case depends on its place), LIKE's wildcards and escape, the empty text, common parts.
const VALUES: [&str; 24] = [
    "ölaf",
    "Ölaf",
    "ÖLAF",
    "olaf",
    "OLAF",
    "%",
    "_",
    "\\",
    "50%",
    "50%_",
    "",
    "o",
    "Σ",
    "σ",
    "ς",
    "ΣΊΣΥΦΟΣ",
    "σίσυφος",
    "@example.com",
    "@EXAMPLE.COM",
    "bot",
    "a-c",
    "+41",
    "nomatch",
    "Berg",
];

/// (user name, first, last, nick, display, email, phone) of a human.
type HumanTexts =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, Option<&'static str>);

/// The humans.
const HUMANS: [HumanTexts; 14] = [
    ("Ölaf.Berg", "Ölaf", "Berg", "", "Ölaf Berg", "Olaf@Example.com", Some("+41 79 000 00 00")),
    ("ölaf", "ölaf", "ΣΊΣΥΦΟΣ", "sisy", "ölaf Σ", "ölaf@beispiel.de", None),
    ("OLAF", "OLAF", "berg", "O", "OLAF", "OLAF@EXAMPLE.COM", Some("+4179")),
    ("50%_off", "Per%cent", "Under_score", "back\\slash", "50% off", "pct%_@x.io", None),
    ("500off", "Perxcent", "Underxscore", "backslash", "500 off", "pctxx@x.io", Some("")),
    ("a-c", "a-c", "ab", "aB", "a-c", "a-c@example.com", None),
    ("ab", "ab", "a-c", "Ab", "ab", "ab@example.com", Some("+1 555")),
    ("aB.2", "aB", "AB", "a_c", "aB", "AB@example.com", None),
    ("Zed", "Zed", "zed", "", "zed", "zed@Example.COM", Some("+41 44")),
    ("zoë", "Zoë", "ZOË", "zoë", "Zoë", "ZOË@EXAMPLE.COM", None),
    ("σίσυφος", "σίσυφος", "Σίσυφος", "ς", "ΣΊΣΥΦΟΣ", "sisyphus@example.com", None),
    ("no-email", "No", "Email", "", "No Email", "", None),
    ("gone-olaf", "Ölaf", "Gone", "", "Ölaf Gone", "gone@example.com", None),
    ("Gone-ÖLAF", "ÖLAF", "Gone", "", "ÖLAF Gone", "gone2@example.com", Some("+41")),
];

/// (user name, name) of the machines.
const MACHINES: [(&str, &str); 5] = [
    ("ci-bot", "CI Bot"),
    ("Ölaf-bot", "Ölaf Machine"),
    ("50%_bot", "50% bot"),
    ("OLAF-m", "olaf"),
    ("gone-bot", "Gone Bot"),
];

/// User names of the users removed after they were created.
const REMOVED: [&str; 3] = ["gone-olaf", "Gone-ÖLAF", "gone-bot"];

fn org(n: usize) -> OrgId {
    OrgId::new(format!("org-{}", n % 3))
}

/// Ids whose byte order differs from a linguistic one (`-`, `_`, case).
fn id(n: usize) -> String {
    format!("{}{n:02}", ["u-", "u", "U_", "u_"][n % 4])
}

fn human(n: usize, fields: HumanTexts) -> AggregateChange {
    let (user_name, first_name, last_name, nick_name, display_name, email, phone) = fields;
    let event = EventPayload::HumanAdded(HumanAdded {
        user_name: user_name.to_owned(),
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        nick_name: nick_name.to_owned(),
        display_name: display_name.to_owned(),
        preferred_language: "und".to_owned(),
        gender: 0,
        email: email.to_owned(),
        email_verified: n.is_multiple_of(2),
        phone: phone.map(str::to_owned),
        phone_verified: false,
        active: n.is_multiple_of(3),
    });
    AggregateChange::create::<User>(&id(n), &org(n), vec![event], Timestamp::from_unix_micros(0)).expect("human").0
}

fn machine(n: usize, (user_name, name): (&str, &str)) -> AggregateChange {
    let event = EventPayload::MachineAdded(MachineAdded {
        user_name: user_name.to_owned(),
        name: name.to_owned(),
        description: String::new(),
        access_token_type: 0,
    });
    AggregateChange::create::<User>(&id(n), &org(n), vec![event], Timestamp::from_unix_micros(0)).expect("machine").0
}

/// Seeds the users in a few commits (so creation dates differ, and tie within a commit), gives
/// some a state other than active, removes [`REMOVED`], and returns every user as stored.
async fn seed(store: &SeaOrmStore) -> Vec<User> {
    let editor = UserId::new("seeder".to_owned());
    let mut changes: Vec<AggregateChange> = HUMANS.iter().enumerate().map(|(n, h)| human(n, *h)).collect();
    changes.extend(MACHINES.iter().enumerate().map(|(n, m)| machine(HUMANS.len() + n, *m)));
    let states = [UserState::Inactive, UserState::Locked, UserState::Initial];
    for (n, change) in changes.iter_mut().enumerate() {
        if let (persona_domain::ports::AggregateState::User(user), true) = (&mut change.state, n % 4 == 3) {
            // The read model's state is what searches see; no event sets these states yet.
            user.state = states[n % 3];
        }
        if let (persona_domain::ports::AggregateState::User(user), true) = (&mut change.state, n % 3 == 1) {
            // As the `user.externalid.changed` event leaves it.
            user.external_id = EXTERNAL_IDS[n % EXTERNAL_IDS.len()].to_owned();
        }
    }
    let ids: Vec<UserId> = changes.iter().map(|c| UserId::new(c.state.id().to_owned())).collect();
    for batch in changes.chunks(6) {
        let commit = Commit { editor: editor.clone(), changes: batch.to_vec(), side_effects: Vec::new() };
        store.commit(commit).await.expect("seed commit");
    }
    let mut users = Vec::new();
    for id in &ids {
        users.push(store.user(id).await.expect("read").expect("seeded"));
    }
    for user in users.iter_mut().filter(|u| REMOVED.contains(&u.user_name.as_str())) {
        let (change, removed) =
            AggregateChange::update(&*user, vec![EventPayload::UserRemoved], Timestamp::from_unix_micros(0))
                .expect("remove");
        store
            .commit(Commit { editor: editor.clone(), changes: vec![change], side_effects: Vec::new() })
            .await
            .expect("remove");
        *user = store.user(&removed.id).await.expect("read").expect("removed user");
        assert!(user.is_removed());
    }
    users
}

fn every(filter: UserFilter) -> UserSearch {
    UserSearch { scope: OrgScope::All, filter, sort: SortField::UserName, ascending: true, offset: 0, limit: 1000 }
}

fn text(field: TextField, value: &str, method: TextMatch) -> UserFilter {
    UserFilter::Text { field, value: value.to_owned(), method }
}

/// Asserts that the store answers `search` as `search_in` does over `users`.
async fn check(store: &SeaOrmStore, users: &[User], search: &UserSearch) {
    let expected = search_in(users, search);
    let actual = store.list_users(search).await.expect("list_users");
    let names =
        |page: &persona_domain::query::UserPage| page.users.iter().map(|u| u.user_name.clone()).collect::<Vec<_>>();
    assert_eq!((actual.total, names(&actual)), (expected.total, names(&expected)), "{search:?}");
    assert_eq!(actual, expected, "the users themselves: {search:?}");
}

/// The table of filters.
fn table(users: &[User]) -> Vec<UserFilter> {
    let mut filters = Vec::new();
    for field in FIELDS {
        for method in METHODS {
            for value in VALUES {
                filters.push(text(field, value, method));
            }
        }
    }
    for field in FIELDS {
        for op in COMPARISONS {
            for value in VALUES.iter().chain(&["ölaf-ext", "p", "\u{10ffff}", "a\0b", "Σ-1"]) {
                for ignore_case in [false, true] {
                    filters.push(UserFilter::Compare { field, op, value: (*value).to_owned(), ignore_case });
                }
            }
        }
    }
    let mut times: Vec<Timestamp> = users.iter().flat_map(|u| [u.created_at, u.changed_at]).collect();
    times.sort();
    times.dedup();
    let (first, last) = (times[0], times[times.len() - 1]);
    times.extend([
        Timestamp::from_unix_micros(first.unix_micros() - 1),
        Timestamp::from_unix_micros(last.unix_micros() + 1),
    ]);
    for field in [TimeField::Created, TimeField::Changed] {
        for op in COMPARISONS {
            for at in &times {
                filters.push(UserFilter::Time { field, op, at: *at });
            }
        }
    }
    let live = |n: usize| users[n].id.clone();
    let removed = users.iter().find(|u| u.is_removed()).map(|u| u.id.clone()).expect("a removed user");
    filters.extend([
        UserFilter::State(UserState::Active),
        UserFilter::State(UserState::Inactive),
        UserFilter::State(UserState::Locked),
        UserFilter::State(UserState::Initial),
        UserFilter::State(UserState::Deleted),
        UserFilter::Kind(KindFilter::Human),
        UserFilter::Kind(KindFilter::Machine),
        UserFilter::InIds(vec![live(0), live(3), removed.clone(), UserId::new("missing".to_owned())]),
        UserFilter::InIds(vec![]),
        UserFilter::InIds(vec![removed]),
        UserFilter::InEmails(vec![
            "olaf@example.COM".to_owned(),
            "ÖLAF@BEISPIEL.DE".to_owned(),
            "gone@example.com".to_owned(),
        ]),
        UserFilter::InEmails(vec![String::new()]),
        UserFilter::InEmails(vec!["pct%_@X.IO".to_owned(), "pct%%@x.io".to_owned()]),
        UserFilter::InEmails(vec![]),
        UserFilter::Org(org(0)),
        UserFilter::Org(org(2)),
        UserFilter::Org(OrgId::new("org-none".to_owned())),
        UserFilter::And(vec![]),
        UserFilter::Or(vec![]),
        UserFilter::Not(Box::new(UserFilter::And(vec![]))),
        UserFilter::Not(Box::new(UserFilter::Or(vec![]))),
        UserFilter::Not(Box::new(text(TextField::Phone, "", TextMatch::Equals))),
        UserFilter::Not(Box::new(text(TextField::Email, "ölaf", TextMatch::ContainsIgnoreCase))),
        UserFilter::And(vec![
            UserFilter::Kind(KindFilter::Human),
            UserFilter::Or(vec![
                text(TextField::FirstName, "ölaf", TextMatch::EqualsIgnoreCase),
                text(TextField::LastName, "berg", TextMatch::StartsWithIgnoreCase),
            ]),
            UserFilter::Not(Box::new(UserFilter::State(UserState::Locked))),
        ]),
        UserFilter::Or(vec![
            UserFilter::And(vec![
                UserFilter::Kind(KindFilter::Machine),
                text(TextField::DisplayName, "olaf", TextMatch::ContainsIgnoreCase),
            ]),
            UserFilter::Not(Box::new(UserFilter::Or(vec![UserFilter::Org(org(1)), UserFilter::Org(org(2))]))),
        ]),
        UserFilter::Not(Box::new(UserFilter::Not(Box::new(UserFilter::InEmails(vec!["zed@example.com".to_owned()]))))),
    ]);
    filters
}

async fn the_filter_table_matches_the_reference(store: SeaOrmStore) {
    let users = seed(&store).await;
    for filter in table(&users) {
        check(&store, &users, &every(filter)).await;
    }
}

async fn scopes_sorts_and_pages_match_the_reference(store: SeaOrmStore) {
    let users = seed(&store).await;
    let scopes =
        [OrgScope::All, OrgScope::Orgs(vec![org(0)]), OrgScope::Orgs(vec![org(1), org(2)]), OrgScope::Orgs(vec![])];
    let filters = [UserFilter::And(vec![]), text(TextField::UserName, "o", TextMatch::ContainsIgnoreCase)];
    for scope in &scopes {
        for filter in &filters {
            for sort in SORTS {
                for ascending in [true, false] {
                    for (offset, limit) in [(0, 1000), (0, 1), (1, 3), (5, 4), (0, 0), (30, 10), (u64::MAX, 5)] {
                        let search =
                            UserSearch { scope: scope.clone(), filter: filter.clone(), sort, ascending, offset, limit };
                        check(&store, &users, &search).await;
                    }
                }
            }
        }
    }
}

fn any_filter(users: Vec<User>) -> impl Strategy<Value = UserFilter> {
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    let emails: Vec<String> = users
        .iter()
        .filter_map(|u| u.human().map(|h| h.email.address.clone()))
        .flat_map(|e| [e.to_uppercase(), e])
        .collect();
    let leaf = prop_oneof![
        4 => (proptest::sample::select(FIELDS.to_vec()), proptest::sample::select(VALUES.to_vec()), proptest::sample::select(METHODS.to_vec()))
            .prop_map(|(field, value, method)| text(field, value, method)),
        1 => proptest::sample::select(vec![UserState::Active, UserState::Inactive, UserState::Locked, UserState::Initial]).prop_map(UserFilter::State),
        1 => proptest::bool::ANY.prop_map(|h| UserFilter::Kind(if h { KindFilter::Human } else { KindFilter::Machine })),
        1 => proptest::sample::subsequence(ids, 0..4).prop_map(UserFilter::InIds),
        1 => proptest::sample::subsequence(emails, 0..4).prop_map(UserFilter::InEmails),
        1 => (0..4usize).prop_map(|n| UserFilter::Org(org(n))),
        1 => (proptest::sample::select(FIELDS.to_vec()), proptest::sample::select(COMPARISONS.to_vec()), proptest::sample::select(VALUES.to_vec()), proptest::bool::ANY)
            .prop_map(|(field, op, value, ignore_case)| UserFilter::Compare { field, op, value: value.to_owned(), ignore_case }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(UserFilter::And),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(UserFilter::Or),
            inner.prop_map(|f| UserFilter::Not(Box::new(f))),
        ]
    })
}

/// Random filter trees, sorts and pages; the runtime is the test's own (proptest is not async).
fn random_searches_match_the_reference(runtime: &tokio::runtime::Runtime, store: &SeaOrmStore) {
    let users = runtime.block_on(seed(store));
    let strategy =
        (any_filter(users.clone()), proptest::sample::select(SORTS.to_vec()), proptest::bool::ANY, 0..6u64, 0..8u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 300, ..ProptestConfig::default() });
    runner
        .run(&strategy, |(filter, sort, ascending, offset, limit)| {
            let search = UserSearch { scope: OrgScope::All, filter, sort, ascending, offset, limit };
            let expected = search_in(&users, &search);
            let actual = runtime.block_on(store.list_users(&search)).expect("list_users");
            prop_assert_eq!(actual, expected, "{:?}", search);
            Ok(())
        })
        .expect("every random search answers as search_in");
}

async fn sqlite() -> (SeaOrmStore, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
    (SeaOrmStore::connect(&StorageConfig::new(url)).await.expect("sqlite store"), dir)
}

async fn postgres() -> Option<(SeaOrmStore, PgSchema)> {
    let schema = PgSchema::create("search")?;
    let config = StorageConfig {
        schema: Some(schema.name.clone()),
        max_connections: Some(4),
        ..StorageConfig::new(schema.base_url())
    };
    Some((SeaOrmStore::connect(&config).await.expect("postgres store"), schema))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_filter_table_matches_the_reference() {
    let (store, _dir) = sqlite().await;
    the_filter_table_matches_the_reference(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_filter_table_matches_the_reference() {
    if let Some((store, _schema)) = postgres().await {
        the_filter_table_matches_the_reference(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scopes_sorts_and_pages_match_the_reference() {
    let (store, _dir) = sqlite().await;
    scopes_sorts_and_pages_match_the_reference(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scopes_sorts_and_pages_match_the_reference() {
    if let Some((store, _schema)) = postgres().await {
        scopes_sorts_and_pages_match_the_reference(store).await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn sqlite_random_searches_match_the_reference() {
    let runtime = runtime();
    let (store, _dir) = runtime.block_on(sqlite());
    random_searches_match_the_reference(&runtime, &store);
}

#[test]
fn postgres_random_searches_match_the_reference() {
    let runtime = runtime();
    if let Some((store, _schema)) = runtime.block_on(postgres()) {
        random_searches_match_the_reference(&runtime, &store);
    }
}
