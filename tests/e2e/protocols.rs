//! Tables of cases for every RPC of the contract, run over REST, gRPC and gRPC-Web alike: the
//! same code, message and error detail, the same response values on all three, so the
//! protocols cannot drift apart. UpdateHumanProfile, the core, has a table of its own; the
//! other twelve share one with the errors clients see most (CONTRACT section 3).
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
    other_org: String,
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
        other_org,
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
    /// A new human, removed again.
    Removed,
    /// A new human holding this role in the admin's org.
    Member(&'static str),
    /// A new machine user, a member of nothing.
    Machine,
}

/// The user a case's [`Given`] made.
struct Subject {
    id: String,
    user_name: String,
}

/// The request fields, as JSON in the REST body and as the message over gRPC: Ada's update,
/// with a language and a gender.
fn update(user_id: &str, first: &str) -> pb::UpdateHumanProfileRequest {
    pb::UpdateHumanProfileRequest { preferred_language: "en".to_owned(), gender: 1, ..update_ada(user_id, first) }
}

/// The case's call, made from the user its [`Given`] made.
type MakeCall = Box<dyn Fn(&Subject) -> Call>;

/// What a case expects: success with these values at these JSON pointers of the response, or
/// an error.
#[derive(Debug)]
enum Expect {
    Ok(Vec<(&'static str, Want)>),
    /// The code and the message; the ZITADEL detail is the message's `(ID)`, if it has one.
    Error(i32, &'static str),
}

/// What a response holds at a JSON pointer.
#[derive(Clone, Debug)]
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
    org: Option<String>,
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

    fn in_org(self, org: &str) -> Self {
        Self { org: Some(org.to_owned()), ..self }
    }
}

fn calling(f: impl Fn(&Subject) -> Call + 'static) -> MakeCall {
    Box::new(f)
}

fn updating(f: impl Fn(&str) -> pb::UpdateHumanProfileRequest + 'static) -> MakeCall {
    Box::new(move |subject| Call::UpdateHumanProfile(f(&subject.id)))
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

/// `AddHumanUser` of human `user_name` with these names and email address.
fn human(user_name: &str, first: &str, last: &str, email: &str) -> pb::AddHumanUserRequest {
    pb::AddHumanUserRequest {
        user_name: user_name.to_owned(),
        profile: Some(pb::add_human_user_request::Profile {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            ..Default::default()
        }),
        email: Some(pb::add_human_user_request::Email { email: email.to_owned(), is_email_verified: false }),
        ..Default::default()
    }
}

/// `ImportHumanUser` of Ada Lovelace as `user_name`, her email address verified.
fn import(user_name: &str) -> pb::ImportHumanUserRequest {
    pb::ImportHumanUserRequest {
        user_name: user_name.to_owned(),
        profile: Some(pb::import_human_user_request::Profile {
            first_name: "Ada".to_owned(),
            last_name: "Lovelace".to_owned(),
            ..Default::default()
        }),
        email: Some(pb::import_human_user_request::Email {
            email: "ada@example.com".to_owned(),
            is_email_verified: true,
        }),
        ..Default::default()
    }
}

fn by_id(f: fn(String) -> Call) -> MakeCall {
    Box::new(move |subject| f(subject.id.clone()))
}

fn get_user(id: String) -> Call {
    Call::GetUserById(pb::GetUserByIdRequest { id })
}

fn remove_user(id: String) -> Call {
    Call::RemoveUser(pb::RemoveUserRequest { id })
}

fn token(user_id: String) -> Call {
    Call::AddPersonalAccessToken(pb::AddPersonalAccessTokenRequest { user_id, expiration_date: None })
}

fn grant(user_id: String, role: &str) -> Call {
    Call::AddOrgMember(pb::AddOrgMemberRequest { user_id, roles: vec![role.to_owned()] })
}

/// The cases of the twelve RPCs besides UpdateHumanProfile.
fn other_cases(scene: &Scene) -> Vec<Case> {
    let ok = |wants: &[(&'static str, Want)]| Expect::Ok(wants.iter().map(|(p, w)| (*p, w.clone())).collect());
    let denied = || Expect::Error(7, "No matching permissions found (AUTH-5mWD2)");
    let user_not_found = || Expect::Error(5, "User could not be found (QUERY-HNhb3)");
    let command_not_found = || Expect::Error(5, "User could not be found (COMMAND-m9od)");
    let created = |id: &'static str| {
        ok(&[
            (id, Want::Set),
            ("/details/sequence", Want::Is(json!("1"))),
            ("/details/creationDate", Want::Timestamp),
            ("/details/resourceOwner", Want::Set),
        ])
    };
    let foreign = scene.foreign_user.clone();
    let other_org = scene.other_org.clone();
    vec![
        // GetHumanProfile
        case(
            "a profile reads back with the user's details",
            Given::Human,
            calling(|s| Call::get_profile(&s.id)),
            ok(&[
                ("/profile/firstName", Want::Is(json!("Ada"))),
                ("/profile/lastName", Want::Is(json!("Lovelace"))),
                ("/profile/displayName", Want::Is(json!("Ada Lovelace"))),
                ("/details/sequence", Want::Is(json!("1"))),
                ("/details/creationDate", Want::Timestamp),
                ("/details/changeDate", Want::Timestamp),
                ("/details/resourceOwner", Want::Set),
            ]),
        ),
        case(
            "an unknown user has no profile",
            Given::Human,
            calling(|_| Call::get_profile("404404404")),
            user_not_found(),
        ),
        case(
            "a user of another org has no profile here",
            Given::Human,
            calling(move |_| Call::get_profile(&foreign)),
            user_not_found(),
        ),
        case(
            "a machine user has no profile",
            Given::Machine,
            calling(|s| Call::get_profile(&s.id)),
            Expect::Error(9, "The User must be personal (QUERY-WLTce)"),
        ),
        case("a removed user has no profile", Given::Removed, calling(|s| Call::get_profile(&s.id)), user_not_found()),
        // AddHumanUser
        case(
            "a new human gets its id and creation date",
            Given::Human,
            calling(|s| Call::AddHumanUser(human(&format!("{}-new", s.user_name), "Grace", "Hopper", "g@example.com"))),
            created("/userId"),
        ),
        case(
            "a blank first name",
            Given::Human,
            calling(|s| Call::AddHumanUser(human(&format!("{}-new", s.user_name), " ", "Hopper", "g@example.com"))),
            Expect::Error(3, "First name in profile is empty (USER-UCej2)"),
        ),
        case(
            "a blank last name",
            Given::Human,
            calling(|s| Call::AddHumanUser(human(&format!("{}-new", s.user_name), "Grace", " ", "g@example.com"))),
            Expect::Error(3, "Last name in profile is empty (USER-4hB7d)"),
        ),
        case(
            "an invalid email address",
            Given::Human,
            calling(|s| Call::AddHumanUser(human(&format!("{}-new", s.user_name), "Grace", "Hopper", "grace"))),
            Expect::Error(3, "Email is invalid (EMAIL-599BI)"),
        ),
        case(
            "a user name taken in another case of letters",
            Given::Human,
            calling(|s| Call::AddHumanUser(human(&s.user_name.to_uppercase(), "Grace", "Hopper", "g@example.com"))),
            Expect::Error(6, "User already exists (V3-DKcYh)"),
        ),
        case(
            "a viewer may not add users",
            Given::Human,
            calling(|s| Call::AddHumanUser(human(&format!("{}-new", s.user_name), "Grace", "Hopper", "g@example.com"))),
            denied(),
        )
        .by(Caller::Viewer),
        // ImportHumanUser
        case(
            "an import gets its id and creation date",
            Given::Human,
            calling(|s| Call::ImportHumanUser(import(&format!("{}-new", s.user_name)))),
            created("/userId"),
        ),
        case(
            "an import with a password is refused, not dropped",
            Given::Human,
            calling(|s| {
                Call::ImportHumanUser(pb::ImportHumanUserRequest {
                    password: "Secret-42".to_owned(),
                    ..import(&format!("{}-new", s.user_name))
                })
            }),
            Expect::Error(3, "password is not supported by Persona; leave it empty (PERSONA-IMP01)"),
        ),
        case(
            "an import of a taken user name",
            Given::Human,
            calling(|s| Call::ImportHumanUser(import(&s.user_name))),
            Expect::Error(6, "User already exists (V3-DKcYh)"),
        ),
        // GetUserByID
        case(
            "a human reads back with its name and profile",
            Given::Human,
            by_id(get_user),
            ok(&[
                ("/user/human/profile/firstName", Want::Is(json!("Ada"))),
                ("/user/human/email/email", Want::Is(json!("ada@example.com"))),
                ("/user/details/sequence", Want::Is(json!("1"))),
                ("/user/details/creationDate", Want::Timestamp),
                ("/user/machine", Want::Absent),
            ]),
        ),
        case(
            "a machine reads back as a machine",
            Given::Machine,
            by_id(get_user),
            ok(&[("/user/machine/name", Want::Is(json!("Machine"))), ("/user/human", Want::Absent)]),
        ),
        case("an unknown user is not found", Given::Human, calling(|_| get_user("404404404".into())), user_not_found()),
        case("a removed user is not found", Given::Removed, by_id(get_user), user_not_found()),
        // RemoveUser
        case(
            "a removal is the user's next event",
            Given::Human,
            by_id(remove_user),
            ok(&[("/details/sequence", Want::Is(json!("2"))), ("/details/changeDate", Want::Timestamp)]),
        ),
        case(
            "removing an unknown user",
            Given::Human,
            calling(|_| remove_user("404404404".into())),
            command_not_found(),
        ),
        case("removing a removed user", Given::Removed, by_id(remove_user), command_not_found()),
        case("a viewer may not remove users", Given::Human, by_id(remove_user), denied()).by(Caller::Viewer),
        // ListUserChanges
        case(
            "the history of a new user is its creation",
            Given::Human,
            calling(|s| Call::changes(&s.id, 0, 0, true)),
            ok(&[
                ("/result/0/sequence", Want::Is(json!("1"))),
                ("/result/0/eventType/key", Want::Is(json!("EventTypes.user.human.added"))),
                ("/result/1", Want::Absent),
            ]),
        ),
        case(
            "the history pages strictly after the cursor",
            Given::Changed("Grace"),
            calling(|s| Call::changes(&s.id, 1, 10, true)),
            ok(&[
                ("/result/0/sequence", Want::Is(json!("2"))),
                ("/result/0/eventType/key", Want::Is(json!("EventTypes.user.human.profile.changed"))),
                ("/result/1", Want::Absent),
            ]),
        ),
        case(
            "an unknown user has no history",
            Given::Human,
            calling(|_| Call::changes("404404404", 0, 0, true)),
            user_not_found(),
        ),
        // AddMachineUser
        case(
            "a new machine user gets its id",
            Given::Human,
            calling(|s| {
                Call::AddMachineUser(pb::AddMachineUserRequest {
                    user_name: format!("{}-bot", s.user_name),
                    name: "Bot".to_owned(),
                    ..Default::default()
                })
            }),
            created("/userId"),
        ),
        case(
            "a machine user may not take a human's name",
            Given::Human,
            calling(|s| {
                Call::AddMachineUser(pb::AddMachineUserRequest {
                    user_name: s.user_name.clone(),
                    name: "Bot".to_owned(),
                    ..Default::default()
                })
            }),
            Expect::Error(6, "User already exists (V3-DKcYh)"),
        ),
        // AddPersonalAccessToken
        case(
            "a machine user gets a token",
            Given::Machine,
            by_id(token),
            ok(&[("/tokenId", Want::Set), ("/token", Want::Set), ("/details/resourceOwner", Want::Set)]),
        ),
        case(
            "a human gets no token",
            Given::Human,
            by_id(token),
            Expect::Error(9, "Personal access tokens are only allowed for machine users (COMMAND-Dv2cg)"),
        ),
        case("a token for an unknown user", Given::Human, calling(|_| token("404404404".into())), command_not_found()),
        case("a viewer may not mint tokens", Given::Machine, by_id(token), denied()).by(Caller::Viewer),
        // AddOrg
        case(
            "a new org gets its id",
            Given::Human,
            calling(|s| Call::AddOrg(pb::AddOrgRequest { name: format!("Org {}", s.user_name) })),
            ok(&[
                ("/id", Want::Set),
                ("/details/creationDate", Want::Timestamp),
                ("/details/resourceOwner", Want::Set),
            ]),
        ),
        case(
            "a viewer may not create orgs",
            Given::Human,
            calling(|s| Call::AddOrg(pb::AddOrgRequest { name: format!("Org {}", s.user_name) })),
            denied(),
        )
        .by(Caller::Viewer),
        // GetMyOrg
        case(
            "the caller's own org",
            Given::Human,
            calling(|_| Call::GetMyOrg),
            ok(&[
                ("/org/id", Want::Set),
                ("/org/state", Want::Is(json!("ORG_STATE_ACTIVE"))),
                ("/org/name", Want::Set),
            ]),
        ),
        case(
            "the org the header names",
            Given::Human,
            calling(|_| Call::GetMyOrg),
            ok(&[("/org/id", Want::Is(json!(other_org))), ("/org/name", Want::Is(json!("Other")))]),
        )
        .in_org(&scene.other_org),
        case(
            "an org that does not exist",
            Given::Human,
            calling(|_| Call::GetMyOrg),
            Expect::Error(7, "Organisation doesn't exist (AUTH-Bs7Ds)"),
        )
        .in_org("999"),
        // AddOrgMember
        case(
            "a human becomes a member",
            Given::Human,
            calling(|s| grant(s.id.clone(), "ORG_OWNER_VIEWER")),
            ok(&[("/details/resourceOwner", Want::Set), ("/details/changeDate", Want::Timestamp)]),
        ),
        case(
            "a member is not added twice",
            Given::Member("ORG_OWNER_VIEWER"),
            calling(|s| grant(s.id.clone(), "ORG_USER_MANAGER")),
            Expect::Error(6, "Member already exists (ORG-poWwe)"),
        ),
        case(
            "a role that does not exist",
            Given::Human,
            calling(|s| grant(s.id.clone(), "NO_SUCH_ROLE")),
            Expect::Error(3, "Member roles are invalid (ORG-4N8es)"),
        ),
        case(
            "a member must be a user of the org",
            Given::Human,
            calling(|_| grant("404404404".into(), "ORG_OWNER_VIEWER")),
            Expect::Error(5, "User could not be found (ORG-GoXOn)"),
        ),
        case(
            "a viewer may not add members",
            Given::Human,
            calling(|s| grant(s.id.clone(), "ORG_OWNER_VIEWER")),
            denied(),
        )
        .by(Caller::Viewer),
        // Healthz
        case("health needs no token", Given::Human, calling(|_| Call::Healthz), ok(&[("", Want::Is(json!({})))]))
            .by(Caller::Missing),
    ]
}

/// `call` by the admin over REST, which must succeed: the response.
async fn as_admin(server: &Server, call: Call) -> Value {
    let admin = server.admin();
    invoke(server, Protocol::Rest, &call, &[("authorization", admin.as_str())]).await.outcome.ok().clone()
}

/// Makes what `given` says, as the admin over REST, naming the user `user_name`.
async fn prepare(server: &Server, given: Given, user_name: &str) -> Subject {
    let id = if let Given::Machine = given {
        let request = pb::AddMachineUserRequest {
            user_name: user_name.to_owned(),
            name: "Machine".to_owned(),
            ..Default::default()
        };
        let created = as_admin(server, Call::AddMachineUser(request)).await;
        created["userId"].as_str().expect("user id").to_owned()
    } else {
        add_human(server, None, user_name, ADA).await
    };
    match given {
        Given::Human | Given::Machine => {}
        Given::Changed(first) => {
            as_admin(server, Call::UpdateHumanProfile(update(&id, first))).await;
        }
        Given::Removed => {
            as_admin(server, Call::RemoveUser(pb::RemoveUserRequest { id: id.clone() })).await;
        }
        Given::Member(role) => {
            let request = pb::AddOrgMemberRequest { user_id: id.clone(), roles: vec![role.to_owned()] };
            as_admin(server, Call::AddOrgMember(request)).await;
        }
    }
    Subject { id, user_name: user_name.to_owned() }
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
            let subject = prepare(server, case.given, &format!("case-{n}-{protocol:?}").to_lowercase()).await;
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
            if let Some(org) = &case.org {
                metadata.push(("x-zitadel-orgid", org));
            }
            let outcome = invoke(server, protocol, &(case.call)(&subject), &metadata).await.outcome;
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
async fn every_other_rpc_behaves_identically_over_rest_grpc_and_grpc_web() {
    let server = Server::start().await;
    let scene = scene(&server).await;
    run_table(&server, &scene, &other_cases(&scene)).await;
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
