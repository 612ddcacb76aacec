//! `scim2 test` (scim2-cli, which runs scim2-tester, both from PyPI and written by others)
//! against a live server: every check must be SUCCESS or SKIPPED, none ERROR or CRITICAL.
//! Without the tool the test says so and passes, except under CI (`CI` set), where `.ci/run`
//! installs the pinned version and its absence fails.

use super::own_org;
use crate::harness::Server;
use std::process::Command;

/// The version `.ci/run` installs.
const SCIM2_CLI: &str = "0.6.0";

fn scim2_available() -> bool {
    let found = Command::new("scim2").arg("--help").output().is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "scim2 must be installed in CI (pip install scim2-cli=={SCIM2_CLI})"
    );
    if !found {
        eprintln!("scim2 (scim2-cli) is not installed: skipping the SCIM compliance test");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_finds_no_error_in_the_scim_server() {
    if !scim2_available() {
        return;
    }
    let server = Server::start().await;
    let org = own_org(&server).await;
    let url = format!("http://{}/scim/v2/{org}", server.address);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("scim2")
            .args(["--url", &url, "test"])
            .env("SCIM_CLI_HEADERS", format!("Authorization: {}", server_admin_header(&server)))
            .output()
            .expect("scim2 runs")
    });
    let output = output.await.expect("the tester finished");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let results: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ') && !l.starts_with("Performing")).collect();
    let successes = results.iter().filter(|l| l.starts_with("SUCCESS")).count();
    let failures: Vec<&&str> = results.iter().filter(|l| l.starts_with("ERROR") || l.starts_with("CRITICAL")).collect();
    assert!(output.status.success() || failures.is_empty(), "scim2 failed:\n{text}");
    assert!(failures.is_empty(), "scim2-tester reports failures:\n{text}");
    assert!(successes >= 40, "the tester ran its checks ({successes} succeeded):\n{text}");
}

fn server_admin_header(server: &Server) -> String {
    server.admin()
}
