//! The v2 user service over REST, beside what the SDK flows (`sdk.rs`) prove: entity tags and
//! `If-Match`, validate-only, the no-op update, one history for v1 and v2, users the caller
//! may not see, paging limits, and the operator's view (OpenAPI, metrics labels); and
//! `if-match` / `x-persona-validate-only` as gRPC metadata and Connect headers on both v2
//! update RPCs, over every protocol.

use crate::calls::{Call, PROTOCOLS, Protocol, invoke};
use crate::harness::Server;
use persona_api_grpc::pb::zitadel::user::v2 as pb;
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

/// v2 `UpdateHumanUser` of `id` to given name `given` (family name Lovelace).
fn rename(id: &str, given: &str) -> Call {
    Call::UpdateHumanUserV2(pb::UpdateHumanUserRequest {
        user_id: id.to_owned(),
        profile: Some(pb::SetHumanProfile {
            given_name: given.to_owned(),
            family_name: "Lovelace".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// v2 `UpdateUser` of `id` to nick name `nick`.
fn nick(id: &str, nick: &str) -> Call {
    use pb::update_user_request::{Human, UserType, human::Profile};
    let profile = Profile { nick_name: Some(nick.to_owned()), ..Profile::default() };
    Call::UpdateUserV2(pb::UpdateUserRequest {
        user_id: id.to_owned(),
        username: None,
        user_type: Some(UserType::Human(Human { profile: Some(profile), ..Human::default() })),
    })
}

/// The sequence and names of v2 user `id`, read over gRPC.
async fn state(server: &Server, id: &str) -> (Value, Value, Value) {
    let admin = server.admin();
    let call = Call::GetUserByIdV2(pb::GetUserByIdRequest { user_id: id.to_owned() });
    let read = invoke(server, Protocol::Grpc, &call, &[("authorization", admin.as_str())]).await.outcome;
    let user = &read.ok()["user"];
    let profile = &user["human"]["profile"];
    (user["details"]["sequence"].clone(), profile["givenName"].clone(), profile["nickName"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_and_validate_only_travel_as_metadata_and_connect_headers_on_both_v2_updates() {
    let server = Server::start().await;
    let admin = server.admin();
    for protocol in PROTOCOLS {
        let name = format!("conditional-{protocol:?}").to_lowercase();
        let id = add_v2(&server, &name).await;
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut metadata = vec![("authorization", admin.as_str())];
            metadata.extend_from_slice(extra);
            metadata
        };
        let stale_status = if protocol == Protocol::Rest {
            Some(412)
        } else if protocol.http_errors() {
            Some(409)
        } else {
            None
        };
        for call in [rename(&id, "Grace"), nick(&id, "Countess")] {
            let case = format!("{protocol:?} {:?}", call.rpc());
            let reply = invoke(&server, protocol, &call, &with(&[("if-match", "\"7\"")])).await;
            let stale = "The object was changed concurrently, its current sequence is 1 (PERSONA-PRE01)";
            assert_eq!((reply.outcome.code, reply.outcome.message.as_str()), (10, stale), "{case}");
            if protocol != Protocol::Grpc {
                assert_eq!(reply.status.filter(|_| protocol.http_errors()), stale_status, "{case}");
            }
            let reply = invoke(&server, protocol, &call, &with(&[("if-match", "seven")])).await;
            let malformed = "If-Match must be a quoted sequence like \"7\" (PERSONA-PRE02)";
            assert_eq!((reply.outcome.code, reply.outcome.message.as_str()), (3, malformed), "{case}");

            // A dry run answers what the call would, and writes nothing.
            let dry = invoke(&server, protocol, &call, &with(&[("x-persona-validate-only", "true")])).await.outcome;
            assert_eq!(dry.code, 0, "{case}: {dry:?}");
            if let Some(details) = dry.body.get("details") {
                assert_eq!(details["sequence"], "2", "{case}: the sequence it would write");
            } else {
                assert!(dry.body["changeDate"].as_str().is_some_and(|d| d.ends_with('Z')), "{case}: {dry:?}");
            }
            assert_eq!(state(&server, &id).await, (json!("1"), json!("Ada"), json!("")), "{case}: nothing written");
        }
        // A dry run still validates; a current if-match writes.
        let invalid = invoke(&server, protocol, &rename(&id, ""), &with(&[("x-persona-validate-only", "true")])).await;
        assert_eq!(invalid.outcome.code, 3, "{protocol:?}: {:?}", invalid.outcome);
        let current = invoke(&server, protocol, &rename(&id, "Grace"), &with(&[("if-match", "\"1\"")])).await;
        assert_eq!(current.outcome.ok()["details"]["sequence"], "2", "{protocol:?}");
        let patched = invoke(&server, protocol, &nick(&id, "Countess"), &with(&[("if-match", "\"2\"")])).await;
        assert_eq!(patched.outcome.code, 0, "{protocol:?}: {:?}", patched.outcome);
        assert_eq!(state(&server, &id).await, (json!("3"), json!("Grace"), json!("Countess")), "{protocol:?}");
        let late = invoke(&server, protocol, &nick(&id, "Late"), &with(&[("if-match", "\"2\"")])).await.outcome;
        assert_eq!(
            (late.code, late.message.as_str()),
            (10, "The object was changed concurrently, its current sequence is 3 (PERSONA-PRE01)")
        );
    }
}
