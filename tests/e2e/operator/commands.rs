//! `persona serve`, `persona migrate`, `persona config`: configuration layering, errors that
//! name the key and its source, redacted output, help and version.

use crate::harness::{Launch, Server, run, write_file};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn an_unknown_key_in_the_file_stops_the_start_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write_file(dir.path(), "persona.toml", "listen = \"127.0.0.1:0\"\n[limits]\nmax_body_byte = 5\n");
    let output = run(&["--config", file.to_str().expect("path"), "serve"], &[]).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`limits.max_body_byte`"), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
}

#[tokio::test]
async fn a_bad_value_in_the_environment_stops_the_start_naming_the_key_and_the_variable() {
    let env = [("PERSONA_LIMITS__REQUEST_TIMEOUT_SECONDS", "soon")];
    let output = run(&["serve"], &env).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`limits.request_timeout_seconds`"), "{stderr}");
    assert!(stderr.contains("environment variable PERSONA_LIMITS__REQUEST_TIMEOUT_SECONDS"), "{stderr}");
}

#[tokio::test]
async fn a_bad_value_in_the_file_and_unknown_variables_stop_the_start_too() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write_file(dir.path(), "persona.toml", "[log]\nformat = \"xml\"\n");
    let env = [("PERSONA_CONFIG", file.to_str().expect("path"))];
    let output = run(&["serve"], &env).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`log.format`") && stderr.contains(&file.display().to_string()), "{stderr}");

    let output = run(&["serve"], &[("PERSONA_LISTEN_ADDRESS", "127.0.0.1:1")]).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`listen_address`") && stderr.contains("PERSONA_LISTEN_ADDRESS"), "{stderr}");

    let output = run(&["serve"], &[("PERSONA_LIMITS__MAX_CONCURRENT_REQUESTS", "0")]).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "`limits.max_concurrent_requests` in environment variable PERSONA_LIMITS__MAX_CONCURRENT_REQUESTS"
        ),
        "{stderr}"
    );

    let output = run(&["serve"], &[("PERSONA_TLS__CERT_PATH", "/nonexistent/cert.pem")]).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("tls.key_path") && stderr.contains("PERSONA_TLS__CERT_PATH"), "{stderr}");
}

#[tokio::test]
async fn config_prints_the_layered_configuration_without_the_database_password() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write_file(
        dir.path(),
        "persona.toml",
        "listen = \"0.0.0.0:9000\"\nshutdown_grace_seconds = 3\n[limits]\nmax_concurrent_requests = 64\n",
    );
    let env = [
        ("PERSONA_DATABASE__URL", "postgres://persona:pg-s3cret@db.internal:5432/persona?password=pg-s3cret"),
        ("PERSONA_LIMITS__MAX_CONCURRENT_REQUESTS", "32"),
        ("PERSONA_TEST_DATABASE_URL", "ignored"),
    ];
    let output = run(&["config", "--config", file.to_str().expect("path")], &env).await;
    assert!(output.status.success(), "{output:?}");
    let printed = text(&output.stdout);
    assert!(!printed.contains("pg-s3cret"), "{printed}");
    assert!(printed.contains("postgres://persona:***@db.internal:5432/persona?password=***"), "{printed}");
    assert!(printed.contains("listen = \"0.0.0.0:9000\""), "the file counts: {printed}");
    assert!(printed.contains("shutdown_grace_seconds = 3"), "{printed}");
    assert!(printed.contains("max_concurrent_requests = 32"), "the environment wins over the file: {printed}");
    assert!(printed.contains("request_timeout_seconds = 30"), "defaults fill the rest: {printed}");

    // What it prints is a valid configuration file.
    let again = write_file(dir.path(), "printed.toml", &printed);
    let output = run(&["config", "--config", again.to_str().expect("path")], &[]).await;
    assert!(output.status.success(), "{output:?}");
}

#[tokio::test]
async fn every_command_has_help_and_version() {
    let version = env!("CARGO_PKG_VERSION");
    let output = run(&["--version"], &[]).await;
    assert!(output.status.success() && text(&output.stdout).contains(version), "{output:?}");
    let output = run(&["--help"], &[]).await;
    let help = text(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for command in ["serve", "migrate", "config"] {
        assert!(help.contains(command), "{help}");
        let output = run(&[command, "--help"], &[]).await;
        assert!(output.status.success() && text(&output.stdout).contains("Usage"), "{command}: {output:?}");
        let output = run(&[command, "--version"], &[]).await;
        assert!(output.status.success() && text(&output.stdout).contains(version), "{command}: {output:?}");
    }
}

#[tokio::test]
async fn migrate_prepares_the_database_and_exits() {
    let dir = tempfile::tempdir().expect("dir");
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("persona.db").display());
    let env = [("PERSONA_DATABASE__URL", database.as_str()), ("PERSONA_LOG__LEVEL", "info")];
    let output = run(&["migrate"], &env).await;
    assert!(output.status.success(), "{output:?}");
    assert!(text(&output.stderr).contains("migrations applied"), "{output:?}");
    assert!(dir.path().join("persona.db").exists());
    // Again: nothing to do, still success.
    let output = run(&["migrate"], &env).await;
    assert!(output.status.success(), "{output:?}");
    // And the server starts on the migrated database.
    let server = Server::launch(Launch { dir: Some(dir), ..Launch::default() }).await;
    let (status, _, _) = server.request("GET", "/ready", &[], bytes::Bytes::new()).await.expect("ready answers");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_database_password_never_reaches_the_logs_even_when_the_start_fails() {
    // Nothing listens on port 1: the connection fails and the error is logged and printed.
    let env = [
        ("PERSONA_DATABASE__URL", "postgres://persona:pg-s3cret@127.0.0.1:1/persona"),
        ("PERSONA_LOG__FORMAT", "json"),
        ("PERSONA_LOG__LEVEL", "trace"),
    ];
    let output = run(&["serve"], &env).await;
    assert!(!output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("persona:***@127.0.0.1:1"), "the error names the database: {stderr}");
    assert!(!stderr.contains("pg-s3cret"), "{stderr}");
    assert!(!text(&output.stdout).contains("pg-s3cret"));
}

#[tokio::test]
async fn the_configuration_file_configures_a_running_server() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write_file(dir.path(), "persona.toml", "instance_domain = \"example.test\"\n");
    let options = Launch { args: vec!["--config".to_owned(), file.display().to_string()], ..Launch::default() };
    let server = Server::launch(options).await;
    let (status, _, body) = server.rest_as_admin("GET", "/management/v1/orgs/me", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["org"]["primaryDomain"], "persona.example.test", "{body}");
}
