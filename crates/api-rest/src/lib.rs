//! # persona-api-rest
//!
//! Persona's REST/JSON adapter: ZITADEL's `/management/v1/...` paths (CONTRACT section 2) over
//! the application service. Each handler is thin: decode the proto3 JSON body of the request
//! message (path values override body fields), call the shared `persona_api_grpc::rpc`
//! function, encode the response message as proto3 JSON. Errors are mapped once, in [`error`].
//!
//! Mount [`router`] for every request that is not gRPC or gRPC-Web: it answers unknown paths
//! with 404 and known paths with a wrong method with 405, both in the JSON error shape.

pub mod body;
pub mod catalog;
pub mod error;
pub mod field_rules;
mod handlers;
mod handlers_v2;
pub mod openapi;
pub mod reply;
mod state;

use axum::Router;
use axum::routing::{get, post};
use body::BodyLimit;
use handlers as h;
use handlers_v2 as v2;
use http::HeaderMap;
use persona_domain::Service;
use persona_domain::ports::Store;
use state::AppState;

/// Default largest request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings of the REST adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestConfig {
    /// Largest accepted request body, in bytes; larger ones get 413 with code 8.
    pub max_body_bytes: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self { max_body_bytes: DEFAULT_MAX_BODY_BYTES }
    }
}

/// Every REST route of the contract over `service`.
///
/// `/users/human` and `/users/machine` are also the user ids `human` and `machine` for
/// `GET` and `DELETE`, as they are for ZITADEL's gateway.
pub fn router<S: Store>(service: Service<S>, config: RestConfig) -> Router {
    let state = AppState { service, body_limit: BodyLimit(config.max_body_bytes) };
    let user_named = |id: &'static str| {
        get(move |state: axum::extract::State<AppState<S>>, headers: HeaderMap| async move {
            h::get_user(&state.0, &headers, id.to_owned()).await
        })
        .delete(move |state: axum::extract::State<AppState<S>>, headers: HeaderMap| async move {
            h::delete_user(&state.0, &headers, id.to_owned()).await
        })
    };
    // v2's `/v2/users/human` is a fixed segment beside `/v2/users/{user_id}`: a user whose id
    // is `human` is still read, changed and deleted there.
    let v2_human = get(|state: axum::extract::State<AppState<S>>, headers: HeaderMap| async move {
        v2::get_user(&state.0, &headers, "human".to_owned()).await
    })
    .delete(|state: axum::extract::State<AppState<S>>, headers: HeaderMap| async move {
        v2::remove_user(&state.0, &headers, "human".to_owned()).await
    })
    .patch(
        |state: axum::extract::State<AppState<S>>,
         headers: HeaderMap,
         body::ProtoJson(request): body::ProtoJson<persona_api_grpc::pb::zitadel::user::v2::UpdateUserRequest>| async move {
            v2::patch_user(&state.0, &headers, "human".to_owned(), request).await
        },
    )
    .post(v2::add_human_user::<S>);
    Router::new()
        .route("/v2/users", post(v2::list_users::<S>))
        .route("/v2/users/human", v2_human)
        .route("/v2/users/human/{id}", axum::routing::put(v2::update_human_user::<S>))
        .route("/v2/users/{id}", get(v2::get_user_by_id::<S>).patch(v2::update_user::<S>).delete(v2::delete_user::<S>))
        .route("/management/v1/healthz", get(h::healthz::<S>))
        .route("/management/v1/users/human", user_named("human").post(h::add_human_user::<S>))
        .route("/management/v1/users/human/_import", post(h::import_human_user::<S>))
        .route("/management/v1/users/machine", user_named("machine").post(h::add_machine_user::<S>))
        .route("/management/v1/users/{id}", get(h::get_user_by_id::<S>).delete(h::remove_user::<S>))
        .route("/management/v1/users/{id}/profile", get(h::get_human_profile::<S>).put(h::update_human_profile::<S>))
        .route("/management/v1/users/{id}/changes/_search", post(h::list_user_changes::<S>))
        .route("/management/v1/users/{id}/pats", post(h::add_personal_access_token::<S>))
        .route("/management/v1/orgs", post(h::add_org::<S>))
        .route("/management/v1/orgs/me", get(h::get_my_org::<S>))
        .route("/management/v1/orgs/me/members", post(h::add_org_member::<S>))
        .fallback(h::not_found)
        .method_not_allowed_fallback(h::method_not_allowed)
        .with_state(state)
}
