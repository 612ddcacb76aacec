//! The gRPC adapter of v2: [`UserApi`] implements the generated `UserService` trait over
//! [`super::rpc`], as [`crate::ManagementApi`] does for v1.

use super::rpc;
use crate::headers::RequestHeaders;
use crate::pb::zitadel::user::v2 as pb;
use crate::pb::zitadel::user::v2::user_service_server::UserService;
use crate::status::to_status;
use persona_domain::ports::Store;
use persona_domain::{Error, Service};
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

fn split<T>(request: Request<T>) -> (RequestHeaders, T) {
    let headers = RequestHeaders::from_headers(request.metadata().as_ref());
    (headers, request.into_inner())
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(|error| to_status(&error))
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
