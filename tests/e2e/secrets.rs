//! Secrets: personal access tokens are stored only as hashes (the tests read the database
//! itself), work only while not expired and not revoked, and neither a token nor a profile value
//! ever reaches the logs, even at the most verbose level.
//!
//! Constant time: a presented token is never compared with a stored one. The server hashes it
//! (SHA-256) and looks the hash up; what an attacker controls is the input of the hash, so the
//! time of the lookup says nothing about the stored token. The tests below show that the
//! database holds exactly `sha256(token)` and nothing else of it.

use crate::calls::{Call, Protocol, invoke};
use crate::harness::{Launch, PgSchema, Server, add_machine};
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_domain::auth::TokenHash;
use serde_json::json;
use std::time::Duration;

/// A machine user with a token, and the token: (user id, token).
async fn machine_with_token(server: &Server, name: &str, expiration: Option<String>) -> (String, String) {
    let pat = expiration.map_or_else(|| json!({}), |at| json!({"expirationDate": at}));
    let (id, token) = add_machine(server, name, &["ORG_OWNER_VIEWER"], pat).await;
    assert!(token.len() >= 32, "a high-entropy token: {} characters", token.len());
    (id, token)
}

/// `GetMyOrg` with `token` over REST and gRPC: both codes.
async fn org_read_codes(server: &Server, token: &str) -> (i32, i32) {
    let authorization = format!("Bearer {token}");
    let (_, _, rest) =
        server.rest("GET", "/management/v1/orgs/me", &[("authorization", authorization.as_str())], None).await;
    let grpc = invoke(server, Protocol::Grpc, &Call::GetMyOrg, &[("authorization", &authorization)]).await.outcome;
    if rest.code != 0 {
        assert_eq!(rest.message, "Errors.Token.Invalid (AUTH-7fs1e)");
    }
    (rest.code, grpc.code)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// Every byte SQLite keeps for the database: the file and its write-ahead log.
fn sqlite_bytes(server: &Server) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        if let Ok(part) = std::fs::read(server.dir.path().join(format!("persona.db{suffix}"))) {
            bytes.extend(part);
        }
    }
    assert!(bytes.len() > 4096, "the database files were found");
    bytes
}

/// Every row of every table of the schema, as text.
fn postgres_text(schema: &PgSchema) -> Vec<u8> {
    let tables = schema.psql(&format!(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}' ORDER BY 1",
        schema.name
    ));
    let mut text = String::new();
    for table in tables.lines().filter(|t| !t.is_empty()) {
        text.push_str(&schema.psql(&format!("SELECT t::text FROM \"{table}\" t")));
    }
    assert!(text.contains("instance.added"), "the tables were read");
    text.into_bytes()
}

