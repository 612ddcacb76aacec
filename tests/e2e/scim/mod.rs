//! SCIM 2.0 end to end (CONTRACT section 8): a compliance tester nobody on the project wrote,
//! and our own tables of the mapping, the filter grammar, versions, errors, tenant isolation and
//! hostile input, all against the real binary.

mod compliance;
mod filters;
mod hostile;
mod isolation;
mod resources;

use crate::harness::Server;
use bytes::Bytes;
use serde_json::{Value, json};

/// A SCIM call: status, headers and the JSON body (`Null` when there is none).
pub async fn scim(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, http::HeaderMap, Value) {
    let mut all = vec![("content-type", "application/scim+json")];
    all.extend_from_slice(headers);
    let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let (status, headers, body) = server.request(method, path, &all, payload).await.expect("SCIM request");
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&body)))
    };
    (status, headers, json)
}

/// The admin's own org id.
pub async fn own_org(server: &Server) -> String {
    let admin = server.admin();
    let (_, _, org) = server.rest("GET", "/management/v1/orgs/me", &[("authorization", admin.as_str())], None).await;
    org.ok()["org"]["id"].as_str().expect("org id").to_owned()
}

/// A new org, made by the admin.
pub async fn new_org(server: &Server, name: &str) -> String {
    let admin = server.admin();
    let (_, _, org) = server
        .rest("POST", "/management/v1/orgs", &[("authorization", admin.as_str())], Some(json!({"name": name})))
        .await;
    org.ok()["id"].as_str().expect("org id").to_owned()
}

/// A SCIM User body.
pub fn user_body(user_name: &str, given: &str, family: &str, email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": email, "type": "work", "primary": true}],
    })
}

/// Creates a user through SCIM as `auth` in `org`: its resource.
pub async fn create(server: &Server, auth: &str, org: &str, body: Value) -> Value {
    let (status, _, created) =
        scim(server, "POST", &format!("/scim/v2/{org}/Users"), &[("authorization", auth)], Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

/// The PatchOp message of `operations`.
pub fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}
