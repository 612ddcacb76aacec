//! Tenant isolation: every RPC of CONTRACT section 2, called by users of org A holding each
//! org role (and none), aimed at org B's objects, with and without `x-zitadel-orgid: B`, over
//! REST, gRPC and gRPC-Web. None of them may read or change B's data, and each answers the code
//! and message the contract gives; the instance owner (the positive control) does reach B, so
//! the denials are not an accident of the set-up.

use crate::harness::{Outcome, Server, from_tonic, machine_bearer};
use persona_api_grpc::pb::zitadel::change::v1::ChangeQuery;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use serde_json::{Value, json};
use tonic::metadata::{MetadataKey, MetadataValue};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Protocol {
    Rest,
    Grpc,
    GrpcWeb,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rpc {
    UpdateHumanProfile,
    GetHumanProfile,
    AddHumanUser,
    ImportHumanUser,
    GetUserById,
    RemoveUser,
    ListUserChanges,
    AddMachineUser,
    AddPersonalAccessToken,
    AddOrg,
    GetMyOrg,
    AddOrgMember,
    Healthz,
}

pub(crate) const RPCS: [Rpc; 13] = [
    Rpc::UpdateHumanProfile,
    Rpc::GetHumanProfile,
    Rpc::AddHumanUser,
    Rpc::ImportHumanUser,
    Rpc::GetUserById,
    Rpc::RemoveUser,
    Rpc::ListUserChanges,
    Rpc::AddMachineUser,
    Rpc::AddPersonalAccessToken,
    Rpc::AddOrg,
    Rpc::GetMyOrg,
    Rpc::AddOrgMember,
    Rpc::Healthz,
];

/// The objects a call aims at: a human and a machine user of `org`, and the roles
/// `AddOrgMember` grants (to the human).
pub(crate) struct Target {
    pub(crate) org: String,
    pub(crate) human: String,
    pub(crate) machine: String,
    pub(crate) roles: Vec<String>,
}

/// One call's request, as every protocol sends it: REST method, path and body, and the
/// protobuf message for gRPC and gRPC-Web.
fn human_json(user_name: &str) -> Value {
    json!({"userName": user_name, "profile": {"firstName": "Eve", "lastName": "Intruder"}, "email": {"email": "eve@example.com"}})
}

fn human_profile() -> pb::add_human_user_request::Profile {
    pb::add_human_user_request::Profile {
        first_name: "Eve".to_owned(),
        last_name: "Intruder".to_owned(),
        ..Default::default()
    }
}

fn add_metadata<T>(request: &mut tonic::Request<T>, metadata: &[(&str, &str)]) {
    for (key, value) in metadata {
        let key = MetadataKey::from_bytes(key.as_bytes()).expect("metadata key");
        let value: MetadataValue<_> = value.parse().expect("ascii metadata");
        request.metadata_mut().insert(key, value);
    }
}

/// Calls `rpc` over `protocol` with `metadata`; `unique` makes created names distinct.
pub(crate) async fn call(
    server: &Server,
    protocol: Protocol,
    rpc: Rpc,
    target: &Target,
    metadata: &[(&str, &str)],
    unique: &str,
) -> Outcome {
    let (hb, mb) = (target.human.as_str(), target.machine.as_str());
    let user_name = format!("eve-{unique}-{rpc:?}").to_lowercase();
    if protocol == Protocol::Rest {
        let (method, path, body): (&str, String, Option<Value>) = match rpc {
            Rpc::UpdateHumanProfile => (
                "PUT",
                format!("/management/v1/users/{hb}/profile"),
                Some(json!({"firstName": "Eve", "lastName": "Intruder", "displayName": "pwned"})),
            ),
            Rpc::GetHumanProfile => ("GET", format!("/management/v1/users/{hb}/profile"), None),
            Rpc::AddHumanUser => ("POST", "/management/v1/users/human".to_owned(), Some(human_json(&user_name))),
            Rpc::ImportHumanUser => {
                ("POST", "/management/v1/users/human/_import".to_owned(), Some(human_json(&user_name)))
            }
            Rpc::GetUserById => ("GET", format!("/management/v1/users/{hb}"), None),
            Rpc::RemoveUser => ("DELETE", format!("/management/v1/users/{hb}"), None),
            Rpc::ListUserChanges => ("POST", format!("/management/v1/users/{hb}/changes/_search"), Some(json!({}))),
            Rpc::AddMachineUser => {
                ("POST", "/management/v1/users/machine".to_owned(), Some(json!({"userName": user_name, "name": "bot"})))
            }
            Rpc::AddPersonalAccessToken => ("POST", format!("/management/v1/users/{mb}/pats"), Some(json!({}))),
            Rpc::AddOrg => ("POST", "/management/v1/orgs".to_owned(), Some(json!({"name": format!("Evil {unique}")}))),
            Rpc::GetMyOrg => ("GET", "/management/v1/orgs/me".to_owned(), None),
            Rpc::AddOrgMember => (
                "POST",
                "/management/v1/orgs/me/members".to_owned(),
                Some(json!({"userId": hb, "roles": target.roles})),
            ),
            Rpc::Healthz => ("GET", "/management/v1/healthz".to_owned(), None),
        };
        return server.rest(method, &path, metadata, body).await.2;
    }
    macro_rules! grpc {
        ($method:ident, $name:literal, $response:ty, $request:expr) => {{
            let request = $request;
            if protocol == Protocol::Grpc {
                let mut client = server.grpc_client().await;
                let mut request = tonic::Request::new(request);
                add_metadata(&mut request, metadata);
                from_tonic(client.$method(request).await)
            } else {
                server.grpc_web::<$response>($name, &request, metadata).await
            }
        }};
    }
    match rpc {
        Rpc::UpdateHumanProfile => grpc!(
            update_human_profile,
            "UpdateHumanProfile",
            pb::UpdateHumanProfileResponse,
            pb::UpdateHumanProfileRequest {
                user_id: hb.to_owned(),
                first_name: "Eve".to_owned(),
                last_name: "Intruder".to_owned(),
                display_name: "pwned".to_owned(),
                ..Default::default()
            }
        ),
        Rpc::GetHumanProfile => grpc!(
            get_human_profile,
            "GetHumanProfile",
            pb::GetHumanProfileResponse,
            pb::GetHumanProfileRequest { user_id: hb.to_owned() }
        ),
        Rpc::AddHumanUser => grpc!(
            add_human_user,
            "AddHumanUser",
            pb::AddHumanUserResponse,
            pb::AddHumanUserRequest {
                user_name: user_name.clone(),
                profile: Some(human_profile()),
                email: Some(pb::add_human_user_request::Email {
                    email: "eve@example.com".to_owned(),
                    is_email_verified: false
                }),
                ..Default::default()
            }
        ),
        Rpc::ImportHumanUser => grpc!(
            import_human_user,
            "ImportHumanUser",
            pb::ImportHumanUserResponse,
            pb::ImportHumanUserRequest {
                user_name: user_name.clone(),
                profile: Some(pb::import_human_user_request::Profile {
                    first_name: "Eve".to_owned(),
                    last_name: "Intruder".to_owned(),
                    ..Default::default()
                }),
                email: Some(pb::import_human_user_request::Email {
                    email: "eve@example.com".to_owned(),
                    is_email_verified: false
                }),
                ..Default::default()
            }
        ),
        Rpc::GetUserById => {
            grpc!(get_user_by_id, "GetUserByID", pb::GetUserByIdResponse, pb::GetUserByIdRequest { id: hb.to_owned() })
        }
        Rpc::RemoveUser => {
            grpc!(remove_user, "RemoveUser", pb::RemoveUserResponse, pb::RemoveUserRequest { id: hb.to_owned() })
        }
        Rpc::ListUserChanges => grpc!(
            list_user_changes,
            "ListUserChanges",
            pb::ListUserChangesResponse,
            pb::ListUserChangesRequest { user_id: hb.to_owned(), query: Some(ChangeQuery::default()) }
        ),
        Rpc::AddMachineUser => grpc!(
            add_machine_user,
            "AddMachineUser",
            pb::AddMachineUserResponse,
            pb::AddMachineUserRequest { user_name: user_name.clone(), name: "bot".to_owned(), ..Default::default() }
        ),
        Rpc::AddPersonalAccessToken => grpc!(
            add_personal_access_token,
            "AddPersonalAccessToken",
            pb::AddPersonalAccessTokenResponse,
            pb::AddPersonalAccessTokenRequest { user_id: mb.to_owned(), expiration_date: None }
        ),
        Rpc::AddOrg => {
            grpc!(add_org, "AddOrg", pb::AddOrgResponse, pb::AddOrgRequest { name: format!("Evil {unique}") })
        }
        Rpc::GetMyOrg => grpc!(get_my_org, "GetMyOrg", pb::GetMyOrgResponse, pb::GetMyOrgRequest {}),
        Rpc::AddOrgMember => grpc!(
            add_org_member,
            "AddOrgMember",
            pb::AddOrgMemberResponse,
            pb::AddOrgMemberRequest { user_id: hb.to_owned(), roles: target.roles.clone() }
        ),
        Rpc::Healthz => grpc!(healthz, "Healthz", pb::HealthzResponse, pb::HealthzRequest {}),
    }
}

/// A caller of org A: its roles there (none: a member of nothing).
struct Member {
    roles: &'static [&'static str],
    authorization: String,
}

