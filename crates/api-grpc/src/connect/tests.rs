//! The Connect router in-process over the in-memory store, called as a tower service.

use super::*;
use crate::pb::zitadel::management::v1 as pb;
use crate::pb::zitadel::v1::ErrorDetail;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use persona_domain::conformance;
use persona_domain::memory::InMemoryStore;
use prost::Message as _;
use serde_json::{Value, json};
use tower::ServiceExt;

const PATH: &str = "/zitadel.management.v1.ManagementService/";

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

struct Fixture {
    router: Router,
    admin: String,
}

async fn fixture(limit: usize) -> Fixture {
    let base = conformance::Fixture::new(InMemoryStore::default()).await;
    Fixture { router: router(base.service, ConnectConfig { max_body_bytes: limit }), admin: base.admin }
}

impl Fixture {
    async fn send(&self, method: &str, rpc: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        let mut request = http::Request::builder().method(method).uri(format!("{PATH}{rpc}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body)).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        Answer { status: parts.status.as_u16(), headers: parts.headers, body }
    }

    async fn json(&self, rpc: &str, extra: &[(&str, &str)], body: &Value) -> Answer {
        let mut headers = vec![("content-type", "application/json"), ("authorization", self.admin.as_str())];
        headers.extend_from_slice(extra);
        self.send("POST", rpc, &headers, body.to_string().into_bytes()).await
    }

    async fn add_ada(&self) -> String {
        let add = json!({"userName": "ada", "profile": {"firstName": "Ada", "lastName": "Lovelace"},
            "email": {"email": "ada@example.com"}});
        let answer = self.json("AddHumanUser", &[], &add).await;
        assert_eq!(answer.status, 200, "{}", answer.json());
        answer.json()["userId"].as_str().expect("user id").to_owned()
    }
}

#[tokio::test]
async fn json_and_binary_calls_answer_in_their_own_codec() {
    let fixture = fixture(1 << 20).await;
    let user = fixture.add_ada().await;
    let update = json!({"userId": user, "firstName": "Augusta", "lastName": "King", "displayName": "Ada King"});
    let answer = fixture.json("UpdateHumanProfile", &[("connect-protocol-version", "1")], &update).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/json");
    assert_eq!(answer.json()["details"]["sequence"], "2");

    let request = pb::GetHumanProfileRequest { user_id: user };
    let headers = [("content-type", "application/proto"), ("authorization", fixture.admin.as_str())];
    let answer = fixture.send("POST", "GetHumanProfile", &headers, request.encode_to_vec()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/proto");
    let read = pb::GetHumanProfileResponse::decode(answer.body.as_slice()).expect("protobuf answer");
    assert_eq!(read.profile.map(|p| p.first_name), Some("Augusta".to_owned()));
}

#[tokio::test]
async fn domain_errors_have_the_contract_status_and_a_decodable_detail() {
    let fixture = fixture(1 << 20).await;
    let user = fixture.add_ada().await;
    let same = json!({"userId": user, "firstName": "Augusta", "lastName": "King", "displayName": "Ada King"});
    assert_eq!(fixture.json("UpdateHumanProfile", &[], &same).await.status, 200);
    let answer = fixture.json("UpdateHumanProfile", &[], &same).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/json");
    let body = answer.json();
    assert_eq!(body["code"], "failed_precondition");
    assert_eq!(body["message"], "Profile not changed (COMMAND-2M0fs)");
    assert_eq!(body["details"][0]["type"], "zitadel.v1.ErrorDetail");
    let value = STANDARD_NO_PAD.decode(body["details"][0]["value"].as_str().expect("value")).expect("base64");
    let detail = ErrorDetail::decode(value.as_slice()).expect("ErrorDetail");
    assert_eq!(detail.id, "COMMAND-2M0fs");

    let headers = [("content-type", "application/json")];
    let answer = fixture.send("POST", "GetMyOrg", &headers, b"{}".to_vec()).await;
    assert_eq!(
        (answer.status, answer.json()),
        (401, json!({"code": "unauthenticated", "message": "auth header missing"}))
    );
}

#[tokio::test]
async fn refusals_come_in_the_connect_error_shape() {
    let fixture = fixture(64).await;
    let auth = fixture.admin.clone();
    let json_type = ("content-type", "application/json");
    let big = vec![b' '; 65];
    // (case, method, rpc, headers, body, status, code, a header that must be set)
    type Case<'a> =
        (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, &'a str, Option<(&'a str, &'a str)>);
    let table: Vec<Case<'_>> = vec![
        ("unknown rpc", "POST", "Nope", vec![json_type], b"{}".to_vec(), 404, "unimplemented", None),
        ("GET", "GET", "GetMyOrg", vec![json_type], Vec::new(), 405, "unimplemented", Some(("allow", "POST"))),
        (
            "unknown codec",
            "POST",
            "GetMyOrg",
            vec![("content-type", "text/xml")],
            b"{}".to_vec(),
            415,
            "unimplemented",
            Some(("accept-post", "application/json, application/proto")),
        ),
        ("no content type", "POST", "GetMyOrg", vec![], b"{}".to_vec(), 415, "unimplemented", None),
        (
            "protocol version 2",
            "POST",
            "GetMyOrg",
            vec![json_type, ("connect-protocol-version", "2")],
            b"{}".to_vec(),
            400,
            "invalid_argument",
            None,
        ),
        (
            "gzip",
            "POST",
            "GetMyOrg",
            vec![json_type, ("content-encoding", "gzip")],
            b"{}".to_vec(),
            501,
            "unimplemented",
            Some(("accept-encoding", "identity")),
        ),
        (
            "bad timeout",
            "POST",
            "GetMyOrg",
            vec![json_type, ("connect-timeout-ms", "soon")],
            b"{}".to_vec(),
            400,
            "invalid_argument",
            None,
        ),
        ("too large", "POST", "GetMyOrg", vec![json_type], big, 429, "resource_exhausted", None),
        (
            "duplicate key",
            "POST",
            "GetHumanProfile",
            vec![json_type, ("authorization", auth.as_str())],
            br#"{"userId":"1","userId":"2"}"#.to_vec(),
            400,
            "invalid_argument",
            None,
        ),
    ];
    for (case, method, rpc, headers, body, status, code, header) in table {
        let answer = fixture.send(method, rpc, &headers, body).await;
        assert_eq!(answer.status, status, "{case}");
        assert_eq!(answer.headers[CONTENT_TYPE], "application/json", "{case}");
        assert_eq!(answer.json()["code"], code, "{case}: {}", answer.json());
        if let Some((name, value)) = header {
            assert_eq!(answer.headers[name], value, "{case}");
        }
    }
    let identity = [json_type, ("content-encoding", "identity"), ("connect-timeout-ms", "5000")];
    assert_eq!(fixture.send("POST", "Healthz", &identity, b"{}".to_vec()).await.status, 200);
}

#[test]
fn connect_paths_and_timeouts_are_recognised() {
    let table = [
        ("/zitadel.management.v1.ManagementService/GetMyOrg", true),
        ("/zitadel.management.v1.ManagementService/Anything", true),
        ("/zitadel.management.v1.ManagementService/", false),
        ("/zitadel.management.v1.ManagementService/a/b", false),
        ("/grpc.health.v1.Health/Check", false),
        ("/management/v1/orgs/me", false),
    ];
    for (path, expected) in table {
        assert_eq!(is_connect_path(path), expected, "{path}");
    }
    let parse = |value: &'static str| {
        let mut headers = HeaderMap::new();
        headers.insert(TIMEOUT, HeaderValue::from_static(value));
        timeout(&headers).map_err(|e| e.code())
    };
    assert_eq!(parse("250"), Ok(Some(Duration::from_millis(250))));
    assert_eq!(parse("9999999999"), Ok(Some(Duration::from_millis(9_999_999_999))));
    for bad in ["", "12345678901", "-1", "1.5", "1s"] {
        assert_eq!(parse(bad), Err(INVALID_ARGUMENT), "{bad:?}");
    }
    assert_eq!(timeout(&HeaderMap::new()), Ok(None));
}
