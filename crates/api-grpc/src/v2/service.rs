//! The gRPC adapter of v2: [`UserApi`] implements the generated `UserService` trait over
//! [`super::rpc`], as [`crate::ManagementApi`] does for v1.

use super::rpc;
use crate::pb::zitadel::user::v2 as pb;
use crate::pb::zitadel::user::v2::user_service_server::UserService;
use crate::service::{reply, split};
use persona_domain::Service;
use persona_domain::ports::Store;
use tonic::{Request, Response, Status};

/// `zitadel.user.v2.UserService` over Persona's application service.
pub struct UserApi<S> {
    service: Service<S>,
}

impl<S> UserApi<S> {
    /// The gRPC service over `service`.
    #[must_use]
    pub fn new(service: Service<S>) -> Self {
        Self { service }
    }
}

impl<S> Clone for UserApi<S> {
    fn clone(&self) -> Self {
        Self { service: self.service.clone() }
    }
}

impl<S> std::fmt::Debug for UserApi<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserApi").finish_non_exhaustive()
    }
}

#[tonic::async_trait]
impl<S: Store> UserService for UserApi<S> {
    async fn add_human_user(
        &self,
        request: Request<pb::AddHumanUserRequest>,
    ) -> Result<Response<pb::AddHumanUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::add_human_user(&self.service, &headers.meta(), message).await)
    }

    async fn get_user_by_id(
        &self,
        request: Request<pb::GetUserByIdRequest>,
    ) -> Result<Response<pb::GetUserByIdResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::get_user_by_id(&self.service, &headers.meta(), message).await)
    }

    async fn update_human_user(
        &self,
        request: Request<pb::UpdateHumanUserRequest>,
    ) -> Result<Response<pb::UpdateHumanUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::update_human_user(&self.service, &headers.meta(), message).await)
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::update_user(&self.service, &headers.meta(), message).await)
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::delete_user(&self.service, &headers.meta(), message).await)
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let (headers, message) = split(request);
        reply(rpc::list_users(&self.service, &headers.meta(), message).await)
    }
}
