//! The User resource end to end: the mapping both ways (SCIM sees v1-created users, v1 sees
//! SCIM's changes in its history with the editor), PUT and PATCH, versions (`ETag`,
//! `If-Match` 412, `If-None-Match` 304), discovery, and the error shape with its `scimType`.

use super::{create, own_org, patch_op, scim, user_body};
use crate::harness::Server;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_client_creates_finds_patches_replaces_and_deletes_with_enforced_versions() {
    let server = Server::start().await;
    let org = own_org(&server).await;
    let admin = server.admin();
    let auth = [("authorization", admin.as_str())];
    let mut body = user_body("ada", "Ada", "Lovelace", "ada@example.com");
    body["externalId"] = json!("okta-00u1");
    body["locale"] = json!("en_gb");
    body["phoneNumbers"] = json!([{"value": "+41 79 555 01 00", "type": "mobile"}]);
    body["active"] = json!(false);
    let (status, headers, created) =
        scim(&server, "POST", &format!("/scim/v2/{org}/Users"), &auth, Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["content-type"], "application/scim+json");
    let id = created["id"].as_str().expect("id").to_owned();
    let location = headers["location"].to_str().expect("location").to_owned();
    assert!(location.ends_with(&format!("/scim/v2/{org}/Users/{id}")), "{location}");
    assert_eq!(created["meta"]["location"], json!(location));
    assert_eq!(created["meta"]["version"], "W/\"3\"", "created, external id, deactivated: {created}");
    assert_eq!(headers["etag"], "W/\"3\"");
    assert_eq!(
        (&created["externalId"], &created["active"], &created["preferredLanguage"], &created["displayName"]),
        (&json!("okta-00u1"), &json!(false), &json!("en-GB"), &json!("Ada Lovelace")),
        "stored canonically, the display name computed"
    );
    assert_eq!(created["phoneNumbers"][0]["value"], "+41795550100");

    let (status, _, again) = scim(&server, "POST", &format!("/scim/v2/{org}/Users"), &auth, Some(body)).await;
    assert_eq!((status, &again["scimType"], &again["status"]), (409, &json!("uniqueness"), &json!("409")));

    let found = format!("/scim/v2/{org}/Users?filter=userName%20eq%20%22ADA%22");
    let (status, _, list) = scim(&server, "GET", &found, &auth, None).await;
    assert_eq!((status, &list["totalResults"], &list["Resources"][0]["id"]), (200, &json!(1), &json!(id)));

    let user = format!("/scim/v2/{org}/Users/{id}");
    let (status, headers, _) = scim(&server, "GET", &user, &[auth[0], ("if-none-match", "W/\"3\"")], None).await;
    assert_eq!((status, headers["etag"].to_str().ok()), (304, Some("W/\"3\"")));
    let (status, _, _) = scim(&server, "GET", &user, &[auth[0], ("if-none-match", "W/\"2\"")], None).await;
    assert_eq!(status, 200, "a stale tag reads the user");

    let patch = patch_op(json!([
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@king.example"},
        {"op": "replace", "value": {"active": "True"}},
    ]));
    let (status, _, stale) =
        scim(&server, "PATCH", &user, &[auth[0], ("if-match", "W/\"2\"")], Some(patch.clone())).await;
    assert_eq!(status, 412, "{stale}");
    assert!(stale["detail"].as_str().is_some_and(|d| d.contains("W/\"3\"")), "names the current version: {stale}");
    let (status, headers, patched) =
        scim(&server, "PATCH", &user, &[auth[0], ("if-match", "W/\"3\"")], Some(patch)).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (&patched["name"]["givenName"], &patched["emails"][0]["value"], &patched["active"]),
        (&json!("Augusta"), &json!("ada@king.example"), &json!(true))
    );
    assert_eq!(headers["etag"], "W/\"6\"", "profile, email, reactivation");
    let (status, _, same) =
        scim(&server, "PATCH", &user, &auth, Some(patch_op(json!([{"op": "add", "path": "active", "value": true}]))))
            .await;
    assert_eq!((status, &same["meta"]["version"]), (200, &json!("W/\"6\"")), "a no-op writes nothing");

    let mut replacement = user_body("ada.king", "Ada", "King", "ada@king.example");
    replacement["nickName"] = json!("Countess");
    let (status, _, stale) =
        scim(&server, "PUT", &user, &[auth[0], ("if-match", "W/\"5\"")], Some(replacement.clone())).await;
    assert_eq!(status, 412, "{stale}");
    let (status, _, replaced) = scim(&server, "PUT", &user, &auth, Some(replacement)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!((&replaced["userName"], &replaced["nickName"]), (&json!("ada.king"), &json!("Countess")));
    assert!(replaced.get("externalId").is_none() && replaced.get("phoneNumbers").is_none(), "PUT clears what it lacks");
    assert!(replaced.get("locale").is_none(), "and the language");

    // v1 sees every SCIM change in the history, with the editor.
    let (_, _, changes) =
        server.rest("POST", &format!("/management/v1/users/{id}/changes/_search"), &auth, Some(json!({}))).await;
    let changes = changes.ok()["result"].as_array().expect("changes").clone();
    let types: Vec<&str> =
        changes.iter().filter_map(|c| c["eventType"]["key"].as_str()?.strip_prefix("EventTypes.")).collect();
    for expected in [
        "user.human.added",
        "user.externalid.changed",
        "user.deactivated",
        "user.reactivated",
        "user.human.profile.changed",
        "user.human.email.changed",
        "user.username.changed",
        "user.human.phone.removed",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    assert!(changes.iter().all(|c| c["editorId"].as_str().is_some_and(|e| !e.is_empty())), "{changes:?}");

    let (status, _, _) = scim(&server, "DELETE", &user, &[auth[0], ("if-match", "W/\"1\"")], None).await;
    assert_eq!(status, 412);
    let (status, _, body) = scim(&server, "DELETE", &user, &auth, None).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _, gone) = scim(&server, "GET", &user, &auth, None).await;
    assert_eq!((status, &gone["schemas"][0]), (404, &json!("urn:ietf:params:scim:api:messages:2.0:Error")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_made_over_v1_read_in_scim_and_machine_users_stay_invisible() {
    let server = Server::start().await;
    let org = own_org(&server).await;
    let admin = server.admin();
    let auth = [("authorization", admin.as_str())];
    let body = json!({"userName": "grace", "profile": {"firstName": "Grace", "lastName": "Hopper", "preferredLanguage": "de_ch"}, "email": {"email": "grace@example.com"}});
    let (_, _, created) = server.rest("POST", "/management/v1/users/human", &auth, Some(body)).await;
    let id = created.ok()["userId"].as_str().expect("id").to_owned();
    let (status, _, user) =
        scim(&server, "GET", &format!("/scim/v2/{org}/Users/{id}?attributes=userName,name.givenName"), &auth, None)
            .await;
    assert_eq!(status, 200);
    assert_eq!(
        user,
        json!({"id": id, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "grace", "name": {"givenName": "Grace"}})
    );
    let (_, _, user) =
        scim(&server, "GET", &format!("/scim/v2/{org}/Users/{id}?excludedAttributes=meta,emails"), &auth, None).await;
    assert!(user.get("meta").is_none() && user.get("emails").is_none() && user["locale"] == "de-CH", "{user}");
    let (_, _, me) = server.rest("GET", "/management/v1/orgs/me", &auth, None).await;
    assert!(me.ok()["org"]["id"].is_string());
    let (_, _, list) = scim(&server, "GET", &format!("/scim/v2/{org}/Users"), &auth, None).await;
    let names: Vec<&str> =
        list["Resources"].as_array().expect("list").iter().filter_map(|r| r["userName"].as_str()).collect();
    assert_eq!(names, ["grace"], "the admin machine user is no SCIM user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_scim_type_of_their_case() {
    let server = Server::start().await;
    let org = own_org(&server).await;
    let admin = server.admin();
    let auth = [("authorization", admin.as_str())];
    let id = create(&server, &admin, &org, user_body("eve", "Eve", "Example", "eve@example.com")).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let users = format!("/scim/v2/{org}/Users");
    let user = format!("{users}/{id}");
    // (method, path, body, status, scimType)
    type Case<'a> = (&'a str, String, Option<Value>, u16, Option<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        ("GET", format!("{users}?filter=userName%20eq"), None, 400, Some("invalidFilter")),
        ("GET", format!("{users}?filter=password%20eq%20%22x%22"), None, 400, Some("invalidFilter")),
        ("GET", format!("{users}?sortOrder=sideways"), None, 400, Some("invalidValue")),
        ("GET", format!("{users}?startIndex=first"), None, 400, Some("invalidValue")),
        ("POST", users.clone(), Some(json!({"userName": "x"})), 400, Some("invalidSyntax")),
        ("POST", users.clone(), Some(user_body("bad", "", "Example", "bad@example.com")), 400, Some("invalidValue")),
        ("POST", users.clone(), Some(user_body("bad", "B", "E", "not-an-address")), 400, Some("invalidValue")),
        ("POST", users.clone(), Some(user_body("EVE", "E", "E", "eve2@example.com")), 409, Some("uniqueness")),
        (
            "PATCH",
            user.clone(),
            Some(patch_op(json!([{"op": "replace", "path": "id", "value": "1"}]))),
            400,
            Some("mutability"),
        ),
        (
            "PATCH",
            user.clone(),
            Some(patch_op(json!([{"op": "replace", "path": "title", "value": "x"}]))),
            400,
            Some("invalidPath"),
        ),
        (
            "PATCH",
            user.clone(),
            Some(patch_op(json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@y.z"}]))),
            400,
            Some("noTarget"),
        ),
        (
            "PATCH",
            user.clone(),
            Some(patch_op(json!([{"op": "remove", "path": "userName"}]))),
            400,
            Some("invalidValue"),
        ),
        ("PATCH", user.clone(), Some(json!({"Operations": []})), 400, Some("invalidSyntax")),
        ("GET", format!("{users}/4711"), None, 404, None),
        ("DELETE", format!("{users}/4711"), None, 404, None),
        ("PUT", format!("{users}/4711"), Some(user_body("x", "X", "Y", "x@example.com")), 404, None),
        ("DELETE", users.clone(), None, 405, None),
        ("GET", format!("/scim/v2/{org}/Groups"), None, 404, None),
        ("POST", format!("/scim/v2/{org}/Bulk"), Some(json!({})), 501, None),
    ];
    for (method, path, body, status, scim_type) in cases {
        let (got, headers, error) = scim(&server, method, &path, &auth, body).await;
        assert_eq!(got, status, "{method} {path}: {error}");
        assert_eq!(headers["content-type"], "application/scim+json", "{method} {path}");
        assert_eq!(error["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{method} {path}");
        assert_eq!(error["status"], json!(status.to_string()));
        assert_eq!(error["scimType"].as_str(), scim_type, "{method} {path}: {error}");
    }
    // Authentication and authorisation come first: a bad body without a token is 401.
    let (status, headers, error) = scim(&server, "POST", &users, &[], Some(json!("not a user"))).await;
    assert_eq!((status, headers.contains_key("www-authenticate")), (401, true), "{error}");
    let (status, _, _) = scim(&server, "POST", &users, &[("authorization", "Bearer nope")], Some(json!([]))).await;
    assert_eq!(status, 401);
    let (status, _, _) = scim(&server, "GET", "/scim/v2/999999/Users", &auth, None).await;
    assert_eq!(status, 403, "an unknown org, as x-zitadel-orgid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_states_what_is_supported_and_requests_get_scim_metrics_labels() {
    let server = Server::start().await;
    let org = own_org(&server).await;
    let (status, _, config) = scim(&server, "GET", &format!("/scim/v2/{org}/ServiceProviderConfig"), &[], None).await;
    assert_eq!(status, 200);
    for (feature, supported) in
        [("patch", true), ("filter", true), ("sort", true), ("etag", true), ("bulk", false), ("changePassword", false)]
    {
        assert_eq!(config[feature]["supported"], json!(supported), "{feature}");
    }
    assert_eq!(config["filter"]["maxResults"], 200);
    let (_, _, types) = scim(&server, "GET", &format!("/scim/v2/{org}/ResourceTypes"), &[], None).await;
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let (_, _, schema) =
        scim(&server, "GET", &format!("/scim/v2/{org}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"), &[], None)
            .await;
    let names: Vec<&str> =
        schema["attributes"].as_array().expect("attributes").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "userName",
            "name",
            "displayName",
            "nickName",
            "preferredLanguage",
            "locale",
            "emails",
            "phoneNumbers",
            "active"
        ]
    );
    let admin = server.admin();
    let id = create(&server, &admin, &org, user_body("mia", "Mia", "M", "mia@example.com")).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let op = patch_op(json!([{"op": "add", "path": "nickName", "value": "M"}]));
    scim(&server, "PATCH", &format!("/scim/v2/{org}/Users/{id}"), &[("authorization", admin.as_str())], Some(op)).await;
    let (_, _, metrics) = server.request("GET", "/metrics", &[], bytes::Bytes::new()).await.expect("metrics");
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("rpc=\"scim/Users.patch\""), "{metrics}");
    assert!(metrics.contains("rpc=\"scim/Users.create\""));
}
