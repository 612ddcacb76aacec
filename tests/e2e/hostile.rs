//! Hostile input over every protocol. Each attack must get a clear error in the contract's
//! shape: REST a JSON body `{"code","message"}` with the mapped HTTP status, gRPC and gRPC-Web a
//! `grpc-status` that names the client's fault; never HTTP 500 or gRPC `Internal`/`Unknown`,
//! never a panic, never a hang (every call is bounded by [`CALL_TIMEOUT`]), and the server
//! keeps serving afterwards.

use crate::calls::{Call, PROTOCOLS, Protocol, invoke};
use crate::harness::{CALL_TIMEOUT, LOAD_USER, Launch, Outcome, PgSchema, Server, add_human};
use base64::Engine;
use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use prost::Message;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// gRPC codes that mean "the server failed" rather than "the request was wrong".
const SERVER_FAULT_CODES: [i32; 3] = [2, 13, 15];
const INVALID_ARGUMENT: i32 = 3;
const NOT_FOUND: i32 = 5;
const RESOURCE_EXHAUSTED: i32 = 8;
const LIMIT: usize = 1024 * 1024;

/// What came back, whatever the transport.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

/// Sends one request with hyper (HTTP/1.1, or h2c when `h2`), failing the test on a hang.
async fn send(server: &Server, h2: bool, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).http2_only(h2).build_http();
    let mut builder = http::Request::builder().method(method).uri(format!("http://{}{path}", server.address));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(Bytes::from(body))).expect("request");
    let call = async {
        let response = client.request(request).await.expect("a response, not a dropped connection");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let collected = response.into_body().collect().await.expect("a complete body");
        let trailers = collected.trailers().cloned();
        Answer { status, headers, body: collected.to_bytes(), trailers }
    };
    tokio::time::timeout(CALL_TIMEOUT, call).await.unwrap_or_else(|_| panic!("{method} {path} hung"))
}

/// Writes raw bytes on a fresh connection and reads the answer up to the connection's end.
async fn raw(server: &Server, request: &[u8]) -> Vec<u8> {
    let call = async {
        let mut stream = tokio::net::TcpStream::connect(&server.address).await.expect("connect");
        // The server may answer and close before it read everything: a failed write is fine.
        for chunk in request.chunks(64 * 1024) {
            if stream.write_all(chunk).await.is_err() {
                break;
            }
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        answer
    };
    tokio::time::timeout(CALL_TIMEOUT, call).await.unwrap_or_else(|_| panic!("raw request hung"))
}

/// The HTTP status and body of a raw HTTP/1.1 answer.
fn parse_raw(answer: &[u8]) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("an HTTP answer: {text}"));
    let body = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or_else(Vec::new, |at| answer[at + 4..].to_vec());
    (status, body)
}

/// A REST error answer: the status and `{"code","message"}`, with the status mapped from the code.
fn rest_error(status: u16, headers: Option<&HeaderMap>, body: &[u8]) -> (i32, String) {
    let json: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("a JSON error body ({e}) with {status}: {}", String::from_utf8_lossy(body)));
    let code = i32::try_from(json["code"].as_i64().expect("numeric code")).expect("small");
    let message = json["message"].as_str().expect("message").to_owned();
    assert!(status < 500, "HTTP {status}: {json}");
    if let Some(headers) = headers {
        assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    }
    (code, message)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Grpc {
    Native,
    Web,
    WebText,
}

const GRPC_PROTOCOLS: [Grpc; 3] = [Grpc::Native, Grpc::Web, Grpc::WebText];

