//! The v2 user service over REST, beside what the SDK flows (`sdk.rs`) prove: entity tags and
//! `If-Match`, validate-only, the no-op update, one history for v1 and v2, users the caller
//! may not see, paging limits, and the operator's view (OpenAPI, metrics labels).

use crate::harness::Server;
use serde_json::{Value, json};

async fn add_v2(server: &Server, user_name: &str) -> String {
    let body = json!({
        "username": user_name,
        "profile": {"givenName": "Ada", "familyName": "Lovelace"},
        "email": {"email": format!("{user_name}@example.com"), "isVerified": true}
    });
    let (status, _, reply) = server.rest_as_admin("POST", "/v2/users/human", Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply["userId"].as_str().expect("userId").to_owned()
}

fn etag(headers: &http::HeaderMap) -> Option<&str> {
    headers.get("etag").and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_reads_and_updates_carry_entity_tags_and_honour_if_match_and_validate_only() {
    let server = Server::start().await;
    let admin = server.admin();
    let id = add_v2(&server, "tagged").await;
    let (status, headers, user) = server.rest_as_admin("GET", &format!("/v2/users/{id}"), None).await;
    assert_eq!((status, etag(&headers)), (200, Some("\"1\"")), "{user}");
    assert_eq!(user["user"]["state"], "USER_STATE_ACTIVE");
    assert_eq!(user["user"]["human"]["profile"]["givenName"], "Ada");

    let path = format!("/v2/users/human/{id}");
    let change = json!({"profile": {"givenName": "Grace", "familyName": "Lovelace"}});
    let stale = [("authorization", admin.as_str()), ("if-match", "\"7\"")];
    let (status, _, outcome) = server.rest("PUT", &path, &stale, Some(change.clone())).await;
    assert_eq!((status, outcome.code), (412, 10), "{:?}", outcome.body);

    let dry = [("authorization", admin.as_str()), ("x-persona-validate-only", "true")];
    let (status, headers, outcome) = server.rest("PUT", &path, &dry, Some(change.clone())).await;
    assert_eq!(status, 200, "{:?}", outcome.body);
    assert_eq!(outcome.body["details"]["sequence"], "2", "what the call would answer");
    assert_eq!(etag(&headers), None, "a dry run changes no entity tag");

    let current = [("authorization", admin.as_str()), ("if-match", "\"1\"")];
    let (status, headers, outcome) = server.rest("PUT", &path, &current, Some(change.clone())).await;
    assert_eq!((status, etag(&headers)), (200, Some("\"2\"")), "{:?}", outcome.body);

    // The same values again: success, no event, the current details.
    let (status, _, outcome) = server.rest("PUT", &path, &[("authorization", admin.as_str())], Some(change)).await;
    assert_eq!((status, &outcome.body["details"]["sequence"]), (200, &json!("2")), "{:?}", outcome.body);

    let history = format!("/management/v1/users/{id}/changes/_search");
    let (_, _, changes) = server.rest_as_admin("POST", &history, Some(json!({"query": {"asc": true}}))).await;
    let result = changes["result"].as_array().expect("changes");
    assert_eq!(result.len(), 2, "the dry run and the no-op wrote nothing: {changes}");
    assert_eq!(result[1]["changedFields"], json!([{"field": "firstName", "oldValue": "Ada", "newValue": "Grace"}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_share_users_and_history_and_invisible_users_look_unknown() {
    let server = Server::start().await;
    let admin = server.admin();
    let body = json!({"userName": "v1-made", "profile": {"firstName": "Ada", "lastName": "Lovelace"},
        "email": {"email": "v1@example.com"}});
    let (_, _, created) = server.rest_as_admin("POST", "/management/v1/users/human", Some(body)).await;
    let id = created["userId"].as_str().expect("userId").to_owned();
    let patch = json!({"username": "v2-renamed", "human": {"profile": {"nickName": "Countess"}}});
    let (status, _, reply) = server.rest_as_admin("PATCH", &format!("/v2/users/{id}"), Some(patch)).await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["changeDate"].as_str().is_some_and(|d| d.ends_with('Z')), "{reply}");
    let (_, _, v1) = server.rest_as_admin("GET", &format!("/management/v1/users/{id}"), None).await;
    assert_eq!(v1["user"]["userName"], "v2-renamed");
    assert_eq!(v1["user"]["state"], "USER_STATE_INITIAL", "v1's add keeps its own rule");
    assert_eq!(v1["user"]["human"]["profile"]["nickName"], "Countess");
    let history = format!("/management/v1/users/{id}/changes/_search");
    let (_, _, changes) = server.rest_as_admin("POST", &history, Some(json!({"query": {"asc": true}}))).await;
    let fields: Vec<&Value> =
        changes["result"].as_array().expect("changes").iter().map(|c| &c["changedFields"]).collect();
    assert_eq!(fields[1], &json!([{"field": "userName", "oldValue": "v1-made", "newValue": "v2-renamed"}]));
    assert_eq!(fields[2], &json!([{"field": "nickName", "newValue": "Countess"}]), "an empty old value is omitted");
    let (_, _, v2) = server.rest_as_admin("GET", &format!("/v2/users/{id}"), None).await;
    assert_eq!(v2["user"]["state"], "USER_STATE_INITIAL", "v2 numbers INITIAL 5 and names it alike");

    // A user manager of another org: the default org's user is exactly as unknown as no user.
    let (_, _, org) = server.rest_as_admin("POST", "/management/v1/orgs", Some(json!({"name": "Elsewhere"}))).await;
    let org_id = org["id"].as_str().expect("org id").to_owned();
    let other = machine_bearer_in(&server, &org_id, "elsewhere-manager").await;
    let as_other = [("authorization", other.as_str())];
    for (method, path, body) in [
        ("GET", format!("/v2/users/{id}"), None),
        ("PATCH", format!("/v2/users/{id}"), Some(json!({"human": {"profile": {"nickName": "x"}}}))),
        ("DELETE", format!("/v2/users/{id}"), None),
    ] {
        let (status, _, foreign) = server.rest(method, &path, &as_other, body.clone()).await;
        let unknown_path = path.replace(&id, "4711");
        let (unknown_status, _, unknown) = server.rest(method, &unknown_path, &as_other, body).await;
        assert_eq!((status, foreign.code), (404, 5), "{method}: {:?}", foreign.body);
        assert_eq!((status, &foreign.message), (unknown_status, &unknown.message), "{method}: no existence leak");
    }
    let (_, _, listed) = server.rest("POST", "/v2/users", &as_other, Some(json!({}))).await;
    let names: Vec<&str> =
        listed.body["result"].as_array().expect("result").iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names, ["elsewhere-manager"], "only its own org's users");
    let (_, _, unchanged) = server.rest_as_admin("GET", &format!("/v2/users/{id}"), None).await;
    assert_eq!(unchanged["details"]["sequence"], v2["details"]["sequence"], "nothing changed");
    let _ = admin;
}

/// A machine user of org `org_id` holding `ORG_USER_MANAGER` there, as a bearer value.
async fn machine_bearer_in(server: &Server, org_id: &str, name: &str) -> String {
    let admin = server.admin();
    let in_org = [("authorization", admin.as_str()), ("x-zitadel-orgid", org_id)];
    let (_, _, machine) = server
        .rest("POST", "/management/v1/users/machine", &in_org, Some(json!({"userName": name, "name": name})))
        .await;
    let user_id = machine.body["userId"].as_str().expect("machine id").to_owned();
    let member = json!({"userId": user_id, "roles": ["ORG_USER_MANAGER"]});
    let (status, _, reply) = server.rest("POST", "/management/v1/orgs/me/members", &in_org, Some(member)).await;
    assert_eq!(status, 200, "{:?}", reply.body);
    let (_, _, token) =
        server.rest("POST", &format!("/management/v1/users/{user_id}/pats"), &in_org, Some(json!({}))).await;
    format!("Bearer {}", token.body["token"].as_str().expect("token"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_users_pages_with_totals_refuses_oversized_pages_and_is_labelled_in_metrics() {
    let server = Server::start().await;
    for name in ["list-c", "list-a", "list-b"] {
        add_v2(&server, name).await;
    }
    let query = json!({
        "query": {"offset": "1", "limit": 1, "asc": true},
        "sortingColumn": "USER_FIELD_NAME_USER_NAME",
        "queries": [{"userNameQuery": {"userName": "LIST-", "method": "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE"}}]
    });
    let (status, _, page) = server.rest_as_admin("POST", "/v2/users", Some(query)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["details"]["totalResult"], "3");
    assert_eq!(page["result"][0]["username"], "list-b");
    assert_eq!(page["sortingColumn"], "USER_FIELD_NAME_USER_NAME");
    let (status, _, refused) = server.rest_as_admin("POST", "/v2/users", Some(json!({"query": {"limit": 1001}}))).await;
    assert_eq!((status, &refused["code"]), (400, &json!(3)), "{refused}");
    let nested = json!({"queries": [{"notQuery": {"query": {"orQuery": {"queries": [
        {"userNameQuery": {"userName": "list-a"}},
        {"emailQuery": {"emailAddress": "LIST-B@EXAMPLE.COM", "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}}
    ]}}}}, {"typeQuery": {"type": "TYPE_HUMAN"}}]});
    let (_, _, rest) = server.rest_as_admin("POST", "/v2/users", Some(nested)).await;
    let mut names: Vec<&str> =
        rest["result"].as_array().expect("result").iter().filter_map(|u| u["username"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["list-c"], "humans that are neither list-a nor list-b's email (the admin is a machine)");

    let metrics = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("rpc=\"zitadel.user.v2.UserService/ListUsers\"") && l.contains("protocol=\"rest\"")),
        "v2 REST calls are labelled by service and RPC"
    );
    let (_, _, document) = server.rest_as_admin("GET", "/openapi.json", None).await;
    for (path, method) in [("/v2/users/human", "post"), ("/v2/users/{user_id}", "patch"), ("/v2/users", "post")] {
        assert!(
            document["paths"][path][method]["operationId"].as_str().is_some_and(|o| o.starts_with("UserService_")),
            "{path} {method}"
        );
    }
}
