//! Tables of cases for every RPC of the contract, run over REST, gRPC, gRPC-Web and Connect
//! (JSON and binary) alike: the same code, message and error detail, the same response values
//! on all five, so the protocols cannot drift apart. UpdateHumanProfile, the core, has a table
//! of its own; the other twelve of v1 share one with the errors clients see most (CONTRACT
//! section 3); v2's six have theirs (section 7), and v2's answers are compared whole across
//! the protocols.
//!
//! Each case makes what it needs before its call (a user of its own, already changed if it
//! needs that), so no case depends on another: every protocol runs the table in another order
//! to keep it so.

use crate::calls::{Call, PROTOCOLS, Protocol, invoke};
use crate::harness::{ADA, Outcome, Server, add_human, machine_bearer, update_ada};
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_api_grpc::pb::zitadel::object::v2::{ListQuery, Organization, organization::Org};
use persona_api_grpc::pb::zitadel::user::v2;
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

/// v2 `AddHumanUser` of `user_name` with these names (`ada@example.com`), in the caller's org.
fn v2_human(user_name: &str, given: &str, family: &str) -> v2::AddHumanUserRequest {
    v2::AddHumanUserRequest {
        username: Some(user_name.to_owned()),
        profile: Some(v2::SetHumanProfile {
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            ..Default::default()
        }),
        email: Some(v2::SetHumanEmail { email: "ada@example.com".to_owned(), verification: None }),
        ..Default::default()
    }
}

