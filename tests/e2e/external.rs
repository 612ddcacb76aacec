//! A client nobody on the project wrote: `buf curl` (from the `buf-bin` package) drives gRPC and
//! gRPC-Web through server reflection, lists the services reflection describes (v1 and
//! v1alpha) and calls the health check by reflection. Where `buf` is not installed the test
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
