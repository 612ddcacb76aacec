//! Tenant isolation: every RPC of CONTRACT sections 2 and 7 (v1 and v2), called by users of
//! org A holding each org role (and none), aimed at org B's objects, with and without
//! `x-zitadel-orgid: B`, over all five protocols. None of them may read or change B's data, and
//! each answers the code and message the contract gives; v2's `ListUsers` answers, but lists
//! none of B's users; v2's `AddHumanUser` naming B in `organization` is refused as the header
//! is. The instance owner (the positive control) does reach B, so the denials are not an
//! accident of the set-up.

use crate::calls::{Call, PROTOCOLS, Protocol, RPCS, Rpc, Target, intruder, intruder_v2, invoke};
use crate::harness::{Outcome, Server, machine_bearer};
use persona_api_grpc::pb::zitadel::object::v2::{Organization, organization::Org};
use serde_json::{Value, json};

/// Makes the matrix's call of `rpc` aimed at `target` over `protocol` with `metadata`.
async fn call(
    server: &Server,
    protocol: Protocol,
    rpc: Rpc,
    target: &Target,
    metadata: &[(&str, &str)],
    unique: &str,
) -> Outcome {
    invoke(server, protocol, &Call::aimed_at(rpc, target, unique), metadata).await.outcome
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
        // v2 authorises in A first (every role here may read users), then finds B's user
        // anywhere and needs the permission in B: B's users look unknown.
        Rpc::GetUserByIdV2 => (5, "User could not be found (QUERY-HNhb3)"),
        Rpc::UpdateHumanUserV2 | Rpc::UpdateUserV2 | Rpc::DeleteUserV2 => {
            allowed(writer, (5, "User could not be found (COMMAND-m9od)"))
        }
        Rpc::AddHumanUserV2 => allowed(writer, OK),
        // It lists A's users only (checked by the caller of this function).
        Rpc::ListUsersV2 => OK,
    }
}

