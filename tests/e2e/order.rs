//! The order of checks (CONTRACT section 3, as ZITADEL's interceptors run them): authentication,
//! org and permission come before validation, on every RPC and protocol, so a caller without a
//! token or without the permission learns nothing about its request.

use crate::calls::{Call, PROTOCOLS, RPCS, Rpc, Target, invoke};
use crate::harness::{Server, machine_bearer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_and_unauthorised_callers_are_refused_before_validation() {
    let server = Server::start().await;
    let viewer = machine_bearer(&server, "viewer", &["ORG_OWNER_VIEWER"]).await;
    // Every id is one character too long, and the granted role does not exist: each RPC would
    // answer InvalidArgument to a caller allowed to make it.
    let too_long = "1".repeat(201);
    let target = Target {
        org: String::new(),
        human: too_long.clone(),
        machine: too_long,
        roles: vec!["NO_SUCH_ROLE".to_owned()],
    };
    for protocol in PROTOCOLS {
        for rpc in RPCS.into_iter().filter(|rpc| *rpc != Rpc::Healthz) {
            let call = Call::aimed_at(rpc, &target, "order");
            let outcome = invoke(&server, protocol, &call, &[]).await.outcome;
            let case = format!("{protocol:?} {rpc:?} without a token");
            assert_eq!((outcome.code, outcome.message.as_str()), (16, "auth header missing"), "{case}");

            let readonly =
                matches!(rpc, Rpc::GetHumanProfile | Rpc::GetUserById | Rpc::ListUserChanges | Rpc::GetMyOrg);
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
}
