//! One table of cases for UpdateHumanProfile, run over REST, gRPC and gRPC-Web alike: the same
//! code, message and error detail on all three, so the protocols cannot drift apart.

use crate::calls::{Call, PROTOCOLS, Protocol, invoke};
use crate::harness::{ADA, Outcome, Server, add_human, machine_bearer, update_ada};
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use serde_json::json;

/// Who calls: a header value, or none.
#[derive(Clone, Debug)]
enum Auth {
    Header(String),
    Missing,
}

/// The scene every protocol gets: users and callers in two orgs.
struct Scene {
    admin: String,
    viewer: String,
    loner: String,
    foreign_user: String,
}

async fn scene(server: &Server) -> Scene {
    let admin = server.admin();
    let (_, _, org) = server
        .rest("POST", "/management/v1/orgs", &[("authorization", admin.as_str())], Some(json!({"name": "Other"})))
        .await;
    let other_org = org.ok()["id"].as_str().expect("org id").to_owned();
    let foreign_user = add_human(server, Some(&other_org), "foreigner", ADA).await;
    Scene {
        viewer: machine_bearer(server, "viewer", &["ORG_OWNER_VIEWER"]).await,
        loner: machine_bearer(server, "loner", &[]).await,
        admin,
        foreign_user,
    }
}

/// The request fields, as JSON in the REST body and as the message over gRPC: Ada's update,
/// with a language and a gender.
fn update(user_id: &str, first: &str) -> pb::UpdateHumanProfileRequest {
    pb::UpdateHumanProfileRequest { preferred_language: "en".to_owned(), gender: 1, ..update_ada(user_id, first) }
}

async fn call(
    server: &Server,
    protocol: Protocol,
    auth: &Auth,
    org: Option<&str>,
    request: &pb::UpdateHumanProfileRequest,
) -> Outcome {
    let mut metadata: Vec<(&str, &str)> = Vec::new();
    if let Auth::Header(value) = auth {
        metadata.push(("authorization", value));
    }
    if let Some(org) = org {
        metadata.push(("x-zitadel-orgid", org));
    }
    invoke(server, protocol, &Call::UpdateHumanProfile(request.clone()), &metadata).await.outcome
}

/// What a case expects: success with a sequence, or an error.
#[derive(Debug)]
enum Expect {
    Sequence(u64),
    Error { code: i32, message: &'static str, detail: Option<&'static str> },
}

fn invalid(message: &'static str) -> Expect {
    Expect::Error { code: 3, message, detail: None }
}

