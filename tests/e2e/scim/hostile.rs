//! Hostile input over SCIM: huge bodies and filters, NUL and invalid UTF-8, deep nesting, huge
//! `startIndex` and `count`, wrong media types; each answers a SCIM error (or an empty page),
//! never a 5xx, and the server keeps serving.

use super::{own_org, scim};
use crate::harness::Server;
use bytes::Bytes;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_in_scims_shape_and_the_server_keeps_serving() {
    let server = Server::start().await;
    let org = own_org(&server).await;
    let admin = server.admin();
    let users = format!("/scim/v2/{org}/Users");
    let deep = format!("{}userName eq \"a\"{}", "(".repeat(200), ")".repeat(200));
    let nots = format!("{}userName pr{}", "not (".repeat(20), ")".repeat(20));
    let wide = vec!["userName eq \"a\""; 400].join(" or ");
    let huge = format!("userName eq \"{}\"", "a".repeat(9_000));
    let encode = |f: &str| {
        f.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect::<String>()
    };
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        (format!("{users}?filter={}", encode(&deep)), 400, Some("invalidFilter")),
        (format!("{users}?filter={}", encode(&nots)), 400, Some("invalidFilter")),
        (format!("{users}?filter={}", encode(&wide)), 400, Some("invalidFilter")),
        (format!("{users}?filter={}", encode(&huge)), 400, Some("invalidFilter")),
        (format!("{users}?filter=userName%20eq%20%22a%5Cu0000b%22"), 200, None),
        (format!("{users}?filter=userName%20eq%20%22%00%22"), 400, Some("invalidFilter")),
        (format!("{users}?filter=%FF%FE"), 400, Some("invalidValue")),
        (format!("{users}?startIndex=99999999999999999999999999"), 200, None),
        (format!("{users}?count=99999999999999999999999999"), 200, None),
        (format!("{users}?count=-5&startIndex=-7"), 200, None),
        (format!("{users}/%00"), 400, Some("invalidValue")),
        ("/scim/v2/%FF/Users".to_owned(), 404, None),
    ];
    let auth = [("authorization", admin.as_str())];
    for (path, status, scim_type) in cases {
        let (got, _, body) = scim(&server, "GET", &path, &auth, None).await;
        let shown = &path[..path.len().min(80)];
        assert_eq!(got, status, "{shown}: {body}");
        assert_eq!(body["scimType"].as_str(), scim_type, "{shown}");
    }
    let bodies: Vec<(Bytes, &str, u16)> = vec![
        (Bytes::from_static(b"\xff\xfe{"), "application/scim+json", 400),
        (
            Bytes::from("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"a\\u0000b\",\"name\":{\"givenName\":\"A\",\"familyName\":\"B\"},\"emails\":[{\"value\":\"a@b.example\"}]}".to_owned()),
            "application/json",
            400,
        ),
        (Bytes::from(vec![b'['; 100_000]), "application/scim+json", 400),
        (Bytes::from(vec![b' '; 1024 * 1024 + 1]), "application/scim+json", 413),
        (Bytes::from_static(b"userName=a"), "application/x-www-form-urlencoded", 415),
    ];
    for (body, content_type, status) in bodies {
        let headers = [("authorization", admin.as_str()), ("content-type", content_type)];
        let (got, headers, answer) = server.request("POST", &users, &headers, body).await.expect("request");
        assert_eq!(got, status, "{}", String::from_utf8_lossy(&answer));
        assert_eq!(headers["content-type"], "application/scim+json");
    }
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("userName eq \"{}\"", "a".repeat(500_000)),
    });
    let (status, _, body) = scim(&server, "POST", &format!("{users}/.search"), &auth, Some(search)).await;
    assert_eq!((status, &body["scimType"]), (400, &json!("invalidFilter")));
    let (status, _, _) = scim(&server, "GET", &format!("/scim/v2/{org}/ServiceProviderConfig"), &[], None).await;
    assert_eq!(status, 200, "still serving");
}