/// v2 `UpdateHumanUser` of `user_id` setting both names (the other fields stay).
fn v2_update(user_id: &str, given: &str, family: &str) -> v2::UpdateHumanUserRequest {
    v2::UpdateHumanUserRequest {
        user_id: user_id.to_owned(),
        profile: Some(v2::SetHumanProfile {
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// v2 `UpdateUser` of `user_id` with this human part.
fn v2_patch(user_id: &str, human: v2::update_user_request::Human) -> v2::UpdateUserRequest {
    v2::UpdateUserRequest {
        user_id: user_id.to_owned(),
        username: None,
        user_type: Some(v2::update_user_request::UserType::Human(human)),
    }
}

/// v2 `UpdateUser` of `user_id` setting the nick name only.
fn v2_nick(user_id: &str, nick: &str) -> v2::UpdateUserRequest {
    let profile = v2::update_user_request::human::Profile { nick_name: Some(nick.to_owned()), ..Default::default() };
    v2_patch(user_id, v2::update_user_request::Human { profile: Some(profile), ..Default::default() })
}

/// v2 `ListUsers` of the users with these ids.
fn v2_list_ids(ids: &[&str]) -> v2::ListUsersRequest {
    let ids = v2::InUserIdQuery { user_ids: ids.iter().map(|id| (*id).to_owned()).collect() };
    v2::ListUsersRequest {
        queries: vec![v2::SearchQuery { query: Some(v2::search_query::Query::InUserIdsQuery(ids)) }],
        ..Default::default()
    }
}

fn v2_get(user_id: String) -> Call {
    Call::GetUserByIdV2(v2::GetUserByIdRequest { user_id })
}

fn v2_delete(user_id: String) -> Call {
    Call::DeleteUserV2(v2::DeleteUserRequest { user_id })
}

/// The cases of v2's `UserService` (CONTRACT section 7).
fn v2_cases(scene: &Scene) -> Vec<Case> {
    let ok = |wants: &[(&'static str, Want)]| Expect::Ok(wants.iter().map(|(p, w)| (*p, w.clone())).collect());
    let denied = || Expect::Error(7, "No matching permissions found (AUTH-5mWD2)");
    let query_not_found = || Expect::Error(5, "User could not be found (QUERY-HNhb3)");
    let command_not_found = || Expect::Error(5, "User could not be found (COMMAND-m9od)");
    let membership = || Expect::Error(5, "membership not found (AUTHZ-cdgFk)");
    let given_name_rule = |message: &'static str| -> &'static str {
        match message {
            "AddHumanUserRequest" => {
                "invalid AddHumanUserRequest.Profile: embedded message failed validation | caused by: invalid \
                 SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive"
            }
            _ => {
                "invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: invalid \
                 SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive"
            }
        }
    };
    let new_name = |s: &Subject| format!("{}-v2", s.user_name);
    let (foreign, foreign_too, other_org) =
        (scene.foreign_user.clone(), scene.foreign_user.clone(), scene.other_org.clone());
    let owner_is_other = other_org.clone();
    vec![
        // AddHumanUser
        case(
            "a v2 user gets its id and creation date",
            Given::Human,
            calling(move |s| Call::AddHumanUserV2(v2_human(&new_name(s), "Grace", "Hopper"))),
            ok(&[
                ("/userId", Want::Set),
                ("/details/sequence", Want::Is(json!("1"))),
                ("/details/creationDate", Want::Timestamp),
                ("/details/resourceOwner", Want::Set),
                ("/emailCode", Want::Absent),
            ]),
        ),
        case(
            "return_code returns an email code",
            Given::Human,
            calling(move |s| {
                let mut request = v2_human(&new_name(s), "Grace", "Hopper");
                request.email = Some(v2::SetHumanEmail {
                    email: "grace@example.com".to_owned(),
                    verification: Some(v2::set_human_email::Verification::ReturnCode(
                        v2::ReturnEmailVerificationCode {},
                    )),
                });
                Call::AddHumanUserV2(request)
            }),
            ok(&[("/userId", Want::Set), ("/emailCode", Want::Set)]),
        ),
        case(
            "organization names the org",
            Given::Human,
            calling(move |s| {
                let mut request = v2_human(&new_name(s), "Grace", "Hopper");
                request.organization = Some(Organization { org: Some(Org::OrgId(other_org.clone())) });
                Call::AddHumanUserV2(request)
            }),
            ok(&[("/details/resourceOwner", Want::Is(json!(owner_is_other)))]),
        ),
        case(
            "a password is refused, not dropped",
            Given::Human,
            calling(move |s| {
                let mut request = v2_human(&new_name(s), "Grace", "Hopper");
                request.password_type = Some(v2::add_human_user_request::PasswordType::Password(v2::Password {
                    password: "Secret-42".to_owned(),
                    change_required: false,
                }));
                Call::AddHumanUserV2(request)
            }),
            Expect::Error(3, "password is not supported by Persona; leave it empty (PERSONA-IMP01)"),
        ),
        case(
            "send_code needs a mail channel Persona does not have",
            Given::Human,
            calling(move |s| {
                let mut request = v2_human(&new_name(s), "Grace", "Hopper");
                request.email = Some(v2::SetHumanEmail {
                    email: "grace@example.com".to_owned(),
                    verification: Some(v2::set_human_email::Verification::SendCode(v2::SendEmailVerificationCode {
                        url_template: None,
                    })),
                });
                Call::AddHumanUserV2(request)
            }),
            Expect::Error(3, "email.send_code is not supported by Persona; leave it empty (PERSONA-IMP01)"),
        ),
        case(
            "an empty given name, in v2's words",
            Given::Human,
            calling(move |s| Call::AddHumanUserV2(v2_human(&new_name(s), "", "Hopper"))),
            invalid(given_name_rule("AddHumanUserRequest")),
        ),
        case(
            "a v2 user name taken in another case of letters",
            Given::Human,
            calling(|s| Call::AddHumanUserV2(v2_human(&s.user_name.to_uppercase(), "Grace", "Hopper"))),
            Expect::Error(6, "User already exists (V3-DKcYh)"),
        ),
        case(
            "a viewer may not add v2 users",
            Given::Human,
            calling(move |s| Call::AddHumanUserV2(v2_human(&new_name(s), "Grace", "Hopper"))),
            denied(),
        )
        .by(Caller::Viewer),
        // GetUserByID
        case(
            "a v1 human reads back in v2's shape",
            Given::Human,
            by_id(v2_get),
            ok(&[
                ("/user/userId", Want::Set),
                ("/user/state", Want::Is(json!("USER_STATE_INITIAL"))),
                ("/user/human/profile/givenName", Want::Is(json!("Ada"))),
                ("/user/human/profile/familyName", Want::Is(json!("Lovelace"))),
                ("/user/human/profile/displayName", Want::Is(json!("Ada Lovelace"))),
                ("/user/human/email/email", Want::Is(json!("ada@example.com"))),
                ("/user/details/sequence", Want::Is(json!("1"))),
                ("/user/details/resourceOwner", Want::Set),
                ("/details/sequence", Want::Is(json!("1"))),
                ("/details/creationDate", Want::Timestamp),
                ("/user/machine", Want::Absent),
            ]),
        ),
        case(
            "a machine reads back as a machine",
            Given::Machine,
            by_id(v2_get),
            ok(&[("/user/machine/name", Want::Is(json!("Machine"))), ("/user/human", Want::Absent)]),
        ),
        case("an unknown user", Given::Human, calling(|_| v2_get("404404404".into())), query_not_found()),
        case("a removed user", Given::Removed, by_id(v2_get), query_not_found()),
        case(
            "the instance owner finds a user of another org without the header",
            Given::Human,
            calling(move |_| v2_get(foreign.clone())),
            ok(&[("/user/human/profile/givenName", Want::Is(json!("Ada")))]),
        ),
        case(
            "an org viewer does not see a user of another org",
            Given::Human,
            calling(move |_| v2_get(foreign_too.clone())),
            query_not_found(),
        )
        .by(Caller::Viewer),
        case("a viewer reads", Given::Human, by_id(v2_get), ok(&[("/user/userId", Want::Set)])).by(Caller::Viewer),
        case("a member of nothing reads nothing", Given::Human, by_id(v2_get), membership()).by(Caller::Loner),
        case("no token", Given::Human, by_id(v2_get), Expect::Error(16, "auth header missing")).by(Caller::Missing),
        // UpdateHumanUser
        case(
            "a v2 change is the user's next event",
            Given::Human,
            calling(|s| Call::UpdateHumanUserV2(v2_update(&s.id, "Grace", "Hopper"))),
            ok(&[("/details/sequence", Want::Is(json!("2"))), ("/details/changeDate", Want::Timestamp)]),
        ),
        case(
            "an update that changes nothing succeeds with the current details",
            Given::Changed("Grace"),
            calling(|s| Call::UpdateHumanUserV2(v2_update(&s.id, "Grace", "Lovelace"))),
            ok(&[("/details/sequence", Want::Is(json!("2"))), ("/details/changeDate", Want::Timestamp)]),
        ),
        case(
            "a machine has no human profile",
            Given::Machine,
            calling(|s| Call::UpdateHumanUserV2(v2_update(&s.id, "Grace", "Hopper"))),
            Expect::Error(9, "The User must be personal (QUERY-WLTce)"),
        ),
        case(
            "updating an unknown user",
            Given::Human,
            calling(|_| Call::UpdateHumanUserV2(v2_update("404404404", "Grace", "Hopper"))),
            command_not_found(),
        ),
        case(
            "an empty given name on update, in v2's words",
            Given::Human,
            calling(|s| Call::UpdateHumanUserV2(v2_update(&s.id, "", "Hopper"))),
            invalid(given_name_rule("UpdateHumanUserRequest")),
        ),
        case(
            "a password change is refused, not dropped",
            Given::Human,
            calling(|s| {
                let mut request = v2_update(&s.id, "Grace", "Hopper");
                request.password = Some(v2::SetPassword::default());
                Call::UpdateHumanUserV2(request)
            }),
            Expect::Error(3, "password is not supported by Persona; leave it empty (PERSONA-IMP01)"),
        ),
        case(
            "a viewer may not update",
            Given::Human,
            calling(|s| Call::UpdateHumanUserV2(v2_update(&s.id, "Eve", "Intruder"))),
            denied(),
        )
        .by(Caller::Viewer),
        case(
            "permission comes before validation on v2 too",
            Given::Human,
            calling(|s| Call::UpdateHumanUserV2(v2_update(&s.id, "", ""))),
            denied(),
        )
        .by(Caller::Viewer),
        // UpdateUser
        case(
            "a partial update answers its change date",
            Given::Human,
            calling(|s| Call::UpdateUserV2(v2_nick(&s.id, "Countess"))),
            ok(&[("/changeDate", Want::Timestamp), ("/emailCode", Want::Absent)]),
        ),
        case(
            "a machine's part for a human",
            Given::Human,
            calling(|s| {
                Call::UpdateUserV2(v2::UpdateUserRequest {
                    user_id: s.id.clone(),
                    username: None,
                    user_type: Some(v2::update_user_request::UserType::Machine(v2::update_user_request::Machine {
                        name: Some("Bot".to_owned()),
                        description: None,
                    })),
                })
            }),
            Expect::Error(9, "The User must be a machine (PERSONA-USR02)"),
        ),
        case(
            "a human's part for a machine",
            Given::Machine,
            calling(|s| Call::UpdateUserV2(v2_nick(&s.id, "Countess"))),
            Expect::Error(9, "The User must be personal (QUERY-WLTce)"),
        ),
        case(
            "a user name taken by another user",
            Given::Human,
            calling(|s| {
                Call::UpdateUserV2(v2::UpdateUserRequest {
                    user_id: s.id.clone(),
                    // The scene's viewer is a machine user of the same org.
                    username: Some("VIEWER".to_owned()),
                    user_type: None,
                })
            }),
            Expect::Error(6, "User already exists (V3-DKcYh)"),
        ),
        case(
            "updating a removed user",
            Given::Removed,
            calling(|s| Call::UpdateUserV2(v2_nick(&s.id, "Countess"))),
            command_not_found(),
        ),
        // DeleteUser
        case(
            "a deletion is the user's next event",
            Given::Human,
            by_id(v2_delete),
            ok(&[("/details/sequence", Want::Is(json!("2"))), ("/details/changeDate", Want::Timestamp)]),
        ),
        case("deleting an unknown user", Given::Human, calling(|_| v2_delete("404404404".into())), command_not_found()),
        case("deleting a deleted user", Given::Removed, by_id(v2_delete), command_not_found()),
        case("a viewer may not delete", Given::Human, by_id(v2_delete), denied()).by(Caller::Viewer),
        // ListUsers
        case(
            "the users of these ids",
            Given::Human,
            calling(|s| Call::ListUsersV2(v2_list_ids(&[&s.id, "404404404"]))),
            ok(&[
                ("/details/totalResult", Want::Is(json!("1"))),
                ("/details/timestamp", Want::Timestamp),
                ("/result/0/userId", Want::Set),
                ("/result/1", Want::Absent),
            ]),
        ),
        case(
            "an org viewer lists no user of another org",
            Given::Human,
            calling({
                let foreign = scene.foreign_user.clone();
                move |_| Call::ListUsersV2(v2_list_ids(&[&foreign]))
            }),
            ok(&[("/details/totalResult", Want::Absent), ("/result", Want::Absent)]),
        )
        .by(Caller::Viewer),
        case(
            "a page over 1000",
            Given::Human,
            calling(|_| {
                Call::ListUsersV2(v2::ListUsersRequest {
                    query: Some(ListQuery { offset: 0, limit: 1001, asc: true }),
                    ..Default::default()
                })
            }),
            Expect::Error(3, "A page holds at most 1000 results (PERSONA-QRY01)"),
        ),
        case(
            "a member of nothing lists nothing",
            Given::Human,
            calling(|_| Call::ListUsersV2(v2::ListUsersRequest::default())),
            membership(),
        )
        .by(Caller::Loner),
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
async fn every_v2_rpc_behaves_identically_over_every_protocol() {
    let server = Server::start().await;
    let scene = scene(&server).await;
    run_table(&server, &scene, &v2_cases(&scene)).await;
}

/// What a call answered, whole, for comparing protocols: the outcome without what differs by
/// nature (REST's and Connect's error bodies are their own JSON; gRPC has none), and without
/// the list's timestamp (the time of the call).
fn comparable(outcome: &Outcome) -> (i32, String, Option<String>, Option<String>, Vec<String>, Value) {
    let mut body = if outcome.code == 0 { outcome.body.clone() } else { Value::Null };
    if let Some(details) = body.get_mut("details").and_then(Value::as_object_mut) {
        details.remove("timestamp");
    }
    (
        outcome.code,
        outcome.message.clone(),
        outcome.detail_id.clone(),
        outcome.detail_message.clone(),
        outcome.violations.clone(),
        body,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_answers_are_the_same_whole_body_over_every_protocol() {
    let server = Server::start().await;
    let scene = scene(&server).await;
    let admin = [("authorization", scene.admin.as_str())];
    // A user with every part v2 reads: names, nick, display, language, gender, a verified email,
    // a phone; a v1 machine beside it.
    let mut request = v2_human("whole", "Ada", "Lovelace");
    if let Some(profile) = &mut request.profile {
        profile.nick_name = Some("Countess".to_owned());
        profile.display_name = Some("Ada, Countess of Lovelace".to_owned());
        profile.preferred_language = Some("en".to_owned());
        profile.gender = Some(v2::Gender::Female as i32);
    }
    request.email = Some(v2::SetHumanEmail {
        email: "ada@example.com".to_owned(),
        verification: Some(v2::set_human_email::Verification::IsVerified(true)),
    });
    request.phone = Some(v2::SetHumanPhone { phone: "+41 79 555 01 00".to_owned(), verification: None });
    let created = invoke(&server, Protocol::Rest, &Call::AddHumanUserV2(request), &admin).await.outcome;
    let id = created.ok()["userId"].as_str().expect("id").to_owned();
    let machine = as_admin(
        &server,
        Call::AddMachineUser(pb::AddMachineUserRequest {
            user_name: "whole-bot".to_owned(),
            name: "Bot".to_owned(),
            description: "beside".to_owned(),
            ..Default::default()
        }),
    )
    .await["userId"]
        .as_str()
        .expect("id")
        .to_owned();
    // And one with nothing beyond v1's required fields: no nick name, no language, no phone.
    let plain = add_human(&server, None, "plain", ADA).await;
    let both = v2::ListUsersRequest {
        sorting_column: v2::UserFieldName::UserName as i32,
        query: Some(ListQuery { offset: 0, limit: 10, asc: true }),
        ..v2_list_ids(&[&id, &machine])
    };
    // Two validation errors at once: both are named, in the same order, everywhere.
    let mut two_errors = v2_update(&id, "", "");
    if let Some(profile) = &mut two_errors.profile {
        profile.nick_name = Some("n".repeat(201));
    }
    let calls = [
        ("read", v2_get(id.clone()), &admin[..]),
        ("read a machine", v2_get(machine.clone()), &admin[..]),
        ("read a plain human", v2_get(plain.clone()), &admin[..]),
        ("list both", Call::ListUsersV2(both), &admin[..]),
        ("a no-op update", Call::UpdateHumanUserV2(v2_update(&id, "Ada", "Lovelace")), &admin[..]),
        ("a no-op patch", Call::UpdateUserV2(v2_nick(&id, "Countess")), &admin[..]),
        ("several violations", Call::UpdateHumanUserV2(two_errors), &admin[..]),
        ("unknown", v2_delete("404404404".to_owned()), &admin[..]),
        ("no token", v2_get(id.clone()), &[][..]),
    ];
    for (case, call, metadata) in &calls {
        let rest = comparable(&invoke(&server, Protocol::Rest, call, metadata).await.outcome);
        for protocol in PROTOCOLS {
            let answer = comparable(&invoke(&server, protocol, call, metadata).await.outcome);
            assert_eq!(answer, rest, "{case}: {protocol:?} answers as REST does");
        }
        if *case == "read" {
            let user = &rest.5["user"];
            assert_eq!(user["human"]["profile"]["gender"], "GENDER_FEMALE", "{user}");
            assert_eq!(user["human"]["email"], json!({"email": "ada@example.com", "isVerified": true}));
            assert_eq!(user["human"]["phone"]["phone"], "+41795550100", "{user}");
            assert_eq!(user["loginNames"], json!(["whole"]), "{user}");
        }
        if *case == "list both" {
            let names: Vec<&Value> =
                rest.5["result"].as_array().expect("result").iter().map(|u| &u["username"]).collect();
            assert_eq!(names, [&json!("whole"), &json!("whole-bot")]);
        }
        if *case == "several violations" {
            assert_eq!(rest.4.len(), 3, "every violated field is named: {rest:?}");
        }
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
