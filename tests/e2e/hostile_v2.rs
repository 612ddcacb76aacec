//! Hostile input to v2's `UserService` over every protocol and backend, beside what `hostile.rs`
//! does to v1: SQL, HTML and other meta characters in every v2 field are stored and returned
//! verbatim; NUL characters and overlong values are refused with v2's own wording (CONTRACT
//! section 7, "Validation messages"); lengths count Unicode scalar values; `ListUsers` text
//! queries take their values literally (`%`, `_`, `\` and quotes are characters, not patterns
//! or SQL), checked against the data, and absurd query trees are refused, not crashed on.

use crate::calls::{Call, PROTOCOLS, Protocol};
use crate::harness::Server;
use crate::hostile::{admin_call, assert_serving, servers};
use persona_api_grpc::pb::zitadel::object::v2::{ListQuery, Organization, TextQueryMethod, organization::Org};
use persona_api_grpc::pb::zitadel::user::v2;
use persona_api_grpc::pb::zitadel::user::v2::search_query::Query;
use persona_api_grpc::pb::zitadel::user::v2::update_user_request::{Human, UserType, human::Profile};
use serde_json::{Value, json};

/// v2 `AddHumanUser` of `user_name` with these four names, in `org` when given.
fn add(user_name: &str, names: [&str; 4], org: Option<&str>) -> v2::AddHumanUserRequest {
    let [given, family, nick, display] = names;
    v2::AddHumanUserRequest {
        username: Some(user_name.to_owned()),
        organization: org.map(|id| Organization { org: Some(Org::OrgId(id.to_owned())) }),
        profile: Some(v2::SetHumanProfile {
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            nick_name: Some(nick.to_owned()),
            display_name: Some(display.to_owned()),
            ..Default::default()
        }),
        email: Some(v2::SetHumanEmail { email: "hostile@example.com".to_owned(), verification: None }),
        ..Default::default()
    }
}

