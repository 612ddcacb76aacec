//! One table of cases for UpdateHumanProfile, run over REST, gRPC and gRPC-Web alike: the same
//! code, message and error detail on all three, so the protocols cannot drift apart.
//!
//! Each case makes what it needs before its call (a user of its own, already changed if it
//! needs that), so no case depends on another: every protocol runs the table in another order
//! to keep it so.

use crate::calls::{Call, PROTOCOLS, Protocol, invoke};
use crate::harness::{ADA, Outcome, Server, add_human, machine_bearer, update_ada};
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use serde_json::{Value, json};

/// The callers and objects every case may use, made once: nothing in it is changed by a case.
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

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Admin,
    Viewer,
    /// A machine user that is a member of nothing.
    Loner,
    /// This `authorization` header value.
    Header(&'static str),
    /// No `authorization` header.
    Missing,
}

/// What a case needs before its call, made for that case alone.
#[derive(Clone, Copy, Debug)]
enum Given {
    /// A new human, as [`ADA`] (its sequence is 1).
    Human,
    /// A new human already changed once by [`update`] to this first name (sequence 2).
    Changed(&'static str),
}

/// The request fields, as JSON in the REST body and as the message over gRPC: Ada's update,
/// with a language and a gender.
fn update(user_id: &str, first: &str) -> pb::UpdateHumanProfileRequest {
    pb::UpdateHumanProfileRequest { preferred_language: "en".to_owned(), gender: 1, ..update_ada(user_id, first) }
}

/// The case's call, made from the id of the user its [`Given`] made.
type MakeCall = Box<dyn Fn(&str) -> Call>;

/// What a case expects: success with these values at these JSON pointers of the response, or
/// an error.
#[derive(Debug)]
enum Expect {
    Ok(Vec<(&'static str, Want)>),
    /// The code and the message; the ZITADEL detail is the message's `(ID)`, if it has one.
    Error(i32, &'static str),
}

/// What a response holds at a JSON pointer.
#[derive(Debug)]
enum Want {
    Is(Value),
    /// An RFC 3339 timestamp in UTC.
    Timestamp,
    /// A non-empty string.
    Set,
    Absent,
}

struct Case {
    name: &'static str,
    caller: Caller,
    org: Option<&'static str>,
    given: Given,
    call: MakeCall,
    expect: Expect,
}

/// A case called by the admin in its own org.
fn case(name: &'static str, given: Given, call: MakeCall, expect: Expect) -> Case {
    Case { name, caller: Caller::Admin, org: None, given, call, expect }
}

impl Case {
    fn by(self, caller: Caller) -> Self {
        Self { caller, ..self }
    }

    fn in_org(self, org: &'static str) -> Self {
        Self { org: Some(org), ..self }
    }
}

fn updating(f: impl Fn(&str) -> pb::UpdateHumanProfileRequest + 'static) -> MakeCall {
    Box::new(move |user| Call::UpdateHumanProfile(f(user)))
}

/// Ada's [`update`] to `first`, changed further by `f`.
fn updating_with(first: &'static str, f: impl Fn(&mut pb::UpdateHumanProfileRequest) + 'static) -> MakeCall {
    updating(move |user| {
        let mut request = update(user, first);
        f(&mut request);
        request
    })
}

fn invalid(message: &'static str) -> Expect {
    Expect::Error(3, message)
}

/// The details of a successful update: its sequence, a change date, the owner, no creation date.
fn updated(sequence: &str) -> Expect {
    Expect::Ok(vec![
        ("/details/sequence", Want::Is(json!(sequence))),
        ("/details/changeDate", Want::Timestamp),
        ("/details/resourceOwner", Want::Set),
        ("/details/creationDate", Want::Absent),
    ])
}

fn update_cases(scene: &Scene) -> Vec<Case> {
    let foreign_user = scene.foreign_user.clone();
    let not_found = Expect::Error(9, "Profile not found (COMMAND-3M9sd)");
    let denied = || Expect::Error(7, "No matching permissions found (AUTH-5mWD2)");
    vec![
        case("a change succeeds", Given::Human, updating(|u| update(u, "Grace")), updated("2")),
        case(
            "identical values are not a change",
            Given::Changed("Grace"),
            updating(|u| update(u, "Grace")),
            Expect::Error(9, "Profile not changed (COMMAND-2M0fs)"),
        ),
        case(
            "200 four-byte characters are 200 characters",
            Given::Human,
            updating(|u| update(u, &"😀".repeat(200))),
            updated("2"),
        ),
        case(
            "201 characters are too many",
            Given::Human,
            updating(|u| update(u, &"😀".repeat(201))),
            invalid(
                "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        case(
            "empty first name",
            Given::Human,
            updating_with("Grace", |r| r.first_name.clear()),
            invalid(
                "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        case(
            "empty last name",
            Given::Human,
            updating_with("Grace", |r| r.last_name.clear()),
            invalid(
                "invalid UpdateHumanProfileRequest.LastName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        case(
            "long nick name",
            Given::Human,
            updating_with("Grace", |r| r.nick_name = "n".repeat(201)),
            invalid("invalid UpdateHumanProfileRequest.NickName: value length must be at most 200 runes"),
        ),
        case(
            "empty display name",
            Given::Human,
            updating_with("Grace", |r| r.display_name.clear()),
            invalid(
                "invalid UpdateHumanProfileRequest.DisplayName: value length must be between 1 and 200 runes, inclusive",
            ),
        ),
        case(
            "long language",
            Given::Human,
            updating_with("Grace", |r| r.preferred_language = "de-CH-1996x".into()),
            invalid("invalid UpdateHumanProfileRequest.PreferredLanguage: value length must be at most 10 runes"),
        ),
        case(
            "malformed language",
            Given::Human,
            updating_with("Grace", |r| r.preferred_language = "english".into()),
            invalid(
                "invalid UpdateHumanProfileRequest.PreferredLanguage: value must be a well-formed BCP 47 language tag",
            ),
        ),
        case("unknown user", Given::Human, updating(|_| update("404404404", "Grace")), not_found),
        case(
            "a user of another org looks missing",
            Given::Human,
            updating(move |_| update(&foreign_user, "Grace")),
            Expect::Error(9, "Profile not found (COMMAND-3M9sd)"),
        ),
        case("missing token", Given::Human, updating(|u| update(u, "Eve")), Expect::Error(16, "auth header missing"))
            .by(Caller::Missing),
        case(
            "not a bearer header",
            Given::Human,
            updating(|u| update(u, "Eve")),
            Expect::Error(16, "invalid auth header (AUTH-toLo1)"),
        )
        .by(Caller::Header("Basic YWRhOmFkYQ==")),
        case(
            "unknown token",
            Given::Human,
            updating(|u| update(u, "Eve")),
            Expect::Error(16, "Errors.Token.Invalid (AUTH-7fs1e)"),
        )
        .by(Caller::Header("Bearer not-a-token")),
        case(
            "unknown org header",
            Given::Human,
            updating(|u| update(u, "Eve")),
            Expect::Error(7, "Organisation doesn't exist (AUTH-Bs7Ds)"),
        )
        .in_org("999"),
        case(
            "a caller without membership",
            Given::Human,
            updating(|u| update(u, "Eve")),
            Expect::Error(5, "membership not found (AUTHZ-cdgFk)"),
        )
        .by(Caller::Loner),
        case("a viewer may not write", Given::Human, updating(|u| update(u, "Eve")), denied()).by(Caller::Viewer),
        case(
            "authentication comes before validation: no token and an empty request",
            Given::Human,
            updating(|u| pb::UpdateHumanProfileRequest { user_id: u.to_owned(), ..Default::default() }),
            Expect::Error(16, "auth header missing"),
        )
        .by(Caller::Missing),
        case(
            "permission comes before validation: a viewer sends an invalid request",
            Given::Human,
            updating_with("Grace", |r| r.last_name.clear()),
            denied(),
        )
        .by(Caller::Viewer),
    ]
}

/// Makes what `given` says, as the admin over REST: the id of the case's user.
async fn prepare(server: &Server, given: Given, name: &str) -> String {
    let user = add_human(server, None, name, ADA).await;
    if let Given::Changed(first) = given {
        let admin = server.admin();
        let call = Call::UpdateHumanProfile(update(&user, first));
        invoke(server, Protocol::Rest, &call, &[("authorization", admin.as_str())]).await.outcome.ok();
    }
    user
}

fn check(outcome: &Outcome, expect: &Expect, case: &str) {
    match expect {
        Expect::Ok(wants) => {
            let body = outcome.ok();
            for (pointer, want) in wants {
                let found = body.pointer(pointer);
                let holds = match want {
                    Want::Is(value) => found == Some(value),
                    Want::Timestamp => found.and_then(Value::as_str).is_some_and(|d| d.ends_with('Z')),
                    Want::Set => found.and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                    Want::Absent => found.is_none(),
                };
                assert!(holds, "{case}: {pointer} should be {want:?}: {body}");
            }
        }
        Expect::Error(code, message) => {
            assert_eq!((outcome.code, outcome.message.as_str()), (*code, *message), "{case}");
            let detail = message.strip_suffix(')').and_then(|m| m.rsplit_once(" ("));
            assert_eq!(outcome.detail_id.as_deref(), detail.map(|(_, id)| id), "{case}: the detail's id");
            if let Some((text, _)) = detail {
                assert_eq!(outcome.detail_message.as_deref(), Some(text), "{case}: the detail's text");
            }
        }
    }
}

/// Runs every case over every protocol, each protocol in another order of the cases.
async fn run_table(server: &Server, scene: &Scene, cases: &[Case]) {
    for (round, protocol) in PROTOCOLS.into_iter().enumerate() {
        let mut order: Vec<usize> = (0..cases.len()).collect();
        match round % 3 {
            0 => {}
            1 => order.reverse(),
            _ => order.rotate_left(cases.len() / 2),
        }
        for n in order {
            let case = &cases[n];
            let name = format!("{protocol:?}: {}", case.name);
            let user = prepare(server, case.given, &format!("case-{n}-{protocol:?}").to_lowercase()).await;
            let authorization = match case.caller {
                Caller::Admin => Some(scene.admin.as_str()),
                Caller::Viewer => Some(scene.viewer.as_str()),
                Caller::Loner => Some(scene.loner.as_str()),
                Caller::Header(value) => Some(value),
                Caller::Missing => None,
            };
            let mut metadata: Vec<(&str, &str)> = Vec::new();
            if let Some(value) = authorization {
                metadata.push(("authorization", value));
            }
            if let Some(org) = case.org {
                metadata.push(("x-zitadel-orgid", org));
            }
            let outcome = invoke(server, protocol, &(case.call)(&user), &metadata).await.outcome;
            check(&outcome, &case.expect, &name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_profile_behaves_identically_over_rest_grpc_and_grpc_web() {
    let server = Server::start().await;
    let scene = scene(&server).await;
    run_table(&server, &scene, &update_cases(&scene)).await;
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