async fn tokens_are_stored_only_as_hashes(server: &Server, read: impl Fn() -> Vec<u8>) {
    let (_, token) = machine_with_token(server, "hashed", None).await;
    for token in [token.as_str(), server.admin_token.as_str()] {
        let stored = read();
        assert!(!contains(&stored, token), "the token itself is nowhere in the database");
        assert!(!contains(&stored, &token.to_uppercase()), "nor in upper case");
        assert!(contains(&stored, &TokenHash::of(token).to_hex()), "its SHA-256 is (so we looked in the right place)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stores_tokens_only_as_hashes() {
    let server = Server::start().await;
    tokens_are_stored_only_as_hashes(&server, || sqlite_bytes(&server)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_tokens_only_as_hashes() {
    let Some(schema) = PgSchema::create("secrets") else { return };
    let server = Server::launch(Launch { database_url: Some(schema.url()), ..Launch::default() }).await;
    tokens_are_stored_only_as_hashes(&server, || postgres_text(&schema)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_revoked_and_near_miss_tokens_are_rejected() {
    let server = Server::start().await;
    let (_, token) = machine_with_token(&server, "lasting", None).await;
    assert_eq!(org_read_codes(&server, &token).await, (0, 0), "a valid token works");

    // Near misses: one character changed, a prefix, a suffix, the hash itself.
    let mut changed = token.clone().into_bytes();
    changed[10] = if changed[10] == b'a' { b'b' } else { b'a' };
    let changed = String::from_utf8(changed).expect("ascii");
    let hash = TokenHash::of(&token).to_hex();
    for near in
        [changed.as_str(), &token[..token.len() - 1], &format!("{token}0"), hash.as_str(), &token.to_uppercase()]
    {
        assert_eq!(org_read_codes(&server, near).await, (16, 16), "{near}");
    }

    // Expired: valid for two seconds, then refused.
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    let secs = at.duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let expiration = chrono_like_rfc3339(secs);
    let (_, short) = machine_with_token(&server, "short-lived", Some(expiration)).await;
    assert_eq!(org_read_codes(&server, &short).await, (0, 0), "valid before its expiry");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(org_read_codes(&server, &short).await, (16, 16), "refused after its expiry");

    // Revoked: removing the user revokes its tokens, and the database says so.
    let (id, revoked) = machine_with_token(&server, "removed", None).await;
    assert_eq!(org_read_codes(&server, &revoked).await, (0, 0));
    let admin = server.admin();
    let (_, _, removed) =
        server.rest("DELETE", &format!("/management/v1/users/{id}"), &[("authorization", admin.as_str())], None).await;
    removed.ok();
    assert_eq!(org_read_codes(&server, &revoked).await, (16, 16), "refused once its user is removed");
    let output = std::process::Command::new("sqlite3")
        .arg(server.dir.path().join("persona.db"))
        .arg(format!("SELECT revoked FROM tokens WHERE user_id = '{id}'"))
        .output();
    if let Some(output) = output.ok().filter(|o| o.status.success()) {
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1", "the row is marked revoked");
    }
    // The other tokens still work.
    assert_eq!(org_read_codes(&server, &token).await, (0, 0));
}

/// `secs` since 1970 as RFC 3339 UTC (civil-from-days, Howard Hinnant's algorithm).
fn chrono_like_rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).expect("small");
    let rest = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_profile_value_reaches_the_logs_at_trace_level() {
    let env = vec![
        ("PERSONA_LOG__LEVEL".to_owned(), "trace".to_owned()),
        // `RUST_LOG` must not be needed, nor weaken anything.
        ("RUST_LOG".to_owned(), "trace".to_owned()),
    ];
    let mut server = Server::launch(Launch { env, ..Launch::default() }).await;
    let admin = server.admin();
    let headers = [("authorization", admin.as_str())];
    let secrets = [
        "Firstsecretvalue",
        "Lastsecretvalue",
        "Nicksecretvalue",
        "Displaysecretvalue",
        "mailsecret@example.com",
        "Usernamesecret",
        "Updatedsecretvalue",
        "Grpcsecretvalue",
        "Wrongtokensecret",
    ];
    let body = json!({"userName": secrets[5], "profile": {"firstName": secrets[0], "lastName": secrets[1], "nickName": secrets[2], "displayName": secrets[3]}, "email": {"email": secrets[4]}});
    let (_, _, created) = server.rest("POST", "/management/v1/users/human", &headers, Some(body)).await;
    let user = created.ok()["userId"].as_str().expect("id").to_owned();
    let path = format!("/management/v1/users/{user}/profile");
    let update = json!({"firstName": secrets[6], "lastName": secrets[1], "displayName": secrets[3]});
    server.rest("PUT", &path, &headers, Some(update.clone())).await.2.ok();
    // Failures log too: not changed, invalid, unauthenticated, a bad JSON body.
    assert_eq!(server.rest("PUT", &path, &headers, Some(update)).await.2.code, 9);
    let too_long =
        json!({"firstName": format!("{}{}", secrets[6], "x".repeat(300)), "lastName": "L", "displayName": "D"});
    assert_eq!(server.rest("PUT", &path, &headers, Some(too_long)).await.2.code, 3);
    let wrong = format!("Bearer {}", secrets[8]);
    assert_eq!(server.rest("GET", &path, &[("authorization", wrong.as_str())], None).await.2.code, 16);
    let bad = bytes::Bytes::from(format!("{{\"firstName\": \"{}\", ", secrets[0]));
    let json_headers = [("authorization", admin.as_str()), ("content-type", "application/json")];
    assert_eq!(server.request("PUT", &path, &json_headers, bad).await.expect("answer").0, 400);
    // gRPC and gRPC-Web as well.
    let update = Call::UpdateHumanProfile(pb::UpdateHumanProfileRequest {
        user_id: user.clone(),
        first_name: secrets[7].to_owned(),
        last_name: secrets[1].to_owned(),
        display_name: secrets[3].to_owned(),
        ..Default::default()
    });
    assert_eq!(invoke(&server, Protocol::Grpc, &update, &headers).await.outcome.code, 0);
    let web = invoke(&server, Protocol::GrpcWeb, &Call::get_profile(&user), &[("authorization", &wrong)]).await;
    assert_eq!(web.outcome.code, 16);
    let (_, pat) = machine_with_token(&server, "logged-bot", None).await;
    assert_eq!(org_read_codes(&server, &pat).await, (0, 0));
    server.restart().await;
    assert_eq!(org_read_codes(&server, &pat).await, (0, 0));

    // Give the log pipe a moment, then look.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = server.logs();
    assert!(logs.len() > 1000, "logs were captured: {} bytes", logs.len());
    assert!(
        logs.contains("TRACE") || logs.contains("\"level\":\"TRACE\""),
        "the most verbose level is on: {}",
        &logs[..logs.len().min(2000)]
    );
    let mut leaks = Vec::new();
    for secret in secrets.iter().copied().chain([server.admin_token.as_str(), pat.as_str()]) {
        if let Some(at) = logs.find(secret) {
            let start = logs[..at].rfind('\n').map_or(0, |n| n + 1);
            let end = logs[at..].find('\n').map_or(logs.len(), |n| at + n);
            leaks.push(format!("{secret}: {}", &logs[start..end.min(start + 600)]));
        }
    }
    assert!(leaks.is_empty(), "secrets in the logs:\n{}", leaks.join("\n"));
}
