//! The REST paths of ZITADEL's v2 user service (`/v2/users/...`, CONTRACT section 7): decode,
//! call the shared [`rpc`] function, encode. Reads and updates carry the user's sequence as
//! `ETag`, and updates honour `If-Match`, as v1's profile paths do.

use crate::body::{PathValue, ProtoJson};
use crate::error::ApiError;
use crate::reply::{json, with_etag};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use persona_api_grpc::RequestHeaders;
use persona_api_grpc::pb::zitadel::user::v2 as pb;
use persona_api_grpc::v2::rpc;
use persona_domain::ports::Store;

type Reply = Result<Response, ApiError>;

/// `POST /v2/users/human`.
pub(crate) async fn add_human_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::AddHumanUserRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::add_human_user(&state.service, &headers.meta(), request).await?)
}

/// `GET /v2/users/{user_id}`; answers with the sequence as `ETag`.
pub(crate) async fn get_user_by_id<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
) -> Reply {
    get_user(&state, &headers, user_id).await
}

/// `GetUserByID` of `user_id` (also for ids equal to a fixed path segment, such as `human`).
pub(crate) async fn get_user<S: Store>(state: &AppState<S>, headers: &HeaderMap, user_id: String) -> Reply {
    let headers = RequestHeaders::from_headers(headers);
    let response = rpc::get_user_by_id(&state.service, &headers.meta(), pb::GetUserByIdRequest { user_id }).await?;
    let sequence = response.details.as_ref().map(|d| d.sequence);
    with_etag(json(&response)?, sequence)
}

/// `PUT /v2/users/human/{user_id}`; answers with the new sequence as `ETag`.
pub(crate) async fn update_human_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
    ProtoJson(request): ProtoJson<pb::UpdateHumanUserRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    let request = pb::UpdateHumanUserRequest { user_id, ..request };
    let response = rpc::update_human_user(&state.service, &headers.meta(), request).await?;
    let sequence = response.details.as_ref().map(|d| d.sequence).filter(|_| !headers.validate_only());
    with_etag(json(&response)?, sequence)
}

/// `PATCH /v2/users/{user_id}` (ours: the descriptors give `UpdateUser` no REST path).
pub(crate) async fn update_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
    ProtoJson(request): ProtoJson<pb::UpdateUserRequest>,
) -> Reply {
    patch_user(&state, &headers, user_id, request).await
}

/// `UpdateUser` of `user_id` (also for ids equal to a fixed path segment).
pub(crate) async fn patch_user<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    user_id: String,
    request: pb::UpdateUserRequest,
) -> Reply {
    let headers = RequestHeaders::from_headers(headers);
    let request = pb::UpdateUserRequest { user_id, ..request };
    json(&rpc::update_user(&state.service, &headers.meta(), request).await?)
}

/// `DELETE /v2/users/{user_id}`.
pub(crate) async fn delete_user<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    PathValue(user_id): PathValue,
) -> Reply {
    remove_user(&state, &headers, user_id).await
}

/// `DeleteUser` of `user_id` (also for ids equal to a fixed path segment).
pub(crate) async fn remove_user<S: Store>(state: &AppState<S>, headers: &HeaderMap, user_id: String) -> Reply {
    let headers = RequestHeaders::from_headers(headers);
    json(&rpc::delete_user(&state.service, &headers.meta(), pb::DeleteUserRequest { user_id }).await?)
}

/// `POST /v2/users`.
pub(crate) async fn list_users<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ProtoJson(request): ProtoJson<pb::ListUsersRequest>,
) -> Reply {
    let headers = RequestHeaders::from_headers(&headers);
    json(&rpc::list_users(&state.service, &headers.meta(), request).await?)
}
