//! `GET /openapi.json`: a valid OpenAPI 3.0 document, and every real response of every
//! operation — successes and errors — matches the schema it declares, with no undeclared
//! property.

use crate::harness::Server;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Structural rules of OpenAPI 3.0 that a generator can get wrong.
fn check_document(doc: &Value) {
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.0.")), "openapi version");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string(), "info");
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        let templated: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        for (method, op) in item.as_object().expect("path item") {
            assert!(["get", "put", "post", "delete", "patch"].contains(&method.as_str()), "{path} {method}");
            let id = op["operationId"].as_str().expect("operationId");
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} is not unique");
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: BTreeSet<&str> =
                parameters.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect();
            assert_eq!(in_path, templated, "{path} {method}: path parameters");
            for parameter in &parameters {
                assert!(["path", "query", "header", "cookie"].contains(&parameter["in"].as_str().unwrap_or("")));
                assert!(parameter["schema"].is_object(), "{parameter}");
                if parameter["in"] == "path" {
                    assert_eq!(parameter["required"], true, "{parameter}");
                }
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("200"), "{path} {method}");
            for (status, response) in responses {
                assert!(status == "default" || (status.len() == 3 && status.parse::<u16>().is_ok()), "{status}");
                let response = resolve(doc, response);
                assert!(response["description"].is_string(), "{path} {method} {status}: description");
            }
            let security = op.get("security").unwrap_or(&doc["security"]);
            for requirement in security.as_array().expect("security") {
                for name in requirement.as_object().expect("requirement").keys() {
                    assert!(schemes.contains_key(name), "unknown security scheme {name}");
                }
            }
        }
    }
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut targets = Vec::new();
    refs(doc, &mut targets);
    for target in targets {
        let pointer = target.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(target) => resolve(doc, doc.pointer(target.trim_start_matches('#')).expect("reference")),
        None => value,
    }
}

/// Checks `instance` against `schema` (the subset of JSON Schema the generator emits),
/// strictly: an object property the schema does not declare is an error unless the schema
/// allows additional properties.
fn validate(doc: &Value, schema: &Value, instance: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let mut fail = |what: String| errors.push(format!("{at}: {what}"));
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(instance)
    {
        fail(format!("{instance} is not one of {allowed:?}"));
    }
    match schema["type"].as_str() {
        None => {}
        Some("object") => {
            let Some(object) = instance.as_object() else { return fail(format!("{instance} is not an object")) };
            for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !object.contains_key(required) {
                    fail(format!("required property {required} is missing"));
                }
            }
            for (key, value) in object {
                let here = format!("{at}.{key}");
                match (schema["properties"].get(key), &schema["additionalProperties"]) {
                    (Some(property), _) => validate(doc, property, value, &here, errors),
                    (None, Value::Bool(true)) => {}
                    (None, additional @ Value::Object(_)) => validate(doc, additional, value, &here, errors),
                    (None, _) => errors.push(format!("{here}: property not declared in the schema")),
                }
            }
        }
        Some("array") => {
            let Some(items) = instance.as_array() else { return fail(format!("{instance} is not an array")) };
            for (index, item) in items.iter().enumerate() {
                validate(doc, &schema["items"], item, &format!("{at}[{index}]"), errors);
            }
        }
        Some("string") => {
            let Some(text) = instance.as_str() else { return fail(format!("{instance} is not a string")) };
            if schema["format"] == "date-time" {
                let bytes = text.as_bytes();
                let shaped = bytes.len() >= 20 && bytes[4] == b'-' && bytes[10] == b'T' && text.ends_with('Z');
                if !shaped {
                    fail(format!("{text} is not an RFC 3339 UTC date-time"));
                }
            }
            if let Some(pattern) = schema["pattern"].as_str() {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                let matches = match pattern {
                    "^[0-9]+$" => digits(text),
                    "^-?[0-9]+$" => digits(text.strip_prefix('-').unwrap_or(text)),
                    "^-?[0-9]+(\\.[0-9]{1,9})?s$" => text.ends_with('s'),
                    other => return fail(format!("the test does not know the pattern {other}")),
                };
                if !matches {
                    fail(format!("{text} does not match {pattern}"));
                }
            }
        }
        Some("integer") if !(instance.is_i64() || instance.is_u64()) => fail(format!("{instance} is not an integer")),
        Some("number") if !instance.is_number() => fail(format!("{instance} is not a number")),
        Some("boolean") if !instance.is_boolean() => fail(format!("{instance} is not a boolean")),
        Some("integer" | "number" | "boolean") => {}
        Some(other) => fail(format!("unknown schema type {other}")),
    }
}