async fn run_table(server: &Server, scene: &Scene, protocol: Protocol) {
    let user = add_human(server, None, &format!("ada-{protocol:?}"), ADA).await;
    let admin = Auth::Header(scene.admin.clone());
    let emoji_200 = "😀".repeat(200);
    let emoji_201 = "😀".repeat(201);
    let long_nick = "n".repeat(201);
    let with = |f: &dyn Fn(&mut pb::UpdateHumanProfileRequest)| {
        let mut request = update(&user, "Grace");
        f(&mut request);
        request
    };
    let cases: Vec<(&str, Auth, Option<&str>, pb::UpdateHumanProfileRequest, Expect)> = vec![
        ("a change succeeds", admin.clone(), None, update(&user, "Grace"), Expect::Sequence(2)),
        (
            "identical values are not a change",
            admin.clone(),
            None,
            update(&user, "Grace"),
            Expect::Error { code: 9, message: "Profile not changed (COMMAND-2M0fs)", detail: Some("COMMAND-2M0fs") },
        ),
        (
            "200 four-byte characters are 200 characters",
            admin.clone(),
            None,
            update(&user, &emoji_200),
            Expect::Sequence(3),
        ),
        (
            "201 characters are too many",
            admin.clone(),
            None,
            update(&user, &emoji_201),
            invalid(
                "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        (
            "empty first name",
            admin.clone(),
            None,
            with(&|r| r.first_name.clear()),
            invalid(
                "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        (
            "empty last name",
            admin.clone(),
            None,
            with(&|r| r.last_name.clear()),
            invalid(
                "invalid UpdateHumanProfileRequest.LastName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        (
            "long nick name",
            admin.clone(),
            None,
            with(&|r| r.nick_name.clone_from(&long_nick)),
            invalid("invalid UpdateHumanProfileRequest.NickName: value length must be at most 200 runes"),
        ),
        (
            "empty display name",
            admin.clone(),
            None,
            with(&|r| r.display_name.clear()),
            invalid(
                "invalid UpdateHumanProfileRequest.DisplayName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        (
            "long language",
            admin.clone(),
            None,
            with(&|r| r.preferred_language = "de-CH-1996x".into()),
            invalid("invalid UpdateHumanProfileRequest.PreferredLanguage: value length must be at most 10 runes"),
        ),
        (
            "malformed language",
            admin.clone(),
            None,
            with(&|r| r.preferred_language = "english".into()),
            invalid(
                "invalid UpdateHumanProfileRequest.PreferredLanguage: value must be a well-formed BCP 47 language tag",
            ),
        ),
        (
            "unknown user",
            admin.clone(),
            None,
            update("404404404", "Grace"),
            Expect::Error { code: 9, message: "Profile not found (COMMAND-3M9sd)", detail: Some("COMMAND-3M9sd") },
        ),
        (
            "a user of another org looks missing",
            admin.clone(),
            None,
            update(&scene.foreign_user, "Grace"),
            Expect::Error { code: 9, message: "Profile not found (COMMAND-3M9sd)", detail: Some("COMMAND-3M9sd") },
        ),
        (
            "missing token",
            Auth::Missing,
            None,
            update(&user, "Eve"),
            Expect::Error { code: 16, message: "auth header missing", detail: None },
        ),
        (
            "not a bearer header",
            Auth::Header("Basic YWRhOmFkYQ==".into()),
            None,
            update(&user, "Eve"),
            Expect::Error { code: 16, message: "invalid auth header (AUTH-toLo1)", detail: Some("AUTH-toLo1") },
        ),
        (
            "unknown token",
            Auth::Header("Bearer not-a-token".into()),
            None,
            update(&user, "Eve"),
            Expect::Error { code: 16, message: "Errors.Token.Invalid (AUTH-7fs1e)", detail: Some("AUTH-7fs1e") },
        ),
        (
            "unknown org header",
            admin.clone(),
            Some("999"),
            update(&user, "Eve"),
            Expect::Error { code: 7, message: "Organisation doesn't exist (AUTH-Bs7Ds)", detail: Some("AUTH-Bs7Ds") },
        ),
        (
            "a caller without membership",
            Auth::Header(scene.loner.clone()),
            None,
            update(&user, "Eve"),
            Expect::Error { code: 5, message: "membership not found (AUTHZ-cdgFk)", detail: Some("AUTHZ-cdgFk") },
        ),
        (
            "a viewer may not write",
            Auth::Header(scene.viewer.clone()),
            None,
            update(&user, "Eve"),
            Expect::Error {
                code: 7,
                message: "No matching permissions found (AUTH-5mWD2)",
                detail: Some("AUTH-5mWD2"),
            },
        ),
        (
            "authentication comes before validation: no token and an empty request",
            Auth::Missing,
            None,
            pb::UpdateHumanProfileRequest { user_id: user.clone(), ..Default::default() },
            Expect::Error { code: 16, message: "auth header missing", detail: None },
        ),
        (
            "permission comes before validation: a viewer sends an invalid request",
            Auth::Header(scene.viewer.clone()),
            None,
            with(&|r| r.last_name.clear()),
            Expect::Error {
                code: 7,
                message: "No matching permissions found (AUTH-5mWD2)",
                detail: Some("AUTH-5mWD2"),
            },
        ),
    ];
    for (name, auth, org, request, expect) in cases {
        let outcome = call(server, protocol, &auth, org, &request).await;
        match expect {
            Expect::Sequence(sequence) => {
                let details = &outcome.ok()["details"];
                assert_eq!(details["sequence"], json!(sequence.to_string()), "{protocol:?}: {name}");
                assert!(
                    details["changeDate"].as_str().is_some_and(|d| d.ends_with('Z')),
                    "{protocol:?}: {name}: {details}"
                );
                assert!(details["resourceOwner"].as_str().is_some_and(|o| !o.is_empty()), "{protocol:?}: {name}");
                assert!(details.get("creationDate").is_none(), "{protocol:?}: {name}: no creation date on update");
            }
            Expect::Error { code, message, detail } => {
                assert_eq!((outcome.code, outcome.message.as_str()), (code, message), "{protocol:?}: {name}");
                assert_eq!(outcome.detail_id.as_deref(), detail, "{protocol:?}: {name}");
                if let Some(id) = detail {
                    let text = message.trim_end_matches(&format!(" ({id})")).to_owned();
                    assert_eq!(outcome.detail_message.as_deref(), Some(text.as_str()), "{protocol:?}: {name}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_profile_behaves_identically_over_rest_grpc_and_grpc_web() {
    let server = Server::start().await;
    let scene = scene(&server).await;
    for protocol in PROTOCOLS {
        run_table(&server, &scene, protocol).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_can_read_profiles_over_every_protocol() {
    let server = Server::start().await;
    let scene = scene(&server).await;
    let user = add_human(&server, None, "readable", ADA).await;
    for protocol in PROTOCOLS {
        let reply = invoke(&server, protocol, &Call::get_profile(&user), &[("authorization", &scene.viewer)]).await;
        let body = reply.outcome.ok();
        assert_eq!(body["profile"]["firstName"], "Ada", "{protocol:?}");
        assert_eq!(body["details"]["sequence"], "1", "{protocol:?}");
        if protocol == Protocol::Rest {
            assert_eq!(reply.etag(), Some("\"1\""), "GET profile returns the ETag");
        }
    }
}
