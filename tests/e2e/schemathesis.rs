//! schemathesis (from PyPI) against a running server's own `/openapi.json`: generated valid and
//! invalid requests for every documented operation; no answer may be a 5xx or break the
//! documented schema. The runner is `tests/schemathesis/run.sh` (also for long runs by hand).
//! Where schemathesis is not installed the test says so and passes, except in CI (`CI` set),
//! where `.ci/run` installs it and its absence is a failure.

use crate::harness::{LOAD_USER, Server, add_human};
use std::process::Command;
use std::time::Duration;

fn schemathesis_available() -> bool {
    let found = Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "schemathesis must be installed in CI (pip install schemathesis)"
    );
    if !found {
        eprintln!("schemathesis is not installed: skipping the schema-driven test");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_schema() {
    if !schemathesis_available() {
        return;
    }
    let mut server = Server::start().await;
    let (status, _, document) =
        server.request("GET", "/openapi.json", &[], bytes::Bytes::new()).await.expect("GET /openapi.json");
    assert_eq!(status, 200, "the server serves its OpenAPI document: {}", String::from_utf8_lossy(&document));
    let user = add_human(&server, None, "schemathesis", LOAD_USER).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/schemathesis/run.sh");
    let report = tempfile::tempdir().expect("report directory");
    let mut command = tokio::process::Command::new("bash");
    command
        .arg(script)
        .arg(format!("http://{}", server.address))
        .arg(&server.admin_token)
        .arg("15")
        .arg(&user)
        .env("SCHEMATHESIS_REPORT_DIR", report.path())
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .expect("schemathesis finishes within 5 minutes")
        .expect("schemathesis runs");
    let output = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "schemathesis found failures:\n{output}");
    assert!(output.contains("passed"), "schemathesis ran test cases:\n{output}");
    assert!(server.is_running(), "the server survived the run");
}