/// Calls the server and checks the answer against the document's operation at `template`.
struct Checker<'a> {
    server: &'a Server,
    doc: Value,
    seen: BTreeSet<(String, String, u16)>,
}

impl Checker<'_> {
    async fn call(&mut self, method: &str, template: &str, path: &str, body: Option<Value>, auth: bool) -> Value {
        let token = self.server.admin();
        let mut headers = vec![("content-type", "application/json")];
        if auth {
            headers.push(("authorization", token.as_str()));
        }
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, response_headers, raw) =
            self.server.request(method, path, &headers, payload).await.expect("request");
        assert_eq!(response_headers["content-type"], "application/json", "{method} {path}");
        let instance: Value = serde_json::from_slice(&raw).expect("JSON body");
        let operation = &self.doc["paths"][template][method.to_ascii_lowercase()];
        assert!(operation.is_object(), "{method} {template} is not in the document");
        let responses = &operation["responses"];
        let declared = responses.get(status.to_string()).unwrap_or(&responses["default"]);
        let declared = resolve(&self.doc, declared);
        let schema = &declared["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {template} declares no schema for {status}");
        let mut errors = Vec::new();
        validate(&self.doc, schema, &instance, "$", &mut errors);
        assert!(errors.is_empty(), "{method} {path} → {status} {instance}\ndoes not match its schema:\n{errors:#?}");
        self.seen.insert((method.to_owned(), template.to_owned(), status));
        instance
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_real_responses_match_it() {
    let server = Server::start().await;
    let (status, headers, raw) = server.request("GET", "/openapi.json", &[], Bytes::new()).await.expect("document");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let doc: Value = serde_json::from_slice(&raw).expect("JSON document");
    check_document(&doc);

    let mut c = Checker { server: &server, doc, seen: BTreeSet::new() };
    let v1 = "/management/v1";
    c.call("GET", "/management/v1/healthz", &format!("{v1}/healthz"), None, false).await;
    c.call("GET", "/ready", "/ready", None, false).await;
    c.call("GET", "/healthz", "/healthz", None, false).await;
    c.call("GET", "/management/v1/orgs/me", &format!("{v1}/orgs/me"), None, true).await;
    c.call("GET", "/management/v1/orgs/me", &format!("{v1}/orgs/me"), None, false).await;
    c.call("POST", "/management/v1/orgs", &format!("{v1}/orgs"), Some(json!({"name": "OpenAPI Org"})), true).await;

    let human = json!({"userName": "ada", "profile": {"firstName": "Ada", "lastName": "Lovelace", "gender": "GENDER_FEMALE"},
        "email": {"email": "ada@example.com", "isEmailVerified": true}, "phone": {"phone": "+41791234567"}});
    let created =
        c.call("POST", "/management/v1/users/human", &format!("{v1}/users/human"), Some(human.clone()), true).await;
    let user_id = created["userId"].as_str().expect("user id").to_owned();
    c.call("POST", "/management/v1/users/human", &format!("{v1}/users/human"), Some(human), true).await;

    let profile = format!("{v1}/users/{user_id}/profile");
    let template = "/management/v1/users/{user_id}/profile";
    let update =
        json!({"firstName": "Ada", "lastName": "King", "displayName": "Ada King", "preferredLanguage": "en_gb"});
    c.call("PUT", template, &profile, Some(update.clone()), true).await;
    c.call("PUT", template, &profile, Some(update), true).await;
    c.call("PUT", template, &profile, Some(json!({"firstName": ""})), true).await;
    c.call("GET", template, &profile, None, true).await;
    c.call("GET", "/management/v1/users/{id}", &format!("{v1}/users/{user_id}"), None, true).await;
    c.call("GET", "/management/v1/users/{id}", &format!("{v1}/users/4242"), None, true).await;
    let changes = format!("{v1}/users/{user_id}/changes/_search");
    c.call(
        "POST",
        "/management/v1/users/{user_id}/changes/_search",
        &changes,
        Some(json!({"query": {"asc": true}})),
        true,
    )
    .await;

    let machine = json!({"userName": "robot", "name": "Robot", "description": "builds", "accessTokenType": "ACCESS_TOKEN_TYPE_BEARER"});
    let robot =
        c.call("POST", "/management/v1/users/machine", &format!("{v1}/users/machine"), Some(machine), true).await;
    let robot_id = robot["userId"].as_str().expect("machine id").to_owned();
    c.call("GET", "/management/v1/users/{id}", &format!("{v1}/users/{robot_id}"), None, true).await;
    c.call(
        "POST",
        "/management/v1/users/{user_id}/pats",
        &format!("{v1}/users/{robot_id}/pats"),
        Some(json!({})),
        true,
    )
    .await;
    let member = json!({"userId": robot_id, "roles": ["ORG_USER_MANAGER"]});
    c.call("POST", "/management/v1/orgs/me/members", &format!("{v1}/orgs/me/members"), Some(member), true).await;
    let import = json!({"userName": "grace", "profile": {"firstName": "Grace", "lastName": "Hopper"},
        "email": {"email": "grace@example.com"}});
    c.call("POST", "/management/v1/users/human/_import", &format!("{v1}/users/human/_import"), Some(import), true)
        .await;
    c.call("DELETE", "/management/v1/users/{id}", &format!("{v1}/users/{user_id}"), None, true).await;
    c.call("DELETE", "/management/v1/users/{id}", &format!("{v1}/users/{user_id}"), None, true).await;

    // v2: every operation, with answers checked against the document like v1's.
    let added = json!({"username": "hedy", "profile": {"givenName": "Hedy", "familyName": "Lamarr"},
        "email": {"email": "hedy@example.com", "returnCode": {}}});
    let hedy = c.call("POST", "/v2/users/human", "/v2/users/human", Some(added), true).await;
    let hedy_id = hedy["userId"].as_str().expect("v2 user id").to_owned();
    let one = "/v2/users/{user_id}";
    c.call("GET", one, &format!("/v2/users/{hedy_id}"), None, true).await;
    c.call("GET", one, "/v2/users/4242", None, true).await;
    let set = json!({"profile": {"givenName": "Hedy", "familyName": "Markey"}, "phone": {"phone": "+43 1 555 0100", "isVerified": true}});
    c.call("PUT", "/v2/users/human/{user_id}", &format!("/v2/users/human/{hedy_id}"), Some(set), true).await;
    let patch = json!({"human": {"profile": {"nickName": "Hedy"}}});
    c.call("PATCH", one, &format!("/v2/users/{hedy_id}"), Some(patch), true).await;
    c.call("PATCH", one, &format!("/v2/users/{hedy_id}"), Some(json!({"human": {"profile": {"givenName": ""}}})), true)
        .await;
    let list = json!({"query": {"limit": 10}, "queries": [{"emailQuery": {"emailAddress": "hedy@", "method": "TEXT_QUERY_METHOD_STARTS_WITH"}}]});
    c.call("POST", "/v2/users", "/v2/users", Some(list), true).await;
    c.call("DELETE", one, &format!("/v2/users/{hedy_id}"), None, true).await;

    // Every operation of the document answered 200 at least once, and errors were seen.
    let mut missing = Vec::new();
    for (path, item) in c.doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            let method = method.to_ascii_uppercase();
            if !c.seen.contains(&(method.clone(), path.clone(), 200)) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "operations never answered 200: {missing:?}");
    let statuses: BTreeSet<u16> = c.seen.iter().map(|(_, _, status)| *status).collect();
    for status in [400, 401, 404, 409] {
        assert!(statuses.contains(&status), "no {status} was checked: {statuses:?}");
    }
}
