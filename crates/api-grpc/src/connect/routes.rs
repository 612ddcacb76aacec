//! The Connect procedure table: one entry per RPC, binding its path `/<pkg>.<Service>/<Rpc>` to
//! the shared [`crate::rpc`] function that gRPC, gRPC-Web and REST call too.
//!
//! **Adding a service** (for example `zitadel.user.v2.UserService`): add its full name to
//! [`SERVICES`] (the server dispatches by it) and one [`unary!`] line per RPC to
//! [`procedures`]; the test below checks that the two agree.

use super::codec::Codec;
use super::error::ConnectError;
use crate::headers::RequestHeaders;
use crate::rpc;
use crate::v2::rpc as v2;
use persona_domain::Service;
use persona_domain::ports::Store;
use std::future::Future;
use std::pin::Pin;

/// Every service Persona serves over Connect, by full protobuf name.
pub const SERVICES: &[&str] = &[crate::descriptors::SERVICE, crate::descriptors::USER_V2];

/// The encoded response message, or the error to answer.
pub(super) type Answer = Pin<Box<dyn Future<Output = Result<Vec<u8>, ConnectError>> + Send>>;

/// Decodes the body in the codec, calls the RPC with the request metadata, encodes the answer.
pub(super) type Handler<S> = fn(Service<S>, RequestHeaders, Codec, Vec<u8>) -> Answer;

/// One procedure: its path and its handler.
pub(super) struct Procedure<S> {
    /// `/<pkg>.<Service>/<Rpc>`.
    pub(super) path: &'static str,
    /// What answers it.
    pub(super) handler: Handler<S>,
}

/// A table entry: `unary!("<pkg>.<Service>", "<Rpc>", <shared rpc function>)`. The function
/// has the shape `async fn(&Service<S>, &RequestMeta<'_>, Req) -> Result<Resp, Error>` with prost
/// and pbjson message types, as every function of [`crate::rpc`] does.
macro_rules! unary {
    ($service:literal, $rpc:literal, $call:path) => {
        Procedure {
            path: concat!("/", $service, "/", $rpc),
            handler: |service, headers, codec, body| {
                Box::pin(async move {
                    let request = codec.decode(&body)?;
                    let response = $call(&service, &headers.meta(), request)
                        .await
                        .map_err(|error| ConnectError::from_domain(&error))?;
                    codec.encode(&response)
                })
            },
        }
    };
}

/// Every procedure Persona serves over Connect.
pub(super) fn procedures<S: Store>() -> Vec<Procedure<S>> {
    vec![
        unary!("zitadel.management.v1.ManagementService", "UpdateHumanProfile", rpc::update_human_profile),
        unary!("zitadel.management.v1.ManagementService", "GetHumanProfile", rpc::get_human_profile),
        unary!("zitadel.management.v1.ManagementService", "AddHumanUser", rpc::add_human_user),
        unary!("zitadel.management.v1.ManagementService", "ImportHumanUser", rpc::import_human_user),
        unary!("zitadel.management.v1.ManagementService", "GetUserByID", rpc::get_user_by_id),
        unary!("zitadel.management.v1.ManagementService", "RemoveUser", rpc::remove_user),
        unary!("zitadel.management.v1.ManagementService", "ListUserChanges", rpc::list_user_changes),
        unary!("zitadel.management.v1.ManagementService", "AddMachineUser", rpc::add_machine_user),
        unary!("zitadel.management.v1.ManagementService", "AddPersonalAccessToken", rpc::add_personal_access_token),
        unary!("zitadel.management.v1.ManagementService", "AddOrg", rpc::add_org),
        unary!("zitadel.management.v1.ManagementService", "GetMyOrg", rpc::get_my_org),
        unary!("zitadel.management.v1.ManagementService", "AddOrgMember", rpc::add_org_member),
        unary!("zitadel.management.v1.ManagementService", "Healthz", rpc::healthz),
        unary!("zitadel.user.v2.UserService", "AddHumanUser", v2::add_human_user),
        unary!("zitadel.user.v2.UserService", "GetUserByID", v2::get_user_by_id),
        unary!("zitadel.user.v2.UserService", "UpdateHumanUser", v2::update_human_user),
        unary!("zitadel.user.v2.UserService", "UpdateUser", v2::update_user),
        unary!("zitadel.user.v2.UserService", "DeleteUser", v2::delete_user),
        unary!("zitadel.user.v2.UserService", "ListUsers", v2::list_users),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FILE_DESCRIPTOR_SET;
    use persona_domain::memory::InMemoryStore;
    use prost::Message as _;
    use std::collections::BTreeSet;

    #[test]
    fn the_table_serves_every_method_of_every_listed_service_and_nothing_else() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptors");
        let described: BTreeSet<String> = set
            .file
            .iter()
            .flat_map(|file| {
                file.service.iter().flat_map(move |service| {
                    let name = format!("{}.{}", file.package(), service.name());
                    service.method.iter().map(move |method| (name.clone(), method.name().to_owned()))
                })
            })
            .filter(|(service, _)| SERVICES.contains(&service.as_str()))
            .map(|(service, method)| format!("/{service}/{method}"))
            .collect();
        let served: BTreeSet<String> =
            procedures::<InMemoryStore>().iter().map(|procedure| procedure.path.to_owned()).collect();
        assert_eq!(served, described);
        assert_eq!(served.len(), 13 + 6, "v1's 13 and v2's 6");
    }
}
