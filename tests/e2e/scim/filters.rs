//! The filter grammar over HTTP: a table of filters against a seeded set of users, each with
//! the user names it must find (storage's own table, crates/storage/tests/search.rs, holds the
//! compiled filter kinds to the domain's `search_in`), plus paging, sorting and `.search`.

use super::{create, own_org, scim, user_body};
use crate::harness::Server;
use serde_json::json;

/// (user name, given, family, email, external id, active).
const USERS: [(&str, &str, &str, &str, &str, bool); 5] = [
    ("ada", "Ada", "Lovelace", "ada@example.com", "ext-1", true),
    ("grace", "Grace", "Hopper", "grace@navy.example", "EXT-2", true),
    ("alan", "Alan", "Turing", "alan@example.com", "", false),
    ("Édith", "Édith", "Clarke", "edith@ge.example", "ext-3", true),
    ("katherine", "Katherine", "Johnson", "kj@nasa.example", "", true),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_table_finds_exactly_the_expected_users() {
    let server = Server::start().await;
    let org = own_org(&server).await;
    let admin = server.admin();
    let mut first_created = String::new();
    for (n, (name, given, family, email, external, active)) in USERS.into_iter().enumerate() {
        let mut body = user_body(name, given, family, email);
        if !external.is_empty() {
            body["externalId"] = json!(external);
        }
        body["active"] = json!(active);
        let created = create(&server, &admin, &org, body).await;
        if n == 2 {
            first_created = created["meta"]["created"].as_str().expect("created").to_owned();
        }
    }
    let table: Vec<(String, Vec<&str>)> = vec![
        ("userName eq \"ADA\"".into(), vec!["ada"]),
        ("username Eq \"ada\"".into(), vec!["ada"]),
        ("userName ne \"ada\"".into(), vec!["alan", "grace", "katherine", "Édith"]),
        ("userName co \"A\"".into(), vec!["ada", "alan", "grace", "katherine"]),
        ("userName sw \"a\"".into(), vec!["ada", "alan"]),
        ("userName ew \"E\"".into(), vec!["grace", "katherine"]),
        ("userName gt \"grace\"".into(), vec!["katherine", "Édith"]),
        ("userName le \"alan\"".into(), vec!["ada", "alan"]),
        ("name.familyName sw \"h\"".into(), vec!["grace"]),
        ("name.givenName eq \"édith\"".into(), vec!["Édith"]),
        ("emails.value ew \"example.com\"".into(), vec!["ada", "alan"]),
        ("emails co \"NASA\"".into(), vec!["katherine"]),
        ("emails[value sw \"grace\" and type eq \"work\"]".into(), vec!["grace"]),
        ("emails[type eq \"home\"]".into(), vec![]),
        ("externalId eq \"ext-1\"".into(), vec!["ada"]),
        ("externalId eq \"EXT-1\"".into(), vec![]),
        ("externalId pr".into(), vec!["ada", "grace", "Édith"]),
        ("not (externalId pr)".into(), vec!["alan", "katherine"]),
        ("active eq false".into(), vec!["alan"]),
        ("active eq true and not (userName sw \"k\")".into(), vec!["ada", "grace", "Édith"]),
        ("(userName eq \"ada\" or userName eq \"alan\") and active eq true".into(), vec!["ada"]),
        ("userName eq \"ada\" or userName eq \"alan\" and active eq true".into(), vec!["ada"]),
        ("displayName co \"lovelace\"".into(), vec!["ada"]),
        ("phoneNumbers pr".into(), vec![]),
        (format!("meta.created gt \"{first_created}\""), vec!["katherine", "Édith"]),
        (format!("meta.created ge \"{first_created}\""), vec!["alan", "katherine", "Édith"]),
        (format!("meta.lastModified lt \"{first_created}\""), vec!["ada", "grace"]),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"grace\"".into(), vec!["grace"]),
    ];
    let auth = [("authorization", admin.as_str())];
    for (filter, expected) in table {
        let path = format!("/scim/v2/{org}/Users/.search");
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter, "sortBy": "userName", "attributes": ["userName"]});
        let (status, _, list) = scim(&server, "POST", &path, &auth, Some(body)).await;
        assert_eq!(status, 200, "{filter}: {list}");
        let names: Vec<&str> =
            list["Resources"].as_array().expect("resources").iter().filter_map(|r| r["userName"].as_str()).collect();
        assert_eq!(names, expected, "{filter}");
        assert_eq!(list["totalResults"], json!(expected.len()), "{filter}");
    }
    let page = format!("/scim/v2/{org}/Users?sortBy=name.familyName&sortOrder=descending&startIndex=2&count=2");
    let (_, _, list) = scim(&server, "GET", &page, &auth, None).await;
    let names: Vec<&str> =
        list["Resources"].as_array().expect("resources").iter().filter_map(|r| r["userName"].as_str()).collect();
    assert_eq!((names, &list["startIndex"], &list["totalResults"]), (vec!["ada", "katherine"], &json!(2), &json!(5)));
    let (_, _, counted) = scim(&server, "GET", &format!("/scim/v2/{org}/Users?count=0"), &auth, None).await;
    assert_eq!((&counted["totalResults"], &counted["Resources"]), (&json!(5), &json!([])));
}