/// v2 `AddHumanUser` of a new Eve in `org` (an id or a domain).
fn add_v2_in(org: Org, user_name: &str) -> Call {
    let mut request = intruder_v2(user_name);
    request.organization = Some(Organization { org: Some(org) });
    Call::AddHumanUserV2(request)
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
    let human = invoke(&server, Protocol::Rest, &Call::AddHumanUser(intruder("victim")), &in_b).await.outcome;
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
    for protocol in PROTOCOLS {
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
                        Rpc::AddHumanUser | Rpc::ImportHumanUser | Rpc::AddMachineUser | Rpc::AddHumanUserV2 => {
                            assert_eq!(body["details"]["resourceOwner"], json!(org_a), "{case}");
                        }
                        Rpc::ListUsersV2 => {
                            let listed = body["result"].as_array().expect("a list");
                            // The caller itself is a user of A it may read.
                            assert!(!listed.is_empty(), "{case}: A's users are listed");
                            for user in listed {
                                assert_eq!(user["details"]["resourceOwner"], json!(org_a), "{case}: {user}");
                                assert!(
                                    user["userId"] != json!(target.human) && user["userId"] != json!(target.machine),
                                    "{case}: {user}"
                                );
                            }
                            let total = body["details"]["totalResult"].as_str().and_then(|t| t.parse().ok());
                            assert_eq!(total, Some(listed.len()), "{case}: the total counts A's users alone");
                        }
                        Rpc::GetMyOrg => assert_eq!(body["org"]["id"], json!(org_a), "{case}"),
                        Rpc::Healthz => assert_eq!(body, &json!({}), "{case}"),
                        other => panic!("{case}: {other:?} must not succeed on B's objects"),
                    }
                }
            }
        }
    }
    assert_eq!(calls, PROTOCOLS.len() * members.len() * 2 * RPCS.len());

    // v2's `organization` names the org as the header does, and wins over it: naming B (by id
    // or by its primary domain) acts in B; naming A with the header B acts in A.
    let (_, _, b) = server.rest("GET", "/management/v1/orgs/me", &in_b, None).await;
    let b_domain = b.ok()["org"]["primaryDomain"].as_str().expect("B's primary domain").to_owned();
    for (round, protocol) in PROTOCOLS.into_iter().enumerate() {
        for (m, caller) in members.iter().enumerate() {
            let own = [("authorization", caller.authorization.as_str())];
            let header_b = [("authorization", caller.authorization.as_str()), ("x-zitadel-orgid", org_b.as_str())];
            let unique = format!("org-{round}-{m}");
            let cases = [
                (add_v2_in(Org::OrgId(org_b.clone()), &format!("{unique}-id")), &own[..], true),
                (add_v2_in(Org::OrgDomain(b_domain.clone()), &format!("{unique}-domain")), &own[..], true),
                (add_v2_in(Org::OrgId(org_a.clone()), &format!("{unique}-wins")), &header_b[..], false),
            ];
            for (n, (call, metadata, in_b)) in cases.iter().enumerate() {
                let outcome = invoke(&server, protocol, call, metadata).await.outcome;
                let want = expected(Rpc::AddHumanUserV2, caller.roles, *in_b);
                let case = format!("{protocol:?} {:?} organization case {n}", caller.roles);
                assert_eq!((outcome.code, outcome.message.as_str()), want, "{case}: {outcome:?}");
                if want.0 == 0 {
                    assert_eq!(outcome.body["details"]["resourceOwner"], json!(org_a), "{case}");
                }
            }
        }
    }
    assert_eq!(snapshot(&server, &target).await, before, "B's data is unchanged");
    let (_, _, b_after) = server.rest("GET", "/management/v1/orgs/me", &in_b, None).await;
    assert_eq!(b_after.ok()["org"]["details"], b.ok()["org"]["details"], "B itself is unchanged");

    // The positive control: the instance owner does reach B's objects through the header, and
    // an org id from the header that does not exist is refused, not ignored.
    let outcome = call(&server, Protocol::Grpc, Rpc::GetHumanProfile, &target, &in_b, "control").await;
    assert_eq!(outcome.ok()["profile"]["firstName"], "Eve");
    let outcome = call(&server, Protocol::Rest, Rpc::GetHumanProfile, &target, &admin_headers, "control").await;
    assert_eq!(outcome.message, "User could not be found (QUERY-HNhb3)", "without the header the owner acts in A");
    let unknown = [("authorization", admin.as_str()), ("x-zitadel-orgid", "999999")];
    let outcome = call(&server, Protocol::GrpcWeb, Rpc::GetMyOrg, &target, &unknown, "control").await;
    assert_eq!((outcome.code, outcome.message.as_str()), (7, "Organisation doesn't exist (AUTH-Bs7Ds)"));
    // v2 finds B's user from A without the header, lists it, and creates in B when asked to.
    let outcome = call(&server, Protocol::ConnectJson, Rpc::GetUserByIdV2, &target, &admin_headers, "control").await;
    assert_eq!(outcome.ok()["user"]["human"]["profile"]["givenName"], "Eve");
    assert_eq!(outcome.body["user"]["details"]["resourceOwner"], json!(org_b));
    let outcome = call(&server, Protocol::ConnectProto, Rpc::ListUsersV2, &target, &admin_headers, "control").await;
    let listed: Vec<&Value> = outcome.ok()["result"].as_array().expect("a list").iter().map(|u| &u["userId"]).collect();
    assert!(listed.contains(&&json!(target.human)) && listed.contains(&&json!(target.machine)), "{listed:?}");
    let in_b_by_domain = add_v2_in(Org::OrgDomain(b_domain), "control-b");
    let outcome = invoke(&server, Protocol::Grpc, &in_b_by_domain, &admin_headers).await.outcome;
    assert_eq!(outcome.ok()["details"]["resourceOwner"], json!(org_b));
    let nowhere = add_v2_in(Org::OrgId("999999".to_owned()), "nowhere");
    let outcome = invoke(&server, Protocol::Rest, &nowhere, &admin_headers).await.outcome;
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
    let a_human = invoke(&server, Protocol::Rest, &Call::AddHumanUser(intruder("a-human")), &admin_headers).await;
    let a_human = a_human.outcome.ok()["userId"].as_str().expect("id").to_owned();
    let reverse = Target { org: org_a.clone(), human: a_human, machine: String::new(), roles: Vec::new() };
    for header in [None, Some(org_a.as_str())] {
        let mut metadata = vec![("authorization", b_owner.as_str())];
        if let Some(org) = header {
            metadata.push(("x-zitadel-orgid", org));
        }
        for (rpc, not_found) in [
            (Rpc::UpdateHumanProfile, (9, "Profile not found (COMMAND-3M9sd)")),
            (Rpc::UpdateUserV2, (5, "User could not be found (COMMAND-m9od)")),
            (Rpc::DeleteUserV2, (5, "User could not be found (COMMAND-m9od)")),
        ] {
            let outcome = call(&server, Protocol::Rest, rpc, &reverse, &metadata, "reverse").await;
            let expected = if header.is_some() { (5, "membership not found (AUTHZ-cdgFk)") } else { not_found };
            let case = format!("B's owner {rpc:?} on A's user, header={header:?}");
            assert_eq!((outcome.code, outcome.message.as_str()), expected, "{case}");
        }
    }
}
