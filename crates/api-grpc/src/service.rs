//! The gRPC adapter: [`ManagementApi`] implements the generated `ManagementService` trait by
//! reading the metadata into [`RequestMeta`](persona_domain::RequestMeta), calling [`crate::rpc`]
//! and mapping errors with [`crate::status::to_status`].

use crate::headers::RequestHeaders;
use crate::pb::zitadel::management::v1 as pb;
use crate::pb::zitadel::management::v1::management_service_server::ManagementService;
use crate::rpc;
use crate::status::to_status;
use persona_domain::ports::Store;
use persona_domain::{Error, Service};
use tonic::{Request, Response, Status};

/// `zitadel.management.v1.ManagementService` over Persona's application service.
pub struct ManagementApi<S> {
    service: Service<S>,
}

impl<S> ManagementApi<S> {
    /// The gRPC service over `service`.
    #[must_use]
    pub fn new(service: Service<S>) -> Self {
        Self { service }
    }
}

impl<S> Clone for ManagementApi<S> {
    fn clone(&self) -> Self {
        Self { service: self.service.clone() }
    }
}

impl<S> std::fmt::Debug for ManagementApi<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementApi").finish_non_exhaustive()
    }
}

/// The metadata and the message of a request.
pub(crate) fn split<T>(request: Request<T>) -> (RequestHeaders, T) {
    let headers = RequestHeaders::from_headers(request.metadata().as_ref());
    (headers, request.into_inner())
}

/// A domain result as a gRPC reply.
pub(crate) fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(|error| to_status(&error))
}

#[tonic::async_trait]
impl<S: Store> ManagementService for ManagementApi<S> {
    async fn update_human_profile(
        &self,
        request: Request<pb::UpdateHumanProfileRequest>,
    ) -> Result<Response<pb::UpdateHumanProfileResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::update_human_profile(&self.service, &headers.meta(), message).await)
    }

    async fn get_human_profile(
        &self,
        request: Request<pb::GetHumanProfileRequest>,
    ) -> Result<Response<pb::GetHumanProfileResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::get_human_profile(&self.service, &headers.meta(), message).await)
    }

    async fn add_human_user(
        &self,
        request: Request<pb::AddHumanUserRequest>,
    ) -> Result<Response<pb::AddHumanUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::add_human_user(&self.service, &headers.meta(), message).await)
    }

    async fn import_human_user(
        &self,
        request: Request<pb::ImportHumanUserRequest>,
    ) -> Result<Response<pb::ImportHumanUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::import_human_user(&self.service, &headers.meta(), message).await)
    }

    async fn get_user_by_id(
        &self,
        request: Request<pb::GetUserByIdRequest>,
    ) -> Result<Response<pb::GetUserByIdResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::get_user_by_id(&self.service, &headers.meta(), message).await)
    }

    async fn remove_user(
        &self,
        request: Request<pb::RemoveUserRequest>,
    ) -> Result<Response<pb::RemoveUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::remove_user(&self.service, &headers.meta(), message).await)
    }

    async fn list_user_changes(
        &self,
        request: Request<pb::ListUserChangesRequest>,
    ) -> Result<Response<pb::ListUserChangesResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::list_user_changes(&self.service, &headers.meta(), message).await)
    }

    async fn add_machine_user(
        &self,
        request: Request<pb::AddMachineUserRequest>,
    ) -> Result<Response<pb::AddMachineUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::add_machine_user(&self.service, &headers.meta(), message).await)
    }

    async fn add_personal_access_token(
        &self,
        request: Request<pb::AddPersonalAccessTokenRequest>,
    ) -> Result<Response<pb::AddPersonalAccessTokenResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::add_personal_access_token(&self.service, &headers.meta(), message).await)
    }

    async fn add_org(&self, request: Request<pb::AddOrgRequest>) -> Result<Response<pb::AddOrgResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::add_org(&self.service, &headers.meta(), message).await)
    }

    async fn get_my_org(
        &self,
        request: Request<pb::GetMyOrgRequest>,
    ) -> Result<Response<pb::GetMyOrgResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::get_my_org(&self.service, &headers.meta(), message).await)
    }

    async fn add_org_member(
        &self,
        request: Request<pb::AddOrgMemberRequest>,
    ) -> Result<Response<pb::AddOrgMemberResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::add_org_member(&self.service, &headers.meta(), message).await)
    }

    async fn healthz(&self, request: Request<pb::HealthzRequest>) -> Result<Response<pb::HealthzResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::healthz(&self.service, &headers.meta(), message).await)
    }
}