/// v2 `UpdateHumanUser` of `user_id` setting the four names.
fn update_human(user_id: &str, names: [&str; 4]) -> v2::UpdateHumanUserRequest {
    let [given, family, nick, display] = names;
    v2::UpdateHumanUserRequest {
        user_id: user_id.to_owned(),
        profile: Some(v2::SetHumanProfile {
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            nick_name: Some(nick.to_owned()),
            display_name: Some(display.to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// v2 `UpdateUser` of `user_id` with this profile patch.
fn update_user(user_id: &str, profile: Profile) -> v2::UpdateUserRequest {
    v2::UpdateUserRequest {
        user_id: user_id.to_owned(),
        username: None,
        user_type: Some(UserType::Human(Human { profile: Some(profile), ..Default::default() })),
    }
}

/// v2 `GetUserByID` of `id` as the admin over `protocol`: the user.
async fn read(server: &Server, protocol: Protocol, id: &str) -> Value {
    let call = Call::GetUserByIdV2(v2::GetUserByIdRequest { user_id: id.to_owned() });
    admin_call(server, protocol, &call).await.ok()["user"].clone()
}

/// The user name and the four names of a v2 user as read.
fn names_of(user: &Value) -> (Value, [Value; 4]) {
    let profile = &user["human"]["profile"];
    let names = ["givenName", "familyName", "nickName", "displayName"].map(|field| profile[field].clone());
    (user["username"].clone(), names)
}

fn expect_names(user_name: &str, names: [&str; 4]) -> (Value, [Value; 4]) {
    (json!(user_name), names.map(|name| json!(name)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_meta_characters_are_stored_verbatim_and_nul_or_overlong_values_refused() {
    let values: [(&str, [&str; 4]); 5] = [
        ("robert'); drop table users; --", ["Robert'); DROP TABLE users; --", "' OR 1=1 --", "%_\\\"'`$1", "<b>x</b>"]),
        ("<script>alert(1)</script>", ["<img src=x onerror=alert(1)>", "&amp; &lt;", "\\x00 \\u0000 ;", "]]></x>"]),
        ("{{7*7}}${7*7}", ["\u{202e}gnp.exe", "'; DELETE FROM events --", "$(whoami) `id`", "<!-- -->"]),
        ("%_%", ["\"},\"x\":{\"", "\u{feff}bom", "../../etc/passwd", "SELECT * FROM tokens"]),
        ("é🦀\\'\"", ["1; UPDATE users SET x=1", "\\\\", "👩\u{200d}👩\u{200d}👧", "e\u{301}"]),
    ];
    for (_schema, mut server) in servers().await {
        for (round, protocol) in PROTOCOLS.into_iter().enumerate() {
            let (user_name, names) = values[round];
            let created = admin_call(&server, protocol, &Call::AddHumanUserV2(add(user_name, names, None))).await;
            let id = created.ok()["userId"].as_str().expect("user id").to_owned();
            for reader in PROTOCOLS {
                let user = read(&server, reader, &id).await;
                assert_eq!(names_of(&user), expect_names(user_name, names), "added over {protocol:?}, read {reader:?}");
            }
            // Updated through both v2 updates with the next round's values, read back verbatim.
            let (_, next) = values[(round + 1) % values.len()];
            let updated = admin_call(&server, protocol, &Call::UpdateHumanUserV2(update_human(&id, next))).await;
            assert_eq!(updated.code, 0, "{protocol:?}: {updated:?}");
            let (_, after) = values[(round + 2) % values.len()];
            let patch = Profile { nick_name: Some(after[2].to_owned()), ..Profile::default() };
            let patched = admin_call(&server, protocol, &Call::UpdateUserV2(update_user(&id, patch))).await;
            assert_eq!(patched.code, 0, "{protocol:?}: {patched:?}");
            let want = expect_names(user_name, [next[0], next[1], after[2], next[3]]);
            for reader in PROTOCOLS {
                assert_eq!(names_of(&read(&server, reader, &id).await), want, "updated over {protocol:?}");
            }
            // The v2 search finds the user by its meta-character name, literally.
            let found =
                list(&server, reader_of(round), None, vec![text(Field::UserName, user_name, Method::Equals)]).await;
            assert_eq!(found, [user_name], "{protocol:?}: the search takes the name literally");
        }

        // NUL and overlong values: refused with v2's wording, nothing written.
        let target = Call::AddHumanUserV2(add("target", ["A", "B", "C", "D"], None));
        let user =
            admin_call(&server, Protocol::Rest, &target).await.ok()["userId"].as_str().expect("user id").to_owned();
        let nested = |message: &str, field: &str, rule: &str| {
            format!(
                "invalid {message}.Profile: embedded message failed validation | caused by: invalid SetHumanProfile.{field}: {rule}"
            )
        };
        let nul = "value must not contain NUL characters";
        let length = "value length must be between 1 and 200 runes, inclusive";
        let at_most = "value length must be at most 200 runes";
        let long = "x".repeat(201);
        let emoji_201 = "👍".repeat(201);
        let cases: Vec<(&str, Call, String)> = vec![
            (
                "a NUL in a new given name",
                Call::AddHumanUserV2(add("nul-given", ["Ada\0", "B", "C", "D"], None)),
                nested("AddHumanUserRequest", "GivenName", nul),
            ),
            (
                "a NUL in a new user name",
                Call::AddHumanUserV2(add("nul\0name", ["A", "B", "C", "D"], None)),
                format!("invalid AddHumanUserRequest.Username: {nul}"),
            ),
            (
                "201 emoji in a new family name",
                Call::AddHumanUserV2(add("emoji-family", ["A", &emoji_201, "C", "D"], None)),
                nested("AddHumanUserRequest", "FamilyName", length),
            ),
            (
                "a NUL in an updated family name",
                Call::UpdateHumanUserV2(update_human(&user, ["A", "B\0", "C", "D"])),
                nested("UpdateHumanUserRequest", "FamilyName", nul),
            ),
            (
                "a nick name of 201",
                Call::UpdateHumanUserV2(update_human(&user, ["A", "B", &long, "D"])),
                nested("UpdateHumanUserRequest", "NickName", at_most),
            ),
            (
                "a NUL in a patched given name",
                Call::UpdateUserV2(update_user(
                    &user,
                    Profile { given_name: Some("\0".to_owned()), ..Profile::default() },
                )),
                format!(
                    "invalid UpdateUserRequest.Human: embedded message failed validation | caused by: invalid \
                     UpdateUserRequest_Human.Profile: embedded message failed validation | caused by: invalid \
                     UpdateUserRequest_Human_Profile.GivenName: {nul}"
                ),
            ),
            (
                "201 emoji in a patched display name",
                Call::UpdateUserV2(update_user(
                    &user,
                    Profile { display_name: Some(emoji_201.clone()), ..Profile::default() },
                )),
                format!(
                    "invalid UpdateUserRequest.Human: embedded message failed validation | caused by: invalid \
                     UpdateUserRequest_Human.Profile: embedded message failed validation | caused by: invalid \
                     UpdateUserRequest_Human_Profile.DisplayName: {length}"
                ),
            ),
            (
                "a NUL in an id",
                Call::GetUserByIdV2(v2::GetUserByIdRequest { user_id: format!("{user}\0") }),
                format!("invalid GetUserByIDRequest.UserId: {nul}"),
            ),
        ];
        for protocol in PROTOCOLS {
            for (case, call, message) in &cases {
                let outcome = admin_call(&server, protocol, call).await;
                assert_eq!((outcome.code, outcome.message.as_str()), (3, message.as_str()), "{protocol:?}: {case}");
            }
            // 200 four-byte characters are 200 characters; combining marks count one by one.
            let fits =
                Call::UpdateHumanUserV2(update_human(&user, [&"👍".repeat(200), "B", &"e\u{301}".repeat(100), "D"]));
            assert_eq!(admin_call(&server, protocol, &fits).await.code, 0, "{protocol:?}: 200 scalar values fit");
        }
        let stored = read(&server, Protocol::Grpc, &user).await;
        assert_eq!(stored["details"]["sequence"], "2", "only the fitting update was written: {stored}");
        assert_eq!(stored["human"]["profile"]["givenName"], json!("👍".repeat(200)));
        assert_serving(&mut server).await;
    }
}

/// A text field of v2's search.
#[derive(Clone, Copy, Debug)]
enum Field {
    UserName,
    GivenName,
}

type Method = TextQueryMethod;

const METHODS: [Method; 8] = [
    Method::Equals,
    Method::EqualsIgnoreCase,
    Method::StartsWith,
    Method::StartsWithIgnoreCase,
    Method::Contains,
    Method::ContainsIgnoreCase,
    Method::EndsWith,
    Method::EndsWithIgnoreCase,
];

fn text(field: Field, value: &str, method: Method) -> v2::SearchQuery {
    let (value, method) = (value.to_owned(), method as i32);
    let query = match field {
        Field::UserName => Query::UserNameQuery(v2::UserNameQuery { user_name: value, method }),
        Field::GivenName => Query::FirstNameQuery(v2::FirstNameQuery { first_name: value, method }),
    };
    v2::SearchQuery { query: Some(query) }
}

/// What the contract's method names mean, literally: the whole value, a prefix, a substring or
/// a suffix, with both sides lower-cased for the `_IGNORE_CASE` ones.
fn literal_match(method: Method, value: &str, pattern: &str) -> bool {
    let ignore = matches!(
        method,
        Method::EqualsIgnoreCase
            | Method::StartsWithIgnoreCase
            | Method::ContainsIgnoreCase
            | Method::EndsWithIgnoreCase
    );
    let (value, pattern) =
        if ignore { (value.to_lowercase(), pattern.to_lowercase()) } else { (value.into(), pattern.into()) };
    match method {
        Method::Equals | Method::EqualsIgnoreCase => value == pattern,
        Method::StartsWith | Method::StartsWithIgnoreCase => value.starts_with(&pattern),
        Method::Contains | Method::ContainsIgnoreCase => value.contains(&pattern),
        Method::EndsWith | Method::EndsWithIgnoreCase => value.ends_with(&pattern),
    }
}

/// The protocol a round's search goes over, rotating.
fn reader_of(round: usize) -> Protocol {
    PROTOCOLS[round % PROTOCOLS.len()]
}

/// The user names `ListUsers` finds with `queries` (and, if given, only in `org`), sorted.
async fn list(
    server: &Server,
    protocol: Protocol,
    org: Option<&str>,
    mut queries: Vec<v2::SearchQuery>,
) -> Vec<String> {
    if let Some(org) = org {
        let scope = Query::OrganizationIdQuery(v2::OrganizationIdQuery { organization_id: org.to_owned() });
        queries.push(v2::SearchQuery { query: Some(scope) });
    }
    let request = v2::ListUsersRequest {
        query: Some(ListQuery { offset: 0, limit: 1000, asc: true }),
        sorting_column: v2::UserFieldName::UserName as i32,
        queries,
    };
    let outcome = admin_call(server, protocol, &Call::ListUsersV2(request)).await;
    let body = outcome.ok();
    let mut names: Vec<String> = body["result"]
        .as_array()
        .map(|result| result.iter().map(|u| u["username"].as_str().expect("a user name").to_owned()).collect())
        .unwrap_or_default();
    let total = body["details"]["totalResult"].as_str().map_or(Some(0), |t| t.parse().ok());
    assert_eq!(total, Some(names.len()), "{protocol:?}: the total is what was found: {body}");
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_users_takes_wildcards_quotes_and_backslashes_literally() {
    // (user name, given name) of the users searched, in an org of their own. User names are
    // unique regardless of case, so the case variants are given names.
    let people: [(&str, &str); 14] = [
        ("a%b", "a%b"),
        ("a_b", "a_b"),
        ("axb", "axb"),
        ("ayb", "aXb"),
        ("a-b", "A_B"),
        ("a\\b", "a\\b"),
        ("a%", "a%"),
        ("%", "%"),
        ("_", "_"),
        ("ab", "ab"),
        ("it's", "it's"),
        ("x' OR '1'='1", "x' OR '1'='1"),
        ("Ünï", "Ünï"),
        ("ünï%", "ünï%"),
    ];
    let patterns = [
        "%",
        "_",
        "a%b",
        "a_b",
        "a\\b",
        "\\",
        "\\%",
        "'",
        "' OR '1'='1",
        "%%",
        "a%",
        "%b",
        "*",
        ".*",
        "Ü",
        "ü",
        "",
        "\0",
    ];
    for (_schema, mut server) in servers().await {
        let admin = server.admin();
        let (_, _, org) = server
            .rest("POST", "/management/v1/orgs", &[("authorization", admin.as_str())], Some(json!({"name": "Wild"})))
            .await;
        let org = org.ok()["id"].as_str().expect("org id").to_owned();
        for (user_name, given) in people {
            let call = Call::AddHumanUserV2(add(user_name, [given, "W", "N", "D"], Some(&org)));
            admin_call(&server, Protocol::Rest, &call).await.ok();
        }
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names
        };
        // The cases that tell a literal search from a LIKE pattern, written out.
        let written: [(Field, &str, Method, &[&str]); 9] = [
            (Field::UserName, "%", Method::Contains, &["%", "a%", "a%b", "ünï%"]),
            (Field::UserName, "_", Method::Contains, &["_", "a_b"]),
            (Field::UserName, "a_b", Method::Equals, &["a_b"]),
            (Field::GivenName, "a_b", Method::EqualsIgnoreCase, &["a-b", "a_b"]),
            (Field::UserName, "a%", Method::StartsWith, &["a%", "a%b"]),
            (Field::UserName, "\\", Method::EndsWith, &[]),
            (Field::UserName, "\\", Method::Contains, &["a\\b"]),
            (Field::UserName, "'", Method::Contains, &["it's", "x' OR '1'='1"]),
            (Field::GivenName, "ü", Method::StartsWithIgnoreCase, &["Ünï", "ünï%"]),
        ];
        for protocol in PROTOCOLS {
            for (field, pattern, method, want) in written {
                let found = list(&server, protocol, Some(&org), vec![text(field, pattern, method)]).await;
                let want = sorted(want.iter().map(|s| (*s).to_owned()).collect());
                assert_eq!(found, want, "{protocol:?}: {field:?} {method:?} {pattern:?}");
            }
        }
        // Every pattern with every method on both fields, each cell over one protocol in turn.
        let mut cell = 0;
        for pattern in patterns {
            for method in METHODS {
                for field in [Field::UserName, Field::GivenName] {
                    let value_of = |(user_name, given): (&'static str, &'static str)| match field {
                        Field::UserName => user_name,
                        Field::GivenName => given,
                    };
                    let matching = people.iter().filter(|p| literal_match(method, value_of(**p), pattern));
                    let want = sorted(matching.map(|(user_name, _)| (*user_name).to_owned()).collect());
                    let protocol = reader_of(cell);
                    let found = list(&server, protocol, Some(&org), vec![text(field, pattern, method)]).await;
                    assert_eq!(found, want, "{protocol:?}: {field:?} {method:?} {pattern:?}");
                    cell += 1;
                }
            }
        }
        // Nothing matched outside the org: the org scope is one condition among the others.
        let everywhere = list(&server, Protocol::Grpc, None, vec![text(Field::UserName, "%", Method::Contains)]).await;
        assert_eq!(everywhere, ["%", "a%", "a%b", "ünï%"]);

        // Trees too deep or too large are refused by name, not crashed on (a stack overflow
        // would end the server); trees deeper than a decoder takes are refused by the decoder.
        let leaf = text(Field::UserName, "a", Method::Equals);
        let nest = |depth: usize| {
            (0..depth).fold(leaf.clone(), |inner, _| v2::SearchQuery {
                query: Some(Query::NotQuery(Box::new(v2::NotQuery { query: Some(Box::new(inner)) }))),
            })
        };
        let many = v2::SearchQuery {
            query: Some(Query::InUserIdsQuery(v2::InUserIdQuery {
                user_ids: (0..300).map(|n| n.to_string()).collect(),
            })),
        };
        let too_complex = "The search nests too deep or holds too many conditions (PERSONA-QRY02)";
        for protocol in PROTOCOLS {
            for (case, queries) in [("nine levels", vec![nest(8)]), ("300 ids", vec![many.clone()])] {
                let call = Call::ListUsersV2(v2::ListUsersRequest { queries, ..Default::default() });
                let outcome = admin_call(&server, protocol, &call).await;
                assert_eq!((outcome.code, outcome.message.as_str()), (3, too_complex), "{protocol:?}: {case}");
            }
            let call = Call::ListUsersV2(v2::ListUsersRequest { queries: vec![nest(7)], ..Default::default() });
            assert_eq!(admin_call(&server, protocol, &call).await.code, 0, "{protocol:?}: eight levels are fine");
        }
        assert_serving(&mut server).await;
    }
}
