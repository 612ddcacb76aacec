//! One handler per REST route: decode (path values override body fields), call the shared
//! [`rpc`] function, encode as proto3 JSON.

use crate::body::{PathValue, ProtoJson};
use crate::error::ApiError;
use crate::reply::{json, with_etag};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use persona_api_grpc::RequestHeaders;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_api_grpc::rpc;
use persona_domain::ports::Store;

type Reply = Result<Response, ApiError>;

/// `PUT /management/v1/users/{user_id}/profile`; answers with the new sequence as `ETag`.
pub(crate) async fn update_human_profile<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
    ProtoJson(request): ProtoJson<pb::UpdateHumanProfileRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    let request = pb::UpdateHumanProfileRequest { user_id, ..request };
    let response = rpc::update_human_profile(&state.service, &headers.meta(), request).await?;
    // A dry run changed nothing, so the object keeps its old entity tag.
    let sequence = response.details.as_ref().map(|d| d.sequence).filter(|_| !headers.validate_only());
    with_etag(json(&response)?, sequence)
}

/// `GET /management/v1/users/{user_id}/profile`; answers with the sequence as `ETag`.
pub(crate) async fn get_human_profile<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    let request = pb::GetHumanProfileRequest { user_id };
    let response = rpc::get_human_profile(&state.service, &headers.meta(), request).await?;
    let sequence = response.details.as_ref().map(|d| d.sequence);
    with_etag(json(&response)?, sequence)
}

/// `POST /management/v1/users/human`.
pub(crate) async fn add_human_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::AddHumanUserRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::add_human_user(&state.service, &headers.meta(), request).await?)
}

/// `POST /management/v1/users/human/_import`.
pub(crate) async fn import_human_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::ImportHumanUserRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::import_human_user(&state.service, &headers.meta(), request).await?)
}

/// `GET /management/v1/users/{id}`.
pub(crate) async fn get_user_by_id<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(id): PathValue,
) -> Reply {
    get_user(&state, &headers, id).await
}

/// `GetUserByID` of `id` (also for ids that equal a fixed path segment, such as `human`).
pub(crate) async fn get_user<S: Store>(state: &AppState<S>, headers: &HeaderMap, id: String) -> Reply {
    let headers = RequestHeaders::from_headers(headers);
    json(&rpc::get_user_by_id(&state.service, &headers.meta(), pb::GetUserByIdRequest { id }).await?)
}

/// `DELETE /management/v1/users/{id}`.
pub(crate) async fn remove_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(id): PathValue,
) -> Reply {
    delete_user(&state, &headers, id).await
}

/// `RemoveUser` of `id` (also for ids that equal a fixed path segment, such as `human`).
pub(crate) async fn delete_user<S: Store>(state: &AppState<S>, headers: &HeaderMap, id: String) -> Reply {
    let headers = RequestHeaders::from_headers(headers);
    json(&rpc::remove_user(&state.service, &headers.meta(), pb::RemoveUserRequest { id }).await?)
}

/// `POST /management/v1/users/{user_id}/changes/_search`.
pub(crate) async fn list_user_changes<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
    ProtoJson(request): ProtoJson<pb::ListUserChangesRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    let request = pb::ListUserChangesRequest { user_id, ..request };
    json(&rpc::list_user_changes(&state.service, &headers.meta(), request).await?)
}

/// `POST /management/v1/users/machine`.
pub(crate) async fn add_machine_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::AddMachineUserRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::add_machine_user(&state.service, &headers.meta(), request).await?)
}

/// `POST /management/v1/users/{user_id}/pats`.
pub(crate) async fn add_personal_access_token<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
    ProtoJson(request): ProtoJson<pb::AddPersonalAccessTokenRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    let request = pb::AddPersonalAccessTokenRequest { user_id, ..request };
    json(&rpc::add_personal_access_token(&state.service, &headers.meta(), request).await?)
}

/// `POST /management/v1/orgs`.
pub(crate) async fn add_org<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::AddOrgRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::add_org(&state.service, &headers.meta(), request).await?)
}

/// `GET /management/v1/orgs/me`.
pub(crate) async fn get_my_org<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::get_my_org(&state.service, &headers.meta(), pb::GetMyOrgRequest {}).await?)
}

/// `POST /management/v1/orgs/me/members`.
pub(crate) async fn add_org_member<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::AddOrgMemberRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::add_org_member(&state.service, &headers.meta(), request).await?)
}

/// `GET /management/v1/healthz`: `{}` without authentication.
pub(crate) async fn healthz<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::healthz(&state.service, &headers.meta(), pb::HealthzRequest {}).await?)
}

/// Any path without a route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// A known path with a method it does not serve.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
