//! Persona's additions to the contract (CONTRACT section 6, issue "Beyond ZITADEL"), each run
//! over REST, gRPC and gRPC-Web alike: conditional updates, validate-only, all field errors at
//! once, field-level change history and strict language tags.

use crate::calls::{Call, PROTOCOLS, Protocol, invoke};
use crate::harness::{ADA, Server, add_human, update_ada};
use serde_json::json;

async fn first_name(server: &Server, user_id: &str) -> (String, String) {
    let admin = server.admin();
    let reply = invoke(server, Protocol::Rest, &Call::get_profile(user_id), &[("authorization", &admin)]).await;
    let body = reply.outcome.ok();
    (
        body["profile"]["firstName"].as_str().expect("name").to_owned(),
        body["details"]["sequence"].as_str().expect("sequence").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_updates_succeed_on_the_current_sequence_and_abort_on_a_stale_one() {
    let server = Server::start().await;
    let admin = server.admin();
    for protocol in PROTOCOLS {
        let user = add_human(&server, None, &format!("cond-{protocol:?}"), ADA).await;
        let matching = [("authorization", admin.as_str()), ("if-match", "\"1\"")];
        let reply = invoke(&server, protocol, &Call::UpdateHumanProfile(update_ada(&user, "Grace")), &matching).await;
        assert_eq!(reply.outcome.ok()["details"]["sequence"], "2", "{protocol:?}");
        if protocol == Protocol::Rest {
            assert_eq!(reply.etag(), Some("\"2\""), "the new ETag comes back");
        }
        let stale =
            invoke(&server, protocol, &Call::UpdateHumanProfile(update_ada(&user, "Hedy")), &matching).await.outcome;
        assert_eq!(stale.code, 10, "{protocol:?}: Aborted");
        assert!(stale.message.contains("current sequence is 2"), "{protocol:?}: {}", stale.message);
        assert_eq!(stale.detail_id.as_deref(), Some("PERSONA-PRE01"), "{protocol:?}");
        assert!(stale.detail_message.as_deref().is_some_and(|m| m.contains('2')), "{protocol:?}");
        assert_eq!(
            first_name(&server, &user).await,
            ("Grace".to_owned(), "2".to_owned()),
            "{protocol:?}: nothing written"
        );
    }
    let user = add_human(&server, None, "cond-status", ADA).await;
    let path = format!("/management/v1/users/{user}/profile");
    let body = serde_json::to_value(update_ada(&user, "Grace")).expect("json");
    let (status, _, _) =
        server.rest("PUT", &path, &[("authorization", admin.as_str()), ("if-match", "\"9\"")], Some(body)).await;
    assert_eq!(status, 412, "a stale If-Match is 412 over REST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_only_runs_every_check_and_writes_nothing() {
    let server = Server::start().await;
    let admin = server.admin();
    for protocol in PROTOCOLS {
        let user = add_human(&server, None, &format!("dry-{protocol:?}"), ADA).await;
        let dry = [("authorization", admin.as_str()), ("x-persona-validate-only", "true")];
        let outcome =
            invoke(&server, protocol, &Call::UpdateHumanProfile(update_ada(&user, "Grace")), &dry).await.outcome;
        assert_eq!(outcome.ok()["details"]["sequence"], "2", "{protocol:?}: what the call would answer");
        assert_eq!(
            first_name(&server, &user).await,
            ("Ada".to_owned(), "1".to_owned()),
            "{protocol:?}: nothing written"
        );

        let unchanged =
            invoke(&server, protocol, &Call::UpdateHumanProfile(update_ada(&user, "Ada")), &dry).await.outcome;
        assert_eq!(
            (unchanged.code, unchanged.message.as_str()),
            (9, "Profile not changed (COMMAND-2M0fs)"),
            "{protocol:?}"
        );
        let unauthenticated = invoke(
            &server,
            protocol,
            &Call::UpdateHumanProfile(update_ada(&user, "Grace")),
            &[("x-persona-validate-only", "true")],
        )
        .await
        .outcome;
        assert_eq!(unauthenticated.code, 16, "{protocol:?}: authentication still applies");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_list_every_violated_field_and_keep_the_compat_message() {
    let server = Server::start().await;
    let admin = server.admin();
    let user = add_human(&server, None, "fields", ADA).await;
    let mut request = update_ada(&user, "");
    request.display_name.clear();
    request.preferred_language = "not a tag".to_owned();
    for protocol in PROTOCOLS {
        let outcome =
            invoke(&server, protocol, &Call::UpdateHumanProfile(request.clone()), &[("authorization", &admin)])
                .await
                .outcome;
        assert_eq!(outcome.code, 3, "{protocol:?}");
        assert_eq!(
            outcome.message,
            "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive",
            "{protocol:?}"
        );
        assert_eq!(outcome.detail_id, None, "{protocol:?}: no ZITADEL detail for validation");
        assert_eq!(outcome.violations, ["firstName", "displayName", "preferredLanguage"], "{protocol:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_history_shows_old_and_new_values_with_the_editor_and_pages() {
    let server = Server::start().await;
    let admin = server.admin();
    let user = add_human(&server, None, "history", ADA).await;
    for name in ["Grace", "Hedy"] {
        let outcome = invoke(
            &server,
            Protocol::Rest,
            &Call::UpdateHumanProfile(update_ada(&user, name)),
            &[("authorization", &admin)],
        )
        .await
        .outcome;
        outcome.ok();
    }
    for protocol in PROTOCOLS {
        let all = Call::changes(&user, 0, 0, true);
        let outcome = invoke(&server, protocol, &all, &[("authorization", &admin)]).await.outcome;
        let result = outcome.ok()["result"].as_array().expect("result").clone();
        let sequences: Vec<&str> = result.iter().map(|c| c["sequence"].as_str().expect("sequence")).collect();
        assert_eq!(sequences, ["1", "2", "3"], "{protocol:?}");
        assert_eq!(result[0]["eventType"]["key"], "EventTypes.user.human.added", "{protocol:?}");
        assert_eq!(result[1]["eventType"]["key"], "EventTypes.user.human.profile.changed", "{protocol:?}");
        assert_eq!(
            result[1]["changedFields"],
            json!([{"field": "firstName", "oldValue": "Ada", "newValue": "Grace"}]),
            "{protocol:?}"
        );
        assert_eq!(
            result[2]["changedFields"],
            json!([{"field": "firstName", "oldValue": "Grace", "newValue": "Hedy"}]),
            "{protocol:?}"
        );
        assert!(
            result.iter().all(|c| c["editorId"].as_str().is_some_and(|e| !e.is_empty())),
            "{protocol:?}: editor recorded"
        );
        assert!(result.iter().all(|c| c["changeDate"].as_str().is_some_and(|d| d.ends_with('Z'))), "{protocol:?}");

        let page = Call::changes(&user, 1, 1, true);
        let outcome = invoke(&server, protocol, &page, &[("authorization", &admin)]).await.outcome;
        assert_eq!(outcome.ok()["result"][0]["sequence"], "2", "{protocol:?}: strictly after the cursor");
        assert_eq!(outcome.ok()["result"].as_array().map(Vec::len), Some(1), "{protocol:?}: at most limit");

        let newest = Call::changes(&user, 0, 2, false);
        let outcome = invoke(&server, protocol, &newest, &[("authorization", &admin)]).await.outcome;
        let sequences: Vec<&str> = outcome.ok()["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|c| c["sequence"].as_str().expect("s"))
            .collect();
        assert_eq!(sequences, ["3", "2"], "{protocol:?}: newest first");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_list_restricts_languages_and_tags_are_stored_canonically() {
    let server = Server::start_with(&[("PERSONA_ALLOWED_LANGUAGES", "[\"en\", \"de-CH\"]")]).await;
    let admin = server.admin();
    let user = add_human(&server, None, "langs", ADA).await;
    for protocol in PROTOCOLS {
        let mut request = update_ada(&user, &format!("Ada {protocol:?}"));
        request.preferred_language = "fr".to_owned();
        let outcome =
            invoke(&server, protocol, &Call::UpdateHumanProfile(request.clone()), &[("authorization", &admin)])
                .await
                .outcome;
        assert_eq!(outcome.code, 3, "{protocol:?}");
        assert!(
            outcome.message.starts_with("invalid UpdateHumanProfileRequest.PreferredLanguage:"),
            "{protocol:?}: {}",
            outcome.message
        );
        request.preferred_language = "DE_ch".to_owned();
        let outcome =
            invoke(&server, protocol, &Call::UpdateHumanProfile(request), &[("authorization", &admin)]).await.outcome;
        outcome.ok();
        let read = invoke(&server, protocol, &Call::get_profile(&user), &[("authorization", &admin)]).await.outcome;
        assert_eq!(read.ok()["profile"]["preferredLanguage"], "de-CH", "{protocol:?}");
    }
}