async fn member(server: &Server, name: &str, roles: &'static [&'static str]) -> Member {
    Member { roles, authorization: machine_bearer(server, name, roles).await }
}

/// What the contract says a member of A with `roles` gets for `rpc` aimed at B.
fn expected(rpc: Rpc, roles: &[&str], with_header: bool) -> (i32, &'static str) {
    const MEMBERSHIP: (i32, &str) = (5, "membership not found (AUTHZ-cdgFk)");
    const DENIED: (i32, &str) = (7, "No matching permissions found (AUTH-5mWD2)");
    const OK: (i32, &str) = (0, "");
    if rpc == Rpc::Healthz {
        return OK;
    }
    if roles.is_empty() || with_header {
        // Acting in B, or a member of nothing: no membership there.
        return MEMBERSHIP;
    }
    let owner = roles.contains(&"ORG_OWNER");
    let writer = owner || roles.contains(&"ORG_USER_MANAGER");
    let allowed = |granted: bool, outcome: (i32, &'static str)| if granted { outcome } else { DENIED };
    match rpc {
        Rpc::UpdateHumanProfile => allowed(writer, (9, "Profile not found (COMMAND-3M9sd)")),
        Rpc::GetHumanProfile | Rpc::GetUserById | Rpc::ListUserChanges => (5, "User could not be found (QUERY-HNhb3)"),
        Rpc::RemoveUser | Rpc::AddPersonalAccessToken => allowed(writer, (5, "User could not be found (COMMAND-m9od)")),
        // Creating acts in the caller's own org A, which is not B's data.
        Rpc::AddHumanUser | Rpc::ImportHumanUser | Rpc::AddMachineUser => allowed(writer, OK),
        Rpc::AddOrg => DENIED,
        Rpc::GetMyOrg => OK,
        Rpc::AddOrgMember => allowed(owner, (5, "User could not be found (ORG-GoXOn)")),
        Rpc::Healthz => OK,
    }
}

/// B's objects as the instance owner reads them in B: (human profile JSON, human sequence,
/// machine sequence, B's org sequence).
async fn snapshot(server: &Server, target: &Target) -> (Value, Value, Value, Value) {
    let admin = server.admin();
    let headers = [("authorization", admin.as_str()), ("x-zitadel-orgid", target.org.as_str())];
    let (_, _, human) = server.rest("GET", &format!("/management/v1/users/{}", target.human), &headers, None).await;
    let (_, _, machine) = server.rest("GET", &format!("/management/v1/users/{}", target.machine), &headers, None).await;
    let (_, _, org) = server.rest("GET", "/management/v1/orgs/me", &headers, None).await;
    (
        human.ok()["user"]["human"]["profile"].clone(),
        human.ok()["user"]["details"]["sequence"].clone(),
        machine.ok()["user"]["details"]["sequence"].clone(),
        org.ok()["org"]["details"]["sequence"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_org_never_read_or_change_another_orgs_data() {
    let server = Server::start().await;
    let admin = server.admin();
    let admin_headers = [("authorization", admin.as_str())];
    let (_, _, own) = server.rest("GET", "/management/v1/orgs/me", &admin_headers, None).await;
    let org_a = own.ok()["org"]["id"].as_str().expect("org A").to_owned();
    let (_, _, created) = server.rest("POST", "/management/v1/orgs", &admin_headers, Some(json!({"name": "B"}))).await;
    let org_b = created.ok()["id"].as_str().expect("org B").to_owned();
    let in_b = [("authorization", admin.as_str()), ("x-zitadel-orgid", org_b.as_str())];
    let (_, _, human) = server.rest("POST", "/management/v1/users/human", &in_b, Some(human_json("victim"))).await;
    let (_, _, machine) = server
        .rest("POST", "/management/v1/users/machine", &in_b, Some(json!({"userName": "victim-bot", "name": "bot"})))
        .await;
    let target = Target {
        org: org_b.clone(),
        human: human.ok()["userId"].as_str().expect("id").to_owned(),
        machine: machine.ok()["userId"].as_str().expect("id").to_owned(),
        roles: vec!["ORG_OWNER".to_owned()],
    };
    let before = snapshot(&server, &target).await;

    let members = [
        member(&server, "a-owner", &["ORG_OWNER"]).await,
        member(&server, "a-user-manager", &["ORG_USER_MANAGER"]).await,
        member(&server, "a-viewer", &["ORG_OWNER_VIEWER"]).await,
        member(&server, "a-nobody", &[]).await,
    ];
    let mut calls = 0;
    for protocol in [Protocol::Rest, Protocol::Grpc, Protocol::GrpcWeb] {
        for (m, caller) in members.iter().enumerate() {
            for header in [None, Some(org_b.as_str())] {
                for rpc in RPCS {
                    let mut metadata = vec![("authorization", caller.authorization.as_str())];
                    if let Some(org) = header {
                        metadata.push(("x-zitadel-orgid", org));
                    }
                    let unique = format!("{protocol:?}-{m}-{}", header.is_some()).to_lowercase();
                    let outcome = call(&server, protocol, rpc, &target, &metadata, &unique).await;
                    let (code, message) = expected(rpc, caller.roles, header.is_some());
                    let case = format!("{protocol:?} {:?} header={} {rpc:?}", caller.roles, header.is_some());
                    assert_eq!((outcome.code, outcome.message.as_str()), (code, message), "{case}: {outcome:?}");
                    calls += 1;
                    if code != 0 {
                        continue;
                    }
                    // What succeeded stayed in A: created objects belong to A, the org read is A.
                    let body = &outcome.body;
                    match rpc {
                        Rpc::AddHumanUser | Rpc::ImportHumanUser | Rpc::AddMachineUser => {
                            assert_eq!(body["details"]["resourceOwner"], json!(org_a), "{case}");
                        }
                        Rpc::GetMyOrg => assert_eq!(body["org"]["id"], json!(org_a), "{case}"),
                        Rpc::Healthz => assert_eq!(body, &json!({}), "{case}"),
                        other => panic!("{case}: {other:?} must not succeed on B's objects"),
                    }
                }
            }
        }
    }
    assert_eq!(calls, 3 * 4 * 2 * RPCS.len());
    assert_eq!(snapshot(&server, &target).await, before, "B's data is unchanged");

    // The positive control: the instance owner does reach B's objects through the header, and
    // an org id from the header that does not exist is refused, not ignored.
    let outcome = call(&server, Protocol::Grpc, Rpc::GetHumanProfile, &target, &in_b, "control").await;
    assert_eq!(outcome.ok()["profile"]["firstName"], "Eve");
    let outcome = call(&server, Protocol::Rest, Rpc::GetHumanProfile, &target, &admin_headers, "control").await;
    assert_eq!(outcome.message, "User could not be found (QUERY-HNhb3)", "without the header the owner acts in A");
    let unknown = [("authorization", admin.as_str()), ("x-zitadel-orgid", "999999")];
    let outcome = call(&server, Protocol::GrpcWeb, Rpc::GetMyOrg, &target, &unknown, "control").await;
    assert_eq!((outcome.code, outcome.message.as_str()), (7, "Organisation doesn't exist (AUTH-Bs7Ds)"));

    // B's own members are just as confined to B: an owner of B cannot reach A's users.
    let b_owner = {
        let (_, _, created) = server
            .rest("POST", "/management/v1/users/machine", &in_b, Some(json!({"userName": "b-owner", "name": "b"})))
            .await;
        let id = created.ok()["userId"].as_str().expect("id").to_owned();
        server
            .rest("POST", "/management/v1/orgs/me/members", &in_b, Some(json!({"userId": id, "roles": ["ORG_OWNER"]})))
            .await
            .2
            .ok();
        let (_, _, pat) = server.rest("POST", &format!("/management/v1/users/{id}/pats"), &in_b, Some(json!({}))).await;
        format!("Bearer {}", pat.ok()["token"].as_str().expect("token"))
    };
    let (_, _, a_human) =
        server.rest("POST", "/management/v1/users/human", &admin_headers, Some(human_json("a-human"))).await;
    let a_human = a_human.ok()["userId"].as_str().expect("id").to_owned();
    let reverse = Target { org: org_a.clone(), human: a_human, machine: String::new(), roles: Vec::new() };
    for header in [None, Some(org_a.as_str())] {
        let mut metadata = vec![("authorization", b_owner.as_str())];
        if let Some(org) = header {
            metadata.push(("x-zitadel-orgid", org));
        }
        let outcome = call(&server, Protocol::Rest, Rpc::UpdateHumanProfile, &reverse, &metadata, "reverse").await;
        let expected = if header.is_some() {
            (5, "membership not found (AUTHZ-cdgFk)")
        } else {
            (9, "Profile not found (COMMAND-3M9sd)")
        };
        assert_eq!((outcome.code, outcome.message.as_str()), expected, "B's owner on A's user, header={header:?}");
    }
}
