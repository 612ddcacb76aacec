//! The order of checks (CONTRACT section 3, as ZITADEL's interceptors run them): authentication,
//! org and permission come before validation, on every RPC of v1 and v2 and every protocol, so
//! a caller without a token, without a membership or without the permission learns nothing
//! about its request. The positive control: the instance owner, allowed to make every one of
//! these calls, is told each request is invalid.

use crate::calls::{Call, PROTOCOLS, RPCS, Rpc, Target, invoke};
use crate::harness::{Server, machine_bearer};
use persona_api_grpc::pb::zitadel::object::v2::ListQuery;

/// `call` made invalid where [`Call::aimed_at`] cannot make it so through the target's ids: the
/// creations get a name one character too long (v2's an empty given name), v2's `ListUsers` a
/// page over the limit. `None` for the RPCs that take no input.
fn spoiled(call: Call) -> Option<Call> {
    let too_long = "n".repeat(201);
    Some(match call {
        Call::AddHumanUser(mut r) => {
            r.user_name = too_long;
            Call::AddHumanUser(r)
        }
        Call::ImportHumanUser(mut r) => {
            r.user_name = too_long;
            Call::ImportHumanUser(r)
        }
        Call::AddMachineUser(mut r) => {
            r.user_name = too_long;
            Call::AddMachineUser(r)
        }
        Call::AddOrg(mut r) => {
            r.name = too_long;
            Call::AddOrg(r)
        }
        Call::AddHumanUserV2(mut r) => {
            if let Some(profile) = &mut r.profile {
                profile.given_name.clear();
            }
            Call::AddHumanUserV2(r)
        }
        Call::ListUsersV2(mut r) => {
            r.query = Some(ListQuery { offset: 0, limit: 1001, asc: false });
            Call::ListUsersV2(r)
        }
        Call::GetMyOrg | Call::Healthz => return None,
        other => other,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_and_unauthorised_callers_are_refused_before_validation() {
    let server = Server::start().await;
    let viewer = machine_bearer(&server, "viewer", &["ORG_OWNER_VIEWER"]).await;
    let loner = machine_bearer(&server, "loner", &[]).await;
    let admin = server.admin();
    // Every id is one character too long, and the granted role does not exist: each RPC would
    // answer InvalidArgument to a caller allowed to make it (the admin's calls prove it).
    let too_long = "1".repeat(201);
    let target = Target {
        org: String::new(),
        human: too_long.clone(),
        machine: too_long,
        roles: vec!["NO_SUCH_ROLE".to_owned()],
    };
    let mut checked = 0;
    for protocol in PROTOCOLS {
        for rpc in RPCS {
            let Some(call) = spoiled(Call::aimed_at(rpc, &target, "order")) else { continue };
            let outcome = invoke(&server, protocol, &call, &[("authorization", &admin)]).await.outcome;
            assert_eq!(outcome.code, 3, "{protocol:?} {rpc:?}: the request is invalid: {outcome:?}");

            let outcome = invoke(&server, protocol, &call, &[]).await.outcome;
            let case = format!("{protocol:?} {rpc:?} without a token");
            assert_eq!((outcome.code, outcome.message.as_str()), (16, "auth header missing"), "{case}");

            let outcome = invoke(&server, protocol, &call, &[("authorization", &loner)]).await.outcome;
            let case = format!("{protocol:?} {rpc:?} by a member of nothing");
            assert_eq!((outcome.code, outcome.message.as_str()), (5, "membership not found (AUTHZ-cdgFk)"), "{case}");
            checked += 1;

            let readonly = matches!(
                rpc,
                Rpc::GetHumanProfile | Rpc::GetUserById | Rpc::ListUserChanges | Rpc::GetUserByIdV2 | Rpc::ListUsersV2
            );
            if readonly {
                continue;
            }
            let outcome = invoke(&server, protocol, &call, &[("authorization", &viewer)]).await.outcome;
            let case = format!("{protocol:?} {rpc:?} by a viewer");
            assert_eq!(
                (outcome.code, outcome.message.as_str()),
                (7, "No matching permissions found (AUTH-5mWD2)"),
                "{case}"
            );
        }
    }
    assert_eq!(checked, PROTOCOLS.len() * (RPCS.len() - 2), "every RPC with input, over every protocol");
}
