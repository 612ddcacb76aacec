//! A client nobody on the project wrote: `buf curl` (from the `buf-bin` package) drives gRPC and
//! gRPC-Web through server reflection, Connect (its binary codec) with the compiled-in
//! descriptors as its schema (reflection is a streaming RPC, which Connect over HTTP/1.1 does
//! not carry), lists the services reflection describes (v1 and v1alpha) and calls the health
//! check by reflection. Where `buf` is not installed the test
//! says so and passes, except in CI (`CI` set), where `.ci/run` installs it and its absence is
//! a failure.

use crate::harness::Server;
use serde_json::{Value, json};
use std::process::Command;

fn buf_available() -> bool {
    let found = Command::new("buf").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found || std::env::var_os("CI").is_none(), "buf must be installed in CI (pip install buf-bin)");
    if !found {
        eprintln!("buf is not installed: skipping the external-client test");
    }
    found
}

fn buf_curl(server: &Server, protocol: &str, method: &str, body: &Value) -> (bool, String) {
    buf_curl_with(server, protocol, &[], method, body)
}

/// `buf curl` with `extra` arguments before the URL.
fn buf_curl_with(server: &Server, protocol: &str, extra: &[&str], method: &str, body: &Value) -> (bool, String) {
    let mut command = Command::new("buf");
    command.args([
        "curl",
        "--protocol",
        protocol,
        "--header",
        &format!("authorization: {}", server.admin()),
        "--data",
        &body.to_string(),
    ]);
    command.args(extra);
    if protocol == "grpc" {
        command.arg("--http2-prior-knowledge");
    }
    command.arg(format!("http://{}/zitadel.management.v1.ManagementService/{method}", server.address));
    let output = command.output().expect("buf runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_creates_updates_and_reads_a_profile_over_grpc_and_grpc_web() {
    if !buf_available() {
        return;
    }
    let server = Server::start().await;
    for (n, protocol) in ["grpc", "grpcweb"].into_iter().enumerate() {
        let add = json!({"userName": format!("buf-{n}"), "profile": {"firstName": "Ada", "lastName": "Lovelace"}, "email": {"email": "ada@example.com"}});
        let (ok, out) = buf_curl(&server, protocol, "AddHumanUser", &add);
        assert!(ok, "{protocol} AddHumanUser: {out}");
        let created: Value = serde_json::from_str(&out).expect("json output");
        let user_id = created["userId"].as_str().expect("user id").to_owned();

        let update = json!({"userId": user_id, "firstName": "Augusta", "lastName": "King", "displayName": "Ada King", "gender": "GENDER_FEMALE"});
        let (ok, out) = buf_curl(&server, protocol, "UpdateHumanProfile", &update);
        assert!(ok, "{protocol} UpdateHumanProfile: {out}");
        let updated: Value = serde_json::from_str(&out).expect("json output");
        assert_eq!(updated["details"]["sequence"], "2");

        let (ok, out) = buf_curl(&server, protocol, "UpdateHumanProfile", &update);
        assert!(!ok, "{protocol}: an identical update fails");
        assert!(
            out.contains("failed_precondition") && out.contains("Profile not changed (COMMAND-2M0fs)"),
            "{protocol}: {out}"
        );

        let (ok, out) = buf_curl(&server, protocol, "GetHumanProfile", &json!({"userId": user_id}));
        assert!(ok, "{protocol} GetHumanProfile: {out}");
        let read: Value = serde_json::from_str(&out).expect("json output");
        assert_eq!(read["profile"]["firstName"], "Augusta");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_updates_a_profile_over_connect() {
    if !buf_available() {
        return;
    }
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let schema = dir.path().join("persona.binpb");
    std::fs::write(&schema, persona_api_grpc::FILE_DESCRIPTOR_SET).expect("write the descriptor set");
    let schema = schema.to_str().expect("UTF-8 path").to_owned();
    // `buf curl` speaks Connect with binary protobuf (`application/proto`); `-v` shows it.
    let args = ["--schema", schema.as_str(), "-v"];
    let curl = |method: &str, body: &Value| {
        let (ok, out) = buf_curl_with(&server, "connect", &args, method, body);
        // With -v the messages go to stdout and the exchange to stderr: keep the first JSON value.
        let json = out.find('{').map(|start| {
            let mut stream = serde_json::Deserializer::from_str(&out[start..]).into_iter::<Value>();
            stream.next().and_then(Result::ok)
        });
        (ok, out.clone(), json.flatten())
    };
    let add = json!({"userName": "connect", "profile": {"firstName": "Ada", "lastName": "Lovelace"}, "email": {"email": "ada@example.com"}});
    let (ok, out, created) = curl("AddHumanUser", &add);
    assert!(ok, "AddHumanUser: {out}");
    assert!(out.to_ascii_lowercase().contains("content-type: application/proto"), "binary Connect: {out}");
    let user_id = created.as_ref().and_then(|c| c["userId"].as_str()).expect("user id").to_owned();

    let update = json!({"userId": user_id, "firstName": "Augusta", "lastName": "King", "displayName": "Ada King", "gender": "GENDER_FEMALE"});
    let (ok, out, updated) = curl("UpdateHumanProfile", &update);
    assert!(ok, "UpdateHumanProfile: {out}");
    assert_eq!(updated.expect("json output")["details"]["sequence"], "2");

    let (ok, out, _) = curl("UpdateHumanProfile", &update);
    assert!(!ok, "an identical update fails");
    assert!(out.contains("failed_precondition") && out.contains("Profile not changed (COMMAND-2M0fs)"), "{out}");
    assert!(out.contains("zitadel.v1.ErrorDetail"), "buf decodes the detail by its schema: {out}");

    let (ok, out, read) = curl("GetHumanProfile", &json!({"userId": user_id}));
    assert!(ok, "GetHumanProfile: {out}");
    assert_eq!(read.expect("json output")["profile"]["firstName"], "Augusta");
}

/// `buf curl` over gRPC and reflection with `reflect_protocol` (`grpc-v1` or `grpc-v1alpha`)
/// and `args`: success and the output.
fn buf_reflect(server: &Server, reflect_protocol: &str, args: &[&str], path: &str) -> (bool, String) {
    let output = Command::new("buf")
        .args(["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", reflect_protocol])
        .args(args)
        .arg(format!("http://{}{path}", server.address))
        .output()
        .expect("buf runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_every_service_and_buf_checks_health_by_it_over_v1_and_v1alpha() {
    if !buf_available() {
        return;
    }
    let server = Server::start().await;
    let expected = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "zitadel.management.v1.ManagementService",
        "zitadel.user.v2.UserService",
    ];
    for reflect_protocol in ["grpc-v1", "grpc-v1alpha"] {
        let (ok, out) = buf_reflect(&server, reflect_protocol, &["--list-services"], "");
        assert!(ok, "{reflect_protocol} --list-services: {out}");
        let mut listed: Vec<&str> = out.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        listed.sort_unstable();
        assert_eq!(listed, expected, "{reflect_protocol}");

        for service in ["", "zitadel.management.v1.ManagementService"] {
            let body = json!({ "service": service }).to_string();
            let args = ["--data", body.as_str()];
            let (ok, out) = buf_reflect(&server, reflect_protocol, &args, "/grpc.health.v1.Health/Check");
            assert!(ok, "{reflect_protocol} Health/Check {service:?}: {out}");
            let answer: Value = serde_json::from_str(&out).expect("json output");
            assert_eq!(answer["status"], "SERVING", "{reflect_protocol} {service:?}");
        }
    }
}
