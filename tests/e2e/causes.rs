//! Internal errors keep their cause (issue 12): the client sees the contract's generic message,
//! and the log line of that request names what really failed, once.

use crate::harness::{ADA, Launch, PgSchema, Server, add_human};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_is_generic_on_the_wire_and_specific_in_the_log() {
    let Some(schema) = PgSchema::create("causes") else { return };
    let server = Server::launch(Launch {
        database_url: Some(schema.url()),
        env: vec![("PERSONA_LOG__LEVEL".to_owned(), "info".to_owned())],
        ..Launch::default()
    })
    .await;
    let user = add_human(&server, None, "ada", ADA).await;
    // The read model disappears behind the server's back.
    schema.psql("DROP TABLE users CASCADE");
    let admin = server.admin();
    let body = json!({"firstName": "Grace", "lastName": "Hopper", "displayName": "Grace Hopper"});
    let (status, _, outcome) = server
        .rest("PUT", &format!("/management/v1/users/{user}/profile"), &[("authorization", admin.as_str())], Some(body))
        .await;
    assert_eq!(status, 503, "{outcome:?}");
    assert_eq!(outcome.message, "The database is not available (PERSONA-DB001)");
    assert!(!outcome.body.to_string().contains("users"), "no table names on the wire: {}", outcome.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let logs = server.logs();
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains("internal error")).collect();
        if let Some(line) = lines.first() {
            eprintln!("{line}");
            assert!(
                line.contains("relation \\\"users\\\" does not exist"),
                "the cause names the missing table: {line}"
            );
            assert!(line.contains("PERSONA-DB001"), "{line}");
            assert_eq!(lines.len(), 1, "logged once: {lines:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no cause in the logs: {logs}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
