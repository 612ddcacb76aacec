//! REST specifics over the network: the error body shape, status mapping, JSON rules, and what
//! the first start leaves behind.

use crate::harness::Server;
use bytes::Bytes;
use serde_json::{Value, json};

async fn new_user(server: &Server) -> String {
    let admin = server.admin();
    let body = json!({"user_name": "grace", "profile": {"first_name": "Grace", "last_name": "Hopper", "gender": "GENDER_FEMALE"}, "email": {"email": "grace@example.com"}});
    let (status, headers, outcome) =
        server.rest("POST", "/management/v1/users/human", &[("authorization", admin.as_str())], Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    assert!(outcome.ok()["details"]["creationDate"].as_str().is_some(), "creation date on create");
    outcome.ok()["userId"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_errors_carry_the_zitadel_body_and_status() {
    let server = Server::start().await;
    let user = new_user(&server).await;
    let admin = server.admin();
    let path = format!("/management/v1/users/{user}/profile");
    let same = json!({"firstName": "Grace", "lastName": "Hopper", "displayName": "Grace Hopper", "gender": 1});
    let (status, _, outcome) = server.rest("PUT", &path, &[("authorization", admin.as_str())], Some(same)).await;
    assert_eq!(status, 400, "FailedPrecondition is 400 over REST");
    assert_eq!(
        outcome.body,
        json!({"code": 9, "message": "Profile not changed (COMMAND-2M0fs)", "details": [
            {"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": "COMMAND-2M0fs", "message": "Profile not changed"}]})
    );

    let (status, headers, outcome) = server.rest("GET", &path, &[], None).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
    assert_eq!(outcome.body, json!({"code": 16, "message": "auth header missing"}));

    let (status, _, outcome) =
        server.rest("GET", "/management/v1/users/404/profile", &[("authorization", admin.as_str())], None).await;
    assert_eq!(status, 404);
    assert_eq!(outcome.message, "User could not be found (QUERY-HNhb3)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_wrong_methods_and_bad_bodies_answer_in_json() {
    let server = Server::start().await;
    let admin = server.admin();
    let (status, _, body) =
        server.request("GET", "/management/v1/nothing-here", &[], Bytes::new()).await.expect("request");
    assert_eq!(status, 404);
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json"), json!({"code": 5, "message": "Not Found"}));

    let (status, _, body) =
        server.request("PATCH", "/management/v1/users/1/profile", &[], Bytes::new()).await.expect("request");
    assert_eq!(status, 405);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"code": 12, "message": "Method Not Allowed"})
    );

    let headers = [("authorization", admin.as_str()), ("content-type", "application/json")];
    let (status, _, body) = server
        .request("PUT", "/management/v1/users/1/profile", &headers, Bytes::from_static(b"{\"firstName\": "))
        .await
        .expect("request");
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json")["code"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_values_override_the_body_and_both_name_styles_are_accepted() {
    let server = Server::start().await;
    let user = new_user(&server).await;
    let admin = server.admin();
    let body = json!({"user_id": "someone-else", "first_name": "Amazing", "lastName": "Hopper", "display_name": "Amazing Grace", "preferredLanguage": "EN_us", "unknownField": true});
    let (status, headers, outcome) = server
        .rest("PUT", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], Some(body))
        .await;
    assert_eq!(status, 200, "{outcome:?}");
    assert_eq!(headers.get("etag").and_then(|v| v.to_str().ok()), Some("\"2\""));
    let (_, _, read) = server
        .rest("GET", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], None)
        .await;
    let profile = &read.ok()["profile"];
    assert_eq!(profile["firstName"], "Amazing");
    assert_eq!(profile["preferredLanguage"], "en-US");
    assert!(
        profile.get("gender").is_none(),
        "an update sets all six values: no gender given is unspecified, omitted as a zero value"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_writes_a_private_admin_token_and_later_starts_create_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start().await;
    let pat = server.dir.path().join("admin.pat");
    let mode = std::fs::metadata(&pat).expect("token file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let admin = server.admin();
    let (_, _, org) = server.rest("GET", "/management/v1/orgs/me", &[("authorization", admin.as_str())], None).await;
    assert_eq!(org.ok()["org"]["name"], "Persona");
    assert_eq!(org.ok()["org"]["state"], "ORG_STATE_ACTIVE");
    let org_id = org.ok()["org"]["id"].clone();

    let mut server = server;
    server.restart().await;
    let token = std::fs::read_to_string(&pat).expect("token file");
    assert_eq!(token.trim(), server.admin_token, "the token file is left as it was");
    let (_, _, org) = server.rest("GET", "/management/v1/orgs/me", &[("authorization", admin.as_str())], None).await;
    assert_eq!(org.ok()["org"]["id"], org_id, "no second org, the old token still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_cors_preflights_and_grpc_web_text() {
    use base64::Engine;
    let server = Server::start().await;
    let preflight = [
        ("origin", "https://console.example"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "authorization,x-zitadel-orgid,x-grpc-web,content-type"),
    ];
    let (status, headers, _) = server
        .request("OPTIONS", "/zitadel.management.v1.ManagementService/GetMyOrg", &preflight, Bytes::new())
        .await
        .expect("preflight");
    assert!(status == 200 || status == 204, "preflight status {status}");
    assert_eq!(
        headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://console.example")
    );
    let allowed = headers
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["authorization", "x-zitadel-orgid", "x-grpc-web", "content-type", "if-match"] {
        assert!(allowed.contains(header), "{header} allowed: {allowed}");
    }

    // GetMyOrg over grpc-web-text: base64 frames both ways.
    let engine = base64::engine::general_purpose::STANDARD;
    let body = engine.encode([0u8, 0, 0, 0, 0]);
    let admin = server.admin();
    let headers = [
        ("content-type", "application/grpc-web-text"),
        ("accept", "application/grpc-web-text"),
        ("x-grpc-web", "1"),
        ("authorization", admin.as_str()),
        ("origin", "https://console.example"),
    ];
    let (status, response_headers, body) = server
        .request("POST", "/zitadel.management.v1.ManagementService/GetMyOrg", &headers, Bytes::from(body))
        .await
        .expect("grpc-web-text");
    assert_eq!(status, 200);
    let exposed = response_headers
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("grpc-status") && exposed.contains("grpc-status-details-bin"), "{exposed}");
    // Each base64 quantum (4 characters) decodes on its own, so concatenated segments with
    // their own padding decode quantum by quantum.
    let raw: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let decoded: Vec<u8> = raw.chunks(4).flat_map(|quantum| engine.decode(quantum).unwrap_or_default()).collect();
    let text = String::from_utf8_lossy(&decoded);
    assert!(
        text.contains("Persona"),
        "the org's name travels in the message: {text:?} (raw {:?})",
        String::from_utf8_lossy(&raw)
    );
    assert!(text.contains("grpc-status:0") || text.contains("grpc-status: 0"), "trailers say OK: {text:?}");
}
