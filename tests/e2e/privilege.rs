//! No way up (issue 10): for every role as caller (each `ORG_*` and `IAM_*`, and none) and every
//! role as target, each of `AddPersonalAccessToken`, `RemoveUser`, `AddOrgMember` (granting each
//! role) and `UpdateHumanProfile`, and v2's `DeleteUser`, `UpdateHumanUser` and `UpdateUser`,
//! over all five protocols. A caller may act on another user's credentials, memberships or
//! existence only if it holds every permission that user holds, in the same scope, and may
//! grant only what it holds; profile updates (v1 or v2) follow the contract alone. The
//! expected answers come from the contract's role table written out here, not from the server's
//! code. The instance's last `IAM_OWNER` cannot be removed, and `persona admin token` recovers an
//! instance on SQLite and PostgreSQL.

use crate::calls::{Call, PROTOCOLS, Rpc, Target, invoke};
use crate::harness::{ADA, Launch, PgSchema, Server, add_human, add_machine, machine_bearer, open_store};
use serde_json::json;
use std::collections::BTreeSet;

const ROLES: [&str; 7] = [
    "IAM_OWNER",
    "IAM_ORG_MANAGER",
    "IAM_USER_MANAGER",
    "IAM_OWNER_VIEWER",
    "ORG_OWNER",
    "ORG_USER_MANAGER",
    "ORG_OWNER_VIEWER",
];

/// CONTRACT section 5, the role-to-permission table.
fn permissions(role: &str) -> BTreeSet<&'static str> {
    let all = ["org.read", "org.create", "org.member.write", "user.read", "user.write", "user.delete"];
    let granted: &[&str] = match role {
        "IAM_OWNER" | "IAM_ORG_MANAGER" => &all,
        "IAM_USER_MANAGER" | "ORG_USER_MANAGER" => &["org.read", "user.read", "user.write", "user.delete"],
        "IAM_OWNER_VIEWER" | "ORG_OWNER_VIEWER" => &["org.read", "user.read"],
        "ORG_OWNER" => &["org.read", "org.member.write", "user.read", "user.write", "user.delete"],
        other => panic!("unknown role {other}"),
    };
    granted.iter().copied().collect()
}

fn instance_wide(role: &str) -> bool {
    role.starts_with("IAM_")
}

