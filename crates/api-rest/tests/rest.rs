//! The REST adapter in-process over the in-memory store: real routes, real extractors, the real
//! application service. Asserts the contract's JSON shapes, statuses and headers.

#![expect(clippy::expect_used, reason = "a test: a failed step is a failed test")]

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use persona_api_rest::{RestConfig, router};
use persona_domain::conformance::Fixture;
use persona_domain::memory::InMemoryStore;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A router over a fresh, bootstrapped store, with the admin's `authorization` value.
struct App {
    router: Router,
    auth: String,
    org_id: String,
}

async fn app_with(config: RestConfig) -> App {
    let fx = Fixture::new(InMemoryStore::default()).await;
    App { router: router(fx.service, config), auth: fx.admin, org_id: fx.org.into_string() }
}

async fn app() -> App {
    app_with(RestConfig::default()).await
}

/// A response as the tests look at it.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl App {
    async fn raw(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body)).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(format!("{bytes:?}")));
        Reply { status, headers, body }
    }

    /// As the admin, with `extra` headers and a JSON body (`Value::Null`: no body).
    async fn call(&self, method: Method, path: &str, extra: &[(&str, &str)], body: Value) -> Reply {
        let mut headers = vec![("authorization", self.auth.as_str())];
        headers.extend_from_slice(extra);
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        self.raw(method, path, &headers, bytes).await
    }

    /// Adds a human and returns its id.
    async fn add_ada(&self) -> String {
        let reply = self
            .call(
                Method::POST,
                "/management/v1/users/human",
                &[],
                json!({
                    "userName": "ada",
                    "profile": {"firstName": "Ada", "lastName": "Lovelace"},
                    "email": {"email": "ada@example.com", "isEmailVerified": true}
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body["userId"].as_str().expect("userId").to_owned()
    }
}

fn profile_body() -> Value {
    json!({"firstName": "Ada", "lastName": "King", "displayName": "Ada King", "preferredLanguage": "en_gb"})
}

fn is_rfc3339_utc(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() >= 20 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T'))
}

#[tokio::test]
async fn update_profile_answers_with_the_contract_json_and_an_etag() {
    let app = app().await;
    let id = app.add_ada().await;
    let reply = app.call(Method::PUT, &format!("/management/v1/users/{id}/profile"), &[], profile_body()).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let details = reply.body["details"].as_object().expect("details");
    let keys: Vec<&str> = details.keys().map(String::as_str).collect();
    assert_eq!(keys, ["changeDate", "resourceOwner", "sequence"], "no creationDate on update");
    assert_eq!(details["sequence"], "2");
    assert_eq!(details["resourceOwner"], app.org_id.as_str());
    assert!(is_rfc3339_utc(&details["changeDate"]), "{details:?}");
    assert_eq!(reply.body.as_object().map(serde_json::Map::len), Some(1));

    let read = app.call(Method::GET, &format!("/management/v1/users/{id}/profile"), &[], Value::Null).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.header("etag"), Some("\"2\""));
    assert_eq!(
        read.body["profile"],
        json!({"firstName": "Ada", "lastName": "King", "displayName": "Ada King", "preferredLanguage": "en-GB"})
    );
    assert_eq!(read.body["details"]["sequence"], "2");
    assert!(is_rfc3339_utc(&read.body["details"]["creationDate"]));
}

#[tokio::test]
async fn update_with_identical_values_is_rejected_as_not_changed() {
    let app = app().await;
    let id = app.add_ada().await;
    let path = format!("/management/v1/users/{id}/profile");
    assert_eq!(app.call(Method::PUT, &path, &[], profile_body()).await.status, StatusCode::OK);
    let again = app.call(Method::PUT, &path, &[], profile_body()).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.body,
        json!({"code": 9, "message": "Profile not changed (COMMAND-2M0fs)", "details": [
            {"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": "COMMAND-2M0fs", "message": "Profile not changed"}
        ]})
    );
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(again.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn invalid_profile_is_rejected_with_the_compat_message() {
    let app = app().await;
    let id = app.add_ada().await;
    let body = json!({"firstName": "", "lastName": "King", "displayName": ""});
    let reply = app.call(Method::PUT, &format!("/management/v1/users/{id}/profile"), &[], body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["code"], 3);
    assert_eq!(
        reply.body["message"],
        "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive"
    );
    let details = reply.body["details"].as_array().expect("field violations");
    assert_eq!(details.len(), 1, "no ErrorDetail without an id");
    assert_eq!(details[0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
    let fields: Vec<&str> =
        details[0]["fieldViolations"].as_array().expect("list").iter().filter_map(|v| v["field"].as_str()).collect();
    assert_eq!(fields, ["firstName", "displayName"]);
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_unauthenticated() {
    let app = app().await;
    let path = "/management/v1/users/1/profile";
    let missing = app.raw(Method::GET, path, &[], Vec::new()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body, json!({"code": 16, "message": "auth header missing"}));
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

    let basic = app.raw(Method::GET, path, &[("authorization", "Basic abc")], Vec::new()).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(basic.body["message"], "invalid auth header (AUTH-toLo1)");
    assert_eq!(basic.body["details"][0]["id"], "AUTH-toLo1");

    let unknown = app.raw(Method::GET, path, &[("authorization", "Bearer nope")], Vec::new()).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body["message"], "Errors.Token.Invalid (AUTH-7fs1e)");
}

#[tokio::test]
async fn unknown_org_header_is_permission_denied() {
    let app = app().await;
    let reply = app.call(Method::GET, "/management/v1/orgs/me", &[("x-zitadel-orgid", "999")], Value::Null).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["message"], "Organisation doesn't exist (AUTH-Bs7Ds)");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_the_error_shape() {
    let app = app().await;
    let table = [
        (Method::GET, "/management/v1/nothing", StatusCode::NOT_FOUND, json!({"code": 5, "message": "Not Found"})),
        (Method::GET, "/", StatusCode::NOT_FOUND, json!({"code": 5, "message": "Not Found"})),
        (
            Method::DELETE,
            "/management/v1/orgs",
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": 12, "message": "Method Not Allowed"}),
        ),
        (
            Method::POST,
            "/management/v1/users/1/profile",
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": 12, "message": "Method Not Allowed"}),
        ),
    ];
    for (method, path, status, body) in table {
        let reply = app.call(method.clone(), path, &[], Value::Null).await;
        assert_eq!((reply.status, &reply.body), (status, &body), "{method} {path}");
        assert_eq!(reply.header("content-type"), Some("application/json"), "{method} {path}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{method} {path}");
    }
}

#[tokio::test]
async fn undecodable_bodies_are_invalid_argument() {
    let app = app().await;
    let id = app.add_ada().await;
    let path = format!("/management/v1/users/{id}/profile");
    let bodies: [(&str, &[u8]); 5] = [
        ("truncated", br#"{"firstName":"Ada","lastN"#),
        ("not json", b"firstName=Ada"),
        ("wrong type", br#"{"firstName":["Ada"]}"#),
        ("invalid utf-8", b"{\"firstName\":\"\xc3\x28\"}"),
        ("array", b"[]"),
    ];
    for (case, body) in bodies {
        let reply = app.raw(Method::PUT, &path, &[("authorization", app.auth.as_str())], body.to_vec()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{case}");
        assert_eq!(reply.body["code"], 3, "{case}");
        assert!(reply.body["message"].as_str().is_some_and(|m| m.starts_with("request body")), "{case}: {reply:?}");
        assert!(reply.body.get("details").is_none(), "{case}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = app_with(RestConfig { max_body_bytes: 64 }).await;
    let body = json!({"firstName": "x".repeat(100)}).to_string().into_bytes();
    let reply = app.raw(Method::PUT, "/management/v1/users/1/profile", &[], body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.body, json!({"code": 8, "message": "request body too large"}));
}

#[tokio::test]
async fn snake_case_camel_case_and_nulls_are_all_accepted() {
    let app = app().await;
    let id = app.add_ada().await;
    let path = format!("/management/v1/users/{id}/profile");
    let snake = json!({"first_name": "Ada", "last_name": "King", "display_name": "Snake", "gender": "GENDER_FEMALE"});
    let reply = app.call(Method::PUT, &path, &[], snake).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let camel = json!({"firstName": "Ada", "lastName": "King", "displayName": "Camel", "nickName": null, "gender": 2});
    let reply = app.call(Method::PUT, &path, &[], camel).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["details"]["sequence"], "3");
    let read = app.call(Method::GET, &path, &[], Value::Null).await;
    assert_eq!(read.body["profile"]["displayName"], "Camel");
    assert_eq!(read.body["profile"]["gender"], "GENDER_MALE");
}

#[tokio::test]
async fn path_values_override_body_fields() {
    let app = app().await;
    let id = app.add_ada().await;
    let mut body = profile_body();
    body["userId"] = json!("someone-else");
    let reply = app.call(Method::PUT, &format!("/management/v1/users/{id}/profile"), &[], body).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn stale_if_match_is_a_failed_precondition() {
    let app = app().await;
    let id = app.add_ada().await;
    let path = format!("/management/v1/users/{id}/profile");
    let etag = app.call(Method::GET, &path, &[], Value::Null).await.header("etag").map(str::to_owned);
    assert_eq!(etag.as_deref(), Some("\"1\""));

    let first = app.call(Method::PUT, &path, &[("if-match", "\"1\"")], profile_body()).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.header("etag"), Some("\"2\""));

    let mut other = profile_body();
    other["nickName"] = json!("Countess");
    let stale = app.call(Method::PUT, &path, &[("if-match", "\"1\"")], other).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.body["code"], 10);
    assert_eq!(stale.body["details"][0]["id"], "PERSONA-PRE01");
    assert!(stale.body["message"].as_str().is_some_and(|m| m.contains("current sequence is 2")), "{stale:?}");
}

#[tokio::test]
async fn validate_only_checks_everything_and_writes_nothing() {
    let app = app().await;
    let id = app.add_ada().await;
    let path = format!("/management/v1/users/{id}/profile");
    let dry = app.call(Method::PUT, &path, &[("x-persona-validate-only", "true")], profile_body()).await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    assert_eq!(dry.header("etag"), None);
    let read = app.call(Method::GET, &path, &[], Value::Null).await;
    assert_eq!(read.body["profile"]["lastName"], "Lovelace");
    assert_eq!(read.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn healthz_needs_no_authentication() {
    let app = app().await;
    let reply = app.raw(Method::GET, "/management/v1/healthz", &[], Vec::new()).await;
    assert_eq!((reply.status, &reply.body), (StatusCode::OK, &json!({})));
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn import_rejects_fields_persona_cannot_store() {
    let app = app().await;
    let body = json!({
        "user_name": "grace",
        "profile": {"first_name": "Grace", "last_name": "Hopper"},
        "email": {"email": "grace@example.com"},
        "password": "hunter2"
    });
    let reply = app.call(Method::POST, "/management/v1/users/human/_import", &[], body.clone()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["details"][0]["id"], "PERSONA-IMP01");

    let mut accepted = body;
    accepted["password"] = Value::Null;
    let reply = app.call(Method::POST, "/management/v1/users/human/_import", &[], accepted).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(is_rfc3339_utc(&reply.body["details"]["creationDate"]));
}

#[tokio::test]
async fn fixed_segments_still_work_as_user_ids() {
    let app = app().await;
    let get = app.call(Method::GET, "/management/v1/users/human", &[], Value::Null).await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    assert_eq!(get.body["message"], "User could not be found (QUERY-HNhb3)");
    let delete = app.call(Method::DELETE, "/management/v1/users/machine", &[], Value::Null).await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert_eq!(delete.body["message"], "User could not be found (COMMAND-m9od)");
    let profile = app.call(Method::GET, "/management/v1/users/human/profile", &[], Value::Null).await;
    assert_eq!(profile.body["message"], "User could not be found (QUERY-HNhb3)");
}

#[tokio::test]
async fn every_route_reaches_its_use_case() {
    let app = app().await;
    let ada = app.add_ada().await;
    let update = app.call(Method::PUT, &format!("/management/v1/users/{ada}/profile"), &[], profile_body()).await;
    assert_eq!(update.status, StatusCode::OK);

    let user = app.call(Method::GET, &format!("/management/v1/users/{ada}"), &[], Value::Null).await;
    assert_eq!(user.status, StatusCode::OK, "{user:?}");
    assert_eq!(user.body["user"]["loginNames"], json!(["ada"]));
    assert_eq!(user.body["user"]["preferredLoginName"], "ada");
    assert_eq!(user.body["user"]["state"], "USER_STATE_ACTIVE");
    assert_eq!(user.body["user"]["human"]["email"], json!({"email": "ada@example.com", "isEmailVerified": true}));

    let changes = app
        .call(
            Method::POST,
            &format!("/management/v1/users/{ada}/changes/_search"),
            &[],
            json!({"query": {"asc": true}}),
        )
        .await;
    assert_eq!(changes.status, StatusCode::OK, "{changes:?}");
    let result = changes.body["result"].as_array().expect("result");
    assert_eq!(result.len(), 2);
    assert_eq!(result[1]["eventType"]["key"], "EventTypes.user.human.profile.changed");
    assert_eq!(result[1]["sequence"], "2");
    assert_eq!(result[1]["editorPreferredLoginName"], "admin");
    assert_eq!(result[1]["changedFields"][0], json!({"field": "lastName", "oldValue": "Lovelace", "newValue": "King"}));

    let robot = app
        .call(Method::POST, "/management/v1/users/machine", &[], json!({"userName": "robot", "name": "Robot"}))
        .await;
    assert_eq!(robot.status, StatusCode::OK, "{robot:?}");
    let robot_id = robot.body["userId"].as_str().expect("userId").to_owned();
    let pat = app.call(Method::POST, &format!("/management/v1/users/{robot_id}/pats"), &[], Value::Null).await;
    assert_eq!(pat.status, StatusCode::OK, "{pat:?}");
    let token = pat.body["token"].as_str().expect("token").to_owned();
    let member = app
        .call(
            Method::POST,
            "/management/v1/orgs/me/members",
            &[],
            json!({"userId": robot_id, "roles": ["ORG_OWNER_VIEWER"]}),
        )
        .await;
    assert_eq!(member.status, StatusCode::OK, "{member:?}");

    let robot_auth = format!("Bearer {token}");
    let my_org =
        app.raw(Method::GET, "/management/v1/orgs/me", &[("authorization", robot_auth.as_str())], vec![]).await;
    assert_eq!(my_org.status, StatusCode::OK, "{my_org:?}");
    assert_eq!(my_org.body["org"]["id"], app.org_id.as_str());
    assert_eq!(my_org.body["org"]["state"], "ORG_STATE_ACTIVE");
    let denied = app
        .raw(Method::DELETE, &format!("/management/v1/users/{ada}"), &[("authorization", robot_auth.as_str())], vec![])
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["message"], "No matching permissions found (AUTH-5mWD2)");

    let org = app.call(Method::POST, "/management/v1/orgs", &[], json!({"name": "Globex"})).await;
    assert_eq!(org.status, StatusCode::OK, "{org:?}");
    assert!(org.body["id"].as_str().is_some_and(|id| !id.is_empty()));

    let removed = app.call(Method::DELETE, &format!("/management/v1/users/{ada}"), &[], Value::Null).await;
    assert_eq!(removed.status, StatusCode::OK, "{removed:?}");
    let gone = app.call(Method::GET, &format!("/management/v1/users/{ada}"), &[], Value::Null).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["message"], "User could not be found (QUERY-HNhb3)");
}