/// A gRPC frame: flag, declared length, payload (which may be shorter or longer).
fn frame(flag: u8, declared: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&declared.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn message_frame(message: &impl Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    frame(0, u32::try_from(bytes.len()).expect("small"), &bytes)
}

/// Calls `method` over `protocol` with `body` as the (possibly broken) framed request and
/// returns the gRPC status code and message, checking that it is one of the transport's shapes.
async fn grpc_raw(server: &Server, protocol: Grpc, method: &str, body: Vec<u8>) -> (i32, String) {
    let path = format!("/zitadel.management.v1.ManagementService/{method}");
    let admin = server.admin();
    let (h2, content_type, body) = match protocol {
        Grpc::Native => (true, "application/grpc", body),
        Grpc::Web => (false, "application/grpc-web+proto", body),
        Grpc::WebText => {
            (false, "application/grpc-web-text", base64::engine::general_purpose::STANDARD.encode(body).into_bytes())
        }
    };
    let headers = [("content-type", content_type), ("te", "trailers"), ("authorization", admin.as_str())];
    let headers = if h2 { &headers[..] } else { &[headers[0], headers[2]][..] };
    grpc_answer(protocol, &send(server, h2, "POST", &path, headers, body).await)
}

/// Same as [`grpc_raw`] with the body sent verbatim (for bodies that are broken base64).
async fn grpc_web_text_verbatim(server: &Server, method: &str, body: &[u8]) -> (i32, String) {
    let path = format!("/zitadel.management.v1.ManagementService/{method}");
    let headers = [("content-type", "application/grpc-web-text")];
    grpc_answer(Grpc::WebText, &send(server, false, "POST", &path, &headers, body.to_vec()).await)
}

fn grpc_answer(protocol: Grpc, answer: &Answer) -> (i32, String) {
    assert_eq!(answer.status, 200, "{protocol:?}: gRPC answers HTTP 200: {answer:?}");
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut push = |map: &HeaderMap| {
        for (name, value) in map {
            fields.push((name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()));
        }
    };
    push(&answer.headers);
    if let Some(trailers) = &answer.trailers {
        push(trailers);
    }
    if protocol != Grpc::Native {
        let mut body = if protocol == Grpc::WebText {
            Bytes::from(base64::engine::general_purpose::STANDARD.decode(&answer.body).expect("base64 answer"))
        } else {
            answer.body.clone()
        };
        while body.remaining() >= 5 {
            let flag = body.get_u8();
            let length = body.get_u32() as usize;
            let frame = body.split_to(length.min(body.len()));
            if flag & 0x80 != 0 {
                for line in String::from_utf8_lossy(&frame).split("\r\n") {
                    if let Some((k, v)) = line.split_once(':') {
                        fields.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
            }
        }
    }
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let code: i32 =
        get("grpc-status").unwrap_or_else(|| panic!("{protocol:?}: grpc-status in {answer:?}")).parse().expect("code");
    let message = get("grpc-message").unwrap_or_default();
    assert!(!SERVER_FAULT_CODES.contains(&code), "{protocol:?}: a client fault, not code {code}: {message}");
    (code, message)
}

/// The server still answers, with authentication, over every protocol.
pub(crate) async fn assert_serving(server: &mut Server) {
    assert!(server.is_running(), "the server is still running");
    for protocol in PROTOCOLS {
        let outcome = admin_call(server, protocol, &Call::GetMyOrg).await;
        assert_eq!(outcome.code, 0, "still serving {protocol:?}: {outcome:?}");
    }
}

fn update(user_id: &str, first_name: &str) -> pb::UpdateHumanProfileRequest {
    pb::UpdateHumanProfileRequest {
        user_id: user_id.to_owned(),
        first_name: first_name.to_owned(),
        last_name: "Lovelace".to_owned(),
        display_name: "Ada".to_owned(),
        ..pb::UpdateHumanProfileRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_grpc_frames_and_messages_are_client_errors_on_every_grpc_protocol() {
    let mut server = Server::start().await;
    let user = add_human(&server, None, "frames", LOAD_USER).await;
    let valid = update(&user, "Grace").encode_to_vec();
    // Field 1 (user_id) valid, then field 2 (first_name) with bytes that are not UTF-8.
    let mut bad_utf8 = pb::UpdateHumanProfileRequest { user_id: user.clone(), ..Default::default() }.encode_to_vec();
    bad_utf8.extend_from_slice(&[0x12, 0x03, b'A', 0xff, 0xfe]);
    let huge = update(&user, &"x".repeat(LIMIT + 1024));
    let declared = |payload: &[u8], extra: u32| u32::try_from(payload.len()).expect("small") + extra;

    let cases: Vec<(&str, Vec<u8>, i32)> = vec![
        ("invalid UTF-8 in a protobuf string", frame(0, declared(&bad_utf8, 0), &bad_utf8), INVALID_ARGUMENT),
        ("bytes that are not protobuf", frame(0, 6, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), INVALID_ARGUMENT),
        ("a wrong wire type for a string field", frame(0, 2, &[0x10, 0x01]), INVALID_ARGUMENT),
        ("a frame shorter than it declares", frame(0, declared(&valid, 50), &valid), INVALID_ARGUMENT),
        ("half a frame header", vec![0, 0, 0], INVALID_ARGUMENT),
        ("a compressed flag without grpc-encoding", frame(1, declared(&valid, 0), &valid), INVALID_ARGUMENT),
        ("an invalid frame flag", frame(7, declared(&valid, 0), &valid), INVALID_ARGUMENT),
        ("a frame declaring 4 GiB", frame(0, u32::MAX, &valid), RESOURCE_EXHAUSTED),
        ("a message over the limit", message_frame(&huge), RESOURCE_EXHAUSTED),
    ];
    for protocol in GRPC_PROTOCOLS {
        for (case, body, expected) in &cases {
            let (code, message) = grpc_raw(&server, protocol, "UpdateHumanProfile", body.clone()).await;
            assert_eq!(code, *expected, "{protocol:?}, {case}: {message}");
            assert!(!message.is_empty(), "{protocol:?}, {case}: the status says what was wrong");
        }
        // No frame at all: no request message.
        let (code, message) = grpc_raw(&server, protocol, "UpdateHumanProfile", Vec::new()).await;
        assert_eq!(code, INVALID_ARGUMENT, "{protocol:?}, empty body: {message}");
    }
    for body in [&b"!!!! not base64 !!!!"[..], b"AAAAAA=", b"\xff\xfe"] {
        let (code, message) = grpc_web_text_verbatim(&server, "UpdateHumanProfile", body).await;
        assert_eq!(code, INVALID_ARGUMENT, "bad base64 {body:?}: {message}");
    }
    // gRPC with JSON messages is not served: a gRPC status (UNIMPLEMENTED) on every transport,
    // never a bare HTTP 400 and never JSON read as protobuf.
    let admin = server.admin();
    let json = serde_json::json!({ "userId": user, "firstName": "Json" }).to_string().into_bytes();
    let json_frame = frame(0, declared(&json, 0), &json);
    let path = "/zitadel.management.v1.ManagementService/UpdateHumanProfile";
    for (h2, content_type, protocol) in [
        (true, "application/grpc+json", Grpc::Native),
        (true, "application/grpc-web+json", Grpc::Web),
        (false, "application/grpc-web+json", Grpc::Web),
        (false, "application/grpc-web-text+json", Grpc::WebText),
    ] {
        let headers = [("content-type", content_type), ("te", "trailers"), ("authorization", admin.as_str())];
        let headers = if h2 { &headers[..] } else { &[headers[0], headers[2]][..] };
        let answer = send(&server, h2, "POST", path, headers, json_frame.clone()).await;
        assert_eq!(answer.headers.get("content-type").map(|v| v.as_bytes()), Some(content_type.as_bytes()));
        let (code, message) = grpc_answer(protocol, &answer);
        assert_eq!(code, 12, "{content_type} over HTTP/{}: {message}", if h2 { 2 } else { 1 });
        assert!(message.contains(content_type), "{message}");
    }

    // None of it changed the user.
    let (_, _, read) = server
        .rest("GET", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], None)
        .await;
    assert_eq!(read.ok()["details"]["sequence"], "1");
    assert_serving(&mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_rest_bodies_answer_400_or_413_in_the_error_shape() {
    let mut server = Server::start().await;
    let user = add_human(&server, None, "bodies", LOAD_USER).await;
    let admin = server.admin();
    let path = format!("/management/v1/users/{user}/profile");
    let headers = [("authorization", admin.as_str()), ("content-type", "application/json")];
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let over = format!(r#"{{"firstName":"{}","lastName":"L","displayName":"D"}}"#, "x".repeat(LIMIT));
    let cases: Vec<(&str, Vec<u8>, u16, i32)> = vec![
        ("over the limit", over.into_bytes(), 413, RESOURCE_EXHAUSTED),
        ("malformed JSON", b"{firstName: Ada}".to_vec(), 400, INVALID_ARGUMENT),
        ("truncated JSON", br#"{"firstName":"Ada","lastN"#.to_vec(), 400, INVALID_ARGUMENT),
        ("trailing garbage", br#"{"firstName":"Ada"} {}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("invalid UTF-8 in a string", b"{\"firstName\":\"A\xff\xfe\"}".to_vec(), 400, INVALID_ARGUMENT),
        ("a lone surrogate escape", br#"{"firstName":"\ud800"}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("a number for a string", br#"{"firstName":5}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("an array for a string", br#"{"firstName":["Ada"]}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("an object for an enum", br#"{"gender":{}}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("an enum number beyond int32", br#"{"gender":4294967296}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("a float for an enum", br#"{"gender":1.5}"#.to_vec(), 400, INVALID_ARGUMENT),
        ("an unknown enum name", br#"{"gender":"GENDER_NOPE"}"#.to_vec(), 400, INVALID_ARGUMENT),
        (
            "a key given twice",
            br#"{"firstName":"A","firstName":"B","lastName":"L","displayName":"D"}"#.to_vec(),
            400,
            INVALID_ARGUMENT,
        ),
        ("a top-level array", b"[1,2]".to_vec(), 400, INVALID_ARGUMENT),
        ("a top-level string", br#""Ada""#.to_vec(), 400, INVALID_ARGUMENT),
        ("nesting 100,000 deep", deep.into_bytes(), 400, INVALID_ARGUMENT),
        ("objects nested 10,000 deep", deep_object.into_bytes(), 400, INVALID_ARGUMENT),
        ("a NUL byte outside strings", b"{\"firstName\":\x00}".to_vec(), 400, INVALID_ARGUMENT),
    ];
    for (case, body, status, code) in cases {
        for method in ["PUT", "POST"] {
            // POST on the profile path is a wrong method; the body must not matter then.
            let answer = send(&server, false, method, &path, &headers, body.clone()).await;
            if method == "POST" {
                assert_eq!(answer.status, 405, "{case}");
                continue;
            }
            let (got, message) = rest_error(answer.status, Some(&answer.headers), &answer.body);
            assert_eq!((answer.status, got), (status, code), "{case}: {message}");
        }
    }
    // The same limit holds when the body comes in chunks without a declared length.
    let mut request = format!(
        "PUT {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {admin}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        server.address
    )
    .into_bytes();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..(LIMIT / chunk.len() + 2) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = parse_raw(&raw(&server, &request).await);
    assert_eq!((status, rest_error(status, None, &body).0), (413, RESOURCE_EXHAUSTED), "chunked over the limit");
    // A body that claims more than it sends stalls only its own request: the connection stays
    // open while everything below is answered.
    let lying = format!(
        "PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: {admin}\r\ncontent-length: 5000000\r\nconnection: close\r\n\r\n{{}}"
    );
    let mut stalled = tokio::net::TcpStream::connect(&server.address).await.expect("connect");
    stalled.write_all(lying.as_bytes()).await.expect("write");
    // Every other field type mistake of every other body-carrying route answers alike.
    let routes = [
        ("POST", "/management/v1/users/human".to_owned(), r#"{"userName":{"a":1}}"#),
        ("POST", "/management/v1/users/human/_import".to_owned(), r#"{"idps":"x"}"#),
        ("POST", "/management/v1/users/machine".to_owned(), r#"{"accessTokenType":[]}"#),
        ("POST", "/management/v1/users/machine".to_owned(), r#"{"accessTokenType":"ACCESS_TOKEN_TYPE_NOPE"}"#),
        ("POST", "/management/v1/users/human".to_owned(), r#"{"profile":{"gender":"NOPE"}}"#),
        ("POST", "/management/v1/orgs".to_owned(), r#"{"name":"a","name":"b"}"#),
        ("POST", format!("/management/v1/users/{user}/pats"), r#"{"expirationDate":"yesterday"}"#),
        ("POST", format!("/management/v1/users/{user}/changes/_search"), r#"{"query":{"limit":-1}}"#),
        ("POST", "/management/v1/orgs".to_owned(), r#"{"name":true}"#),
        ("POST", "/management/v1/orgs/me/members".to_owned(), r#"{"roles":"ORG_OWNER"}"#),
    ];
    for (method, route, body) in routes {
        let answer = send(&server, false, method, &route, &headers, body.as_bytes().to_vec()).await;
        let (code, message) = rest_error(answer.status, Some(&answer.headers), &answer.body);
        assert_eq!((answer.status, code), (400, INVALID_ARGUMENT), "{method} {route} {body}: {message}");
    }
    assert_serving(&mut server).await;
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_repeated_and_non_utf8_headers_are_refused_or_read_safely() {
    let mut server = Server::start().await;
    let admin = server.admin();
    let path = "/management/v1/orgs/me";
    let grpc_path = "/zitadel.management.v1.ManagementService/GetMyOrg";
    let empty = message_frame(&pb::GetMyOrgRequest {});

    // A 1 MiB header: refused by the HTTP layer before any route, with the contract's error body
    // (hyper's own answer has none; the listener writes one in its place); over HTTP/2 the
    // stream is refused or answered without a 5xx.
    let big = "x".repeat(LIMIT);
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\nconnection: close\r\n\r\n");
    let (status, body) = parse_raw(&raw(&server, request.as_bytes()).await);
    assert_eq!((status, rest_error(status, None, &body).0), (431, RESOURCE_EXHAUSTED), "a 1 MiB header over HTTP/1.1");
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    let h2_request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{grpc_path}", server.address))
        .header("content-type", "application/grpc")
        .header("x-big", big.as_str())
        .body(Full::new(Bytes::from(empty.clone())))
        .expect("request");
    match tokio::time::timeout(CALL_TIMEOUT, client.request(h2_request)).await.expect("no hang") {
        Ok(response) => assert!(response.status().as_u16() < 500, "over HTTP/2: {}", response.status()),
        Err(error) => eprintln!("a 1 MiB header over HTTP/2 was refused: {error}"),
    }

    // Many headers: 500 of them.
    let mut many = format!("GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: {admin}\r\n");
    for i in 0..500 {
        many.push_str(&format!("x-h{i}: {i}\r\n"));
    }
    many.push_str("connection: close\r\n\r\n");
    let (status, body) = parse_raw(&raw(&server, many.as_bytes()).await);
    assert_eq!((status, rest_error(status, None, &body).0), (431, RESOURCE_EXHAUSTED), "500 headers");

    // Repeated authorization and org headers: the first counts, on every protocol.
    let garbage = "Bearer not-a-token";
    let answer =
        send(&server, false, "GET", path, &[("authorization", &admin), ("authorization", garbage)], Vec::new()).await;
    assert_eq!(answer.status, 200, "the first authorization counts");
    let answer =
        send(&server, false, "GET", path, &[("authorization", garbage), ("authorization", &admin)], Vec::new()).await;
    let (code, message) = rest_error(answer.status, Some(&answer.headers), &answer.body);
    assert_eq!((answer.status, code, message.as_str()), (401, 16, "Errors.Token.Invalid (AUTH-7fs1e)"));
    for protocol in [Grpc::Native, Grpc::Web] {
        let h2 = protocol == Grpc::Native;
        let content_type = if h2 { "application/grpc" } else { "application/grpc-web+proto" };
        let headers = [("content-type", content_type), ("authorization", garbage), ("authorization", admin.as_str())];
        let answer = send(&server, h2, "POST", grpc_path, &headers, empty.clone()).await;
        assert_eq!(grpc_answer(protocol, &answer).0, 16, "{protocol:?}: the first authorization counts");
        let headers = [
            ("content-type", content_type),
            ("authorization", admin.as_str()),
            ("x-zitadel-orgid", "404"),
            ("x-zitadel-orgid", ""),
        ];
        let answer = send(&server, h2, "POST", grpc_path, &headers, empty.clone()).await;
        assert_eq!(grpc_answer(protocol, &answer).0, 7, "{protocol:?}: the first org header counts");
    }

    // A header value that is not UTF-8 (obs-text) is a bad header, not a missing one.
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer \u{00ff}\u{00fe}\r\nconnection: close\r\n\r\n"
    );
    let (status, body) = parse_raw(&raw(&server, request.as_bytes()).await);
    let (code, _) = rest_error(status, None, &body);
    assert_eq!((status, code), (401, 16));
    let mut latin1 =
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: {admin}\r\nx-zitadel-orgid: ").into_bytes();
    latin1.extend_from_slice(b"\xff\xfe\r\nconnection: close\r\n\r\n");
    let (status, body) = parse_raw(&raw(&server, &latin1).await);
    let (code, message) = rest_error(status, None, &body);
    assert_eq!((status, code, message.as_str()), (403, 7, "Organisation doesn't exist (AUTH-Bs7Ds)"));

    // Requests hyper cannot read at all answer in the contract's shape too: a request line that
    // is not HTTP (here: the start of a TLS handshake), a malformed header line, a URI too long.
    let long_uri = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    let unreadable: [(&str, &[u8], u16, i32); 4] = [
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400, INVALID_ARGUMENT),
        ("a header line without a colon", b"GET / HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n", 400, INVALID_ARGUMENT),
        ("a space in the method", b"G T / HTTP/1.1\r\nhost: x\r\n\r\n", 400, INVALID_ARGUMENT),
        ("a URI of 70,000 bytes", long_uri.as_bytes(), 414, RESOURCE_EXHAUSTED),
    ];
    for (case, request, expected_status, expected_code) in unreadable {
        let answer = raw(&server, request).await;
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(
            text.contains("content-type: application/json") && text.contains("connection: close"),
            "{case}: {text}"
        );
        let (status, body) = parse_raw(&answer);
        let (code, message) = rest_error(status, None, &body);
        assert_eq!((status, code), (expected_status, expected_code), "{case}: {message}");
    }
    assert_serving(&mut server).await;
}

/// `call` as the admin over `protocol`, checked for the shape of a client's fault: REST and
/// Connect errors are JSON below 500, gRPC codes never name a server fault.
pub(crate) async fn admin_call(server: &Server, protocol: Protocol, call: &Call) -> Outcome {
    let admin = server.admin();
    let reply = invoke(server, protocol, call, &[("authorization", admin.as_str())]).await;
    let outcome = reply.outcome;
    assert!(!SERVER_FAULT_CODES.contains(&outcome.code), "{protocol:?} {:?}: {outcome:?}", call.rpc());
    if protocol.http_errors() && outcome.code != 0 {
        let status = reply.status.expect("REST and Connect have a status");
        assert!(status < 500, "HTTP {status}: {outcome:?}");
        let content_type = reply.headers.get("content-type").and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/json"), "{outcome:?}");
    }
    outcome
}

/// `GetHumanProfile` of `id` over `protocol`: the code, message and (on success) the profile.
async fn get_profile(server: &Server, protocol: Protocol, id: &str) -> (i32, String, Value) {
    let outcome = admin_call(server, protocol, &Call::get_profile(id)).await;
    let profile = outcome.body.get("profile").cloned().filter(|_| outcome.code == 0).unwrap_or(Value::Null);
    (outcome.code, outcome.message, profile)
}

/// `UpdateHumanProfile` over `protocol` with these values: code and message.
async fn put_profile(server: &Server, protocol: Protocol, request: &pb::UpdateHumanProfileRequest) -> (i32, String) {
    let outcome = admin_call(server, protocol, &Call::UpdateHumanProfile(request.clone())).await;
    (outcome.code, outcome.message)
}

/// A server on SQLite and one on PostgreSQL (skipped when no test database is configured, and
/// failing then in CI); the schema must outlive the server.
pub(crate) async fn servers() -> Vec<(Option<PgSchema>, Server)> {
    let mut out = vec![(None, Server::start().await)];
    if let Some(schema) = PgSchema::create("hostile") {
        let server = Server::launch(Launch { database_url: Some(schema.url()), ..Launch::default() }).await;
        out.push((Some(schema), server));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_ids_are_not_found_or_invalid_on_every_protocol_and_backend() {
    for (_schema, mut server) in servers().await {
        let user = add_human(&server, None, "target", LOAD_USER).await;
        let long = "7".repeat(10_000);
        let length_rule =
            "invalid GetHumanProfileRequest.UserId: value length must be between 1 and 200 runes, inclusive";
        let nul_rule = "invalid GetHumanProfileRequest.UserId: value must not contain NUL characters";
        let not_found = "User could not be found (QUERY-HNhb3)";
        let cases: Vec<(String, i32, &str)> = vec![
            (format!("{user} "), NOT_FOUND, not_found),
            (format!("{user}/profile"), NOT_FOUND, not_found),
            (format!("../{user}"), NOT_FOUND, not_found),
            (format!("{user}%00"), NOT_FOUND, not_found),
            (format!("{user}\0"), INVALID_ARGUMENT, nul_rule),
            ("\0".to_owned(), INVALID_ARGUMENT, nul_rule),
            (format!("{user}'; DROP TABLE users; --"), NOT_FOUND, not_found),
            ("' OR '1'='1".to_owned(), NOT_FOUND, not_found),
            ("%".to_owned(), NOT_FOUND, not_found),
            ("é🦀".to_owned(), NOT_FOUND, not_found),
            (long, INVALID_ARGUMENT, length_rule),
        ];
        for protocol in PROTOCOLS {
            for (id, code, message) in &cases {
                let (got, text, _) = get_profile(&server, protocol, id).await;
                assert_eq!((got, text.as_str()), (*code, *message), "{protocol:?} id {:?}", id.get(..40).unwrap_or(id));
            }
            let (got, _, profile) = get_profile(&server, protocol, &user).await;
            assert_eq!(
                (got, &profile["firstName"]),
                (0, &json!("First")),
                "{protocol:?}: the real user is still there"
            );
        }
        // REST-only: a path segment that is not UTF-8 once decoded, and raw control bytes.
        let admin = server.admin();
        let answer = send(
            &server,
            false,
            "GET",
            "/management/v1/users/%FF%FE/profile",
            &[("authorization", &admin)],
            Vec::new(),
        )
        .await;
        assert_eq!(rest_error(answer.status, Some(&answer.headers), &answer.body).0, INVALID_ARGUMENT);
        let request = format!(
            "GET /management/v1/users/a\x01b/profile HTTP/1.1\r\nhost: x\r\nauthorization: {admin}\r\nconnection: close\r\n\r\n"
        );
        assert_eq!(parse_raw(&raw(&server, request.as_bytes()).await).0, 400, "a control byte in the path");
        // A NUL in a value to store: rejected on every protocol and backend, nothing written.
        for protocol in PROTOCOLS {
            let (code, message) = put_profile(&server, protocol, &update(&user, "Ada\0Lovelace")).await;
            assert_eq!(
                (code, message.as_str()),
                (
                    INVALID_ARGUMENT,
                    "invalid UpdateHumanProfileRequest.FirstName: value must not contain NUL characters"
                ),
                "{protocol:?}"
            );
        }
        let admin = server.admin();
        let body = json!({"userName": "nul\u{0}name", "profile": {"firstName": "A", "lastName": "B"}, "email": {"email": "a@example.com"}});
        let (status, _, created) =
            server.rest("POST", "/management/v1/users/human", &[("authorization", admin.as_str())], Some(body)).await;
        assert_eq!((status, created.code), (400, INVALID_ARGUMENT), "{created:?}");
        let (status, _, org) = server
            .rest("POST", "/management/v1/orgs", &[("authorization", admin.as_str())], Some(json!({"name": "a\u{0}b"})))
            .await;
        assert_eq!((status, org.code), (400, INVALID_ARGUMENT), "{org:?}");
        assert_serving(&mut server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_and_html_meta_characters_are_stored_and_returned_verbatim() {
    let values = [
        ("Robert'); DROP TABLE users; --", "' OR 1=1 --", "%_\\\"'`$1", "<script>alert(\"x\")</script>"),
        ("<img src=x onerror=alert(1)>", "&amp; &lt; &#0;", "\\x00 \\u0000 ;", "'; DELETE FROM events WHERE '1'='1"),
        ("\u{202e}gnp.exe", "\r\n\t", "{{7*7}} ${7*7}", "SELECT * FROM tokens"),
        ("\"},\"x\":{\"", "]]></x>", "\u{feff}bom", "../../etc/passwd"),
        ("1; UPDATE users SET x=1", "\\\\", "$(whoami) `id`", "<!-- -->"),
    ];
    for (_schema, mut server) in servers().await {
        let user = add_human(&server, None, "meta", LOAD_USER).await;
        for (round, protocol) in PROTOCOLS.into_iter().enumerate() {
            let (first, last, nick, display) = values[round];
            let request = pb::UpdateHumanProfileRequest {
                user_id: user.clone(),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                nick_name: nick.to_owned(),
                display_name: display.to_owned(),
                ..Default::default()
            };
            assert_eq!(put_profile(&server, protocol, &request).await, (0, String::new()), "{protocol:?}");
            for reader in PROTOCOLS {
                let (code, _, profile) = get_profile(&server, reader, &user).await;
                assert_eq!(code, 0);
                assert_eq!(
                    (&profile["firstName"], &profile["lastName"], &profile["nickName"], &profile["displayName"]),
                    (&json!(first), &json!(last), &json!(nick), &json!(display)),
                    "written over {protocol:?}, read over {reader:?}"
                );
            }
        }
        // The history holds the values as given, too.
        let admin = server.admin();
        let (_, _, changes) = server
            .rest(
                "POST",
                &format!("/management/v1/users/{user}/changes/_search"),
                &[("authorization", admin.as_str())],
                Some(json!({"query": {"asc": true}})),
            )
            .await;
        let text = changes.ok().to_string();
        assert!(text.contains(&serde_json::to_string("Robert'); DROP TABLE users; --").expect("json")), "{text}");
        assert_serving(&mut server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combining_characters_and_emoji_count_as_unicode_scalar_values() {
    let mut server = Server::start().await;
    let user = add_human(&server, None, "unicode", LOAD_USER).await;
    let too_long =
        "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive";
    // (value, scalar values): e + combining acute is 2; the family emoji is 5 (3 people, 2 joiners);
    // a thumbs-up is 1 scalar value in 4 bytes.
    let cases = [
        ("e\u{301}".repeat(100), true),
        ("e\u{301}".repeat(100) + "e", false),
        ("👩\u{200d}👩\u{200d}👧".repeat(40), true),
        ("👩\u{200d}👩\u{200d}👧".repeat(40) + "x", false),
        ("👍".repeat(200), true),
        ("👍".repeat(201), false),
        ("\u{1F1FA}\u{1F1F8}".repeat(100), true),
        ("a\u{300}\u{301}\u{302}\u{303}".repeat(40) + "b", false),
    ];
    for protocol in PROTOCOLS {
        for (n, (value, fits)) in cases.iter().enumerate() {
            // The same value again over the next protocol is "not changed": also fine here.
            let request = update(&user, value);
            let (code, message) = put_profile(&server, protocol, &request).await;
            if *fits {
                assert!(
                    code == 0 || message == "Profile not changed (COMMAND-2M0fs)",
                    "{protocol:?} case {n}: {message}"
                );
                let (_, _, profile) = get_profile(&server, protocol, &user).await;
                assert_eq!(profile["firstName"], json!(value), "{protocol:?} case {n}: stored verbatim");
            } else {
                assert_eq!((code, message.as_str()), (INVALID_ARGUMENT, too_long), "{protocol:?} case {n}");
            }
        }
    }
    // Unknown enum numbers are unspecified (gRPC carries any int32; JSON accepts numbers).
    let mut request = update(&user, "Gendered");
    request.gender = 1234;
    assert_eq!(put_profile(&server, Protocol::Grpc, &request).await, (0, String::new()));
    let (_, _, profile) = get_profile(&server, Protocol::Rest, &user).await;
    assert!(profile.get("gender").is_none(), "unspecified is omitted: {profile}");
    let admin = server.admin();
    let body = json!({"firstName": "Gendered2", "lastName": "Lovelace", "displayName": "Ada", "gender": 77});
    let (status, _, answer) = server
        .rest("PUT", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], Some(body))
        .await;
    assert_eq!(status, 200, "{answer:?}");
    let body =
        json!({"firstName": "Gendered3", "lastName": "Lovelace", "displayName": "Ada", "gender": "GENDER_NONSENSE"});
    let (status, _, answer) = server
        .rest("PUT", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], Some(body))
        .await;
    // Names are not lenient: protojson refuses a name the enum does not have, naming the field.
    assert_eq!((status, answer.code), (400, INVALID_ARGUMENT), "{answer:?}");
    assert!(answer.message.contains(r#"enum field gender: "GENDER_NONSENSE""#), "{answer:?}");
    assert_serving(&mut server).await;
}