/// Whether a caller holding `caller` (in the one org every user here lives in, or instance-wide)
/// holds every permission of `role` in the scope `role` applies to.
fn holds_all_of(caller: &str, role: &str) -> bool {
    let scope_ok = instance_wide(caller) || !instance_wide(role);
    scope_ok && permissions(caller).is_superset(&permissions(role))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Token,
    Remove,
    Grant(&'static str),
    UpdateProfile,
    /// v2 `DeleteUser`: the same rule as `RemoveUser`.
    DeleteV2,
    /// v2 `UpdateHumanUser` of the profile.
    UpdateHumanV2,
    /// v2 `UpdateUser` of the profile.
    UpdateUserV2,
}

impl Op {
    fn rpc(self) -> Rpc {
        match self {
            Self::Token => Rpc::AddPersonalAccessToken,
            Self::Remove => Rpc::RemoveUser,
            Self::Grant(_) => Rpc::AddOrgMember,
            Self::UpdateProfile => Rpc::UpdateHumanProfile,
            Self::DeleteV2 => Rpc::DeleteUserV2,
            Self::UpdateHumanV2 => Rpc::UpdateHumanUserV2,
            Self::UpdateUserV2 => Rpc::UpdateUserV2,
        }
    }

    /// Whether success changes the target so that it cannot serve the next case (a second
    /// identical v1 profile update would be "not changed"; v2's is a no-op that succeeds).
    fn consumes(self) -> bool {
        !matches!(self, Self::Token | Self::UpdateHumanV2 | Self::UpdateUserV2)
    }
}

const MEMBERSHIP: (i32, &str) = (5, "membership not found (AUTHZ-cdgFk)");
const DENIED: (i32, &str) = (7, "No matching permissions found (AUTH-5mWD2)");
const OK: (i32, &str) = (0, "");

/// What the rule gives `caller` doing `op` to a user holding `target`.
fn expected(op: Op, caller: Option<&str>, target: Option<&str>) -> (i32, &'static str) {
    let Some(caller) = caller else { return MEMBERSHIP };
    let needed = match op {
        Op::Token | Op::UpdateProfile | Op::UpdateHumanV2 | Op::UpdateUserV2 => "user.write",
        Op::Remove | Op::DeleteV2 => "user.delete",
        Op::Grant(_) => "org.member.write",
    };
    if !permissions(caller).contains(needed) {
        return DENIED;
    }
    match op {
        // Humans cannot hold instance roles, so an instance-role target is a machine user.
        Op::UpdateProfile if target.is_some_and(instance_wide) => return (9, "Profile not found (COMMAND-3M9sd)"),
        // v2 finds the machine and refuses a human's profile for it.
        Op::UpdateHumanV2 | Op::UpdateUserV2 if target.is_some_and(instance_wide) => {
            return (9, "The User must be personal (QUERY-WLTce)");
        }
        Op::UpdateProfile | Op::UpdateHumanV2 | Op::UpdateUserV2 => return OK,
        Op::Grant(role) if instance_wide(role) => return (3, "Member roles are invalid (ORG-4N8es)"),
        _ => {}
    }
    if !target.is_none_or(|target| holds_all_of(caller, target)) {
        return DENIED;
    }
    if let Op::Grant(role) = op {
        if !holds_all_of(caller, role) {
            return DENIED;
        }
        if target.is_some_and(|target| !instance_wide(target)) {
            return (6, "Member already exists (ORG-poWwe)");
        }
    }
    OK
}

/// Users holding each role (or none) to act on, made by the instance owner; a target that a
/// case changed (removed, granted a role) is replaced by a fresh one.
struct Targets {
    org: String,
    made: usize,
}

impl Targets {
    async fn make(&mut self, server: &Server, role: Option<&str>) -> Target {
        self.made += 1;
        let name = format!("target-{}", self.made);
        let target =
            |human: String, machine: String| Target { org: self.org.clone(), human, machine, roles: Vec::new() };
        if let Some(role) = role.filter(|role| instance_wide(role)) {
            // Only machine users can hold instance roles: the machine stands in for the human.
            let (id, _) = server.instance_user(&name, role).await;
            return target(id.clone(), id);
        }
        let roles: Vec<&str> = role.into_iter().collect();
        let machine = add_machine(server, &name, &roles, json!({})).await.0;
        let human = add_human(server, None, &format!("{name}-h"), ADA).await;
        if let Some(role) = role {
            let admin = server.admin();
            let body = json!({"userId": human, "roles": [role]});
            let headers = [("authorization", admin.as_str())];
            server.rest("POST", "/management/v1/orgs/me/members", &headers, Some(body)).await.2.ok();
        }
        target(human, machine)
    }
}

/// The bootstrap admin's user id: the editor of a change its token makes.
async fn admin_id(server: &Server) -> String {
    let admin = server.admin();
    let headers = [("authorization", admin.as_str())];
    let id = add_human(server, None, "probe", ADA).await;
    let body = json!({"firstName": "Probe", "lastName": "Probe", "displayName": "Probe"});
    server.rest("PUT", &format!("/management/v1/users/{id}/profile"), &headers, Some(body)).await.2.ok();
    let (_, _, changes) =
        server.rest("POST", &format!("/management/v1/users/{id}/changes/_search"), &headers, Some(json!({}))).await;
    changes.ok()["result"][0]["editorId"].as_str().expect("editor").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_role_reaches_a_permission_it_does_not_hold() {
    let server = Server::start().await;
    let admin = server.admin();
    let (_, _, org) = server.rest("GET", "/management/v1/orgs/me", &[("authorization", admin.as_str())], None).await;
    let org = org.ok()["org"]["id"].as_str().expect("org").to_owned();

    let mut callers: Vec<(Option<&str>, String)> = Vec::new();
    for role in ROLES {
        let bearer = if instance_wide(role) {
            server.instance_user(&format!("caller-{role}").to_lowercase(), role).await.1
        } else {
            machine_bearer(&server, &format!("caller-{role}").to_lowercase(), &[role]).await
        };
        callers.push((Some(role), bearer));
    }
    callers.push((None, machine_bearer(&server, "caller-none", &[]).await));

    let targets_roles: Vec<Option<&str>> = ROLES.iter().copied().map(Some).chain([None]).collect();
    let mut ops = vec![Op::Token, Op::Remove, Op::UpdateProfile, Op::DeleteV2, Op::UpdateHumanV2, Op::UpdateUserV2];
    ops.extend(ROLES.iter().map(|role| Op::Grant(role)));

    let mut targets = Targets { org, made: 0 };
    let mut calls = 0;
    let mut rotated = 0;
    for (round, protocol) in PROTOCOLS.into_iter().enumerate() {
        for (t, &target_role) in targets_roles.iter().enumerate() {
            let mut target = targets.make(&server, target_role).await;
            for (c, (caller_role, bearer)) in callers.iter().enumerate() {
                for &op in &ops {
                    // v2's DeleteUser follows RemoveUser's rule and a success costs a new target
                    // (an instance-role one is a CLI run): each (caller, target) cell is checked
                    // over one protocol, rotating, so every protocol serves a fifth of the cells.
                    if op == Op::DeleteV2 && (t + c) % PROTOCOLS.len() != round {
                        rotated += 1;
                        continue;
                    }
                    if let Op::Grant(role) = op {
                        target.roles = vec![role.to_owned()];
                    }
                    let metadata = [("authorization", bearer.as_str())];
                    let unique = format!("{protocol:?}-{calls}");
                    let call = Call::aimed_at(op.rpc(), &target, &unique);
                    let outcome = invoke(&server, protocol, &call, &metadata).await.outcome;
                    let want = expected(op, *caller_role, target_role);
                    let case = format!("{protocol:?}: {caller_role:?} does {op:?} to {target_role:?}");
                    assert_eq!((outcome.code, outcome.message.as_str()), want, "{case}: {outcome:?}");
                    calls += 1;
                    if want.0 == 0 && op.consumes() {
                        target = targets.make(&server, target_role).await;
                    }
                }
            }
        }
    }
    assert_eq!(calls + rotated, PROTOCOLS.len() * targets_roles.len() * callers.len() * ops.len());
    assert_eq!(rotated, (PROTOCOLS.len() - 1) * targets_roles.len() * callers.len(), "DeleteUser once per cell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_minted_for_a_more_powerful_user_is_refused_and_grants_nothing() {
    // The attack of issue 10: an org user manager mints a token for the bootstrap admin.
    let server = Server::start().await;
    let manager = machine_bearer(&server, "manager", &["ORG_USER_MANAGER"]).await;
    let admin_id = admin_id(&server).await;
    let headers = [("authorization", manager.as_str())];
    let (status, _, outcome) =
        server.rest("POST", &format!("/management/v1/users/{admin_id}/pats"), &headers, Some(json!({}))).await;
    assert_eq!((status, outcome.message.as_str()), (403, DENIED.1));
    let (status, _, outcome) = server.rest("POST", "/management/v1/orgs", &headers, Some(json!({"name": "X"}))).await;
    assert_eq!((status, outcome.code), (403, 7), "the manager still cannot create orgs");
}

/// The last `IAM_OWNER` stays, and `persona admin token` makes a new one while the server runs.
async fn the_instance_keeps_an_owner_and_can_be_recovered(server: Server) {
    let admin = server.admin();
    let admin_id = admin_id(&server).await;
    let headers = [("authorization", admin.as_str())];
    let (status, _, outcome) = server.rest("DELETE", &format!("/management/v1/users/{admin_id}"), &headers, None).await;
    assert_eq!((status, outcome.code), (400, 9), "{outcome:?}");
    assert_eq!(outcome.detail_id.as_deref(), Some("PERSONA-OWN01"));
    let (status, _, outcome) = server.rest("DELETE", &format!("/v2/users/{admin_id}"), &headers, None).await;
    assert_eq!((status, outcome.code, outcome.detail_id.as_deref()), (400, 9, Some("PERSONA-OWN01")), "v2 too");

    let (_, recovered) = server.instance_user("ops", "IAM_OWNER").await;
    let (_, _, org) =
        server.rest("POST", "/management/v1/orgs", &[("authorization", &recovered)], Some(json!({"name": "R"}))).await;
    org.ok();
    let (status, _, _) = server
        .rest("DELETE", &format!("/management/v1/users/{admin_id}"), &[("authorization", &recovered)], None)
        .await;
    assert_eq!(status, 200, "with a second owner the first may go");
    let (status, _, gone) = server.rest("GET", "/management/v1/orgs/me", &headers, None).await;
    assert_eq!((status, gone.code), (401, 16), "the removed admin's token stopped working");

    // The recovery is an event like any other, and its file is private.
    let output = server.cli(&["admin", "token", "--user-name", "ops-2"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let file = server.dir.path().join("ops-2.pat");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("token file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = std::fs::read_to_string(&file).expect("token file");
    let bearer = format!("Bearer {}", token.trim());
    let (status, _, _) = server.rest("GET", "/management/v1/orgs/me", &[("authorization", &bearer)], None).await;
    assert_eq!(status, 200);
    let again = server.cli(&["admin", "token", "--user-name", "ops-3", "--out", file.to_str().expect("path")]).await;
    assert!(!again.status.success(), "an existing file is never overwritten");
    assert_eq!(std::fs::read_to_string(&file).expect("token file"), token);
    let events = open_store(&server.database_url()).await;
    let instance = persona_domain::ports::Store::instance(&events).await.expect("read").expect("instance");
    // instance.added, the admin, ops, the admin's removal, ops-2.
    assert_eq!(instance.sequence, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_stays_and_the_operator_recovers_on_sqlite() {
    the_instance_keeps_an_owner_and_can_be_recovered(Server::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_stays_and_the_operator_recovers_on_postgres() {
    let Some(schema) = PgSchema::create("recovery") else { return };
    let server = Server::launch(Launch { database_url: Some(schema.url()), ..Launch::default() }).await;
    the_instance_keeps_an_owner_and_can_be_recovered(server).await;
}
