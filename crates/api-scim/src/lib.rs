//! # persona-api-scim
//!
//! Persona's SCIM 2.0 adapter (RFC 7643 / 7644, CONTRACT section 8): identity providers push
//! users to `/scim/v2/{orgId}/Users` over the same application service, rules, events and
//! history as v1 and v2, with enforced versions (`ETag` and `meta.version` are
//! `W/"<sequence>"`; `If-Match` and `If-None-Match` are honoured).
//!
//! - [`filter`]: the filter grammar, compiled to the domain's `UserFilter`;
//! - [`resource`]: the User resource and how it maps to a Persona user;
//! - [`patch`]: PatchOp on the resource;
//! - [`discovery`]: what the server states it supports;
//! - [`errors`]: every error as SCIM's error body, mapped once.

pub mod discovery;
pub mod errors;
pub mod filter;
mod handlers;
pub mod patch;
pub mod resource;

use axum::Router;
use axum::routing::{MethodRouter, any, get, post};
use persona_domain::Service;
use persona_domain::ports::Store;

/// SCIM's media type; `application/json` is accepted too.
pub const SCIM_JSON: &str = "application/scim+json";

/// Where the SCIM routes start.
pub const BASE_PATH: &str = "/scim/v2";

/// Settings of the SCIM adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimConfig {
    /// Largest accepted request body, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ScimConfig {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024 }
    }
}

/// What every handler shares.
pub(crate) struct ScimState<S> {
    pub(crate) service: Service<S>,
    pub(crate) config: ScimConfig,
}

impl<S> Clone for ScimState<S> {
    fn clone(&self) -> Self {
        Self { service: self.service.clone(), config: self.config }
    }
}

fn refusing_others<S: Store>(route: MethodRouter<ScimState<S>>) -> MethodRouter<ScimState<S>> {
    route.fallback(handlers::method_not_allowed)
}

/// The SCIM routes under `/scim/v2/{orgId}` (no fallback of its own, so it merges with the
/// REST router): unknown SCIM paths answer 404 and wrong methods 405, in SCIM's error shape.
pub fn router<S: Store>(service: Service<S>, config: ScimConfig) -> Router {
    let state = ScimState { service, config };
    Router::new()
        .route("/scim/v2/{org}/ServiceProviderConfig", refusing_others(get(handlers::service_provider_config)))
        .route("/scim/v2/{org}/ResourceTypes", refusing_others(get(handlers::resource_types)))
        .route("/scim/v2/{org}/ResourceTypes/{id}", refusing_others(get(handlers::resource_type)))
        .route("/scim/v2/{org}/Schemas", refusing_others(get(handlers::schemas)))
        .route("/scim/v2/{org}/Schemas/{id}", refusing_others(get(handlers::schema)))
        .route("/scim/v2/{org}/Users", refusing_others(get(handlers::list_users::<S>).post(handlers::create_user::<S>)))
        .route("/scim/v2/{org}/Users/.search", refusing_others(post(handlers::search_users::<S>)))
        .route(
            "/scim/v2/{org}/Users/{id}",
            refusing_others(
                get(handlers::get_user::<S>)
                    .put(handlers::replace_user::<S>)
                    .patch(handlers::patch_user::<S>)
                    .delete(handlers::delete_user::<S>),
            ),
        )
        .route("/scim/v2/{org}/Bulk", any(handlers::bulk))
        .route("/scim/v2/{org}/.search", any(handlers::root_search))
        .route("/scim/{*rest}", any(handlers::not_found))
        .route("/scim", any(handlers::not_found))
        .with_state(state)
}

/// The metrics label and route template of a SCIM request (`scim/Users.patch`,
/// `/scim/v2/{orgId}/Users/{id}`), or `None` when the path is not under `/scim`.
#[must_use]
pub fn route_label(method: &str, path: &str) -> Option<(&'static str, &'static str)> {
    let rest = path.strip_prefix("/scim")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let unmatched = ("scim/unmatched", "/scim/...");
    let [v2, _org, tail @ ..] = segments.as_slice() else { return Some(unmatched) };
    if *v2 != "v2" {
        return Some(unmatched);
    }
    let found = match (method, tail) {
        ("GET", ["ServiceProviderConfig"]) => {
            ("scim/ServiceProviderConfig.get", "/scim/v2/{orgId}/ServiceProviderConfig")
        }
        ("GET", ["ResourceTypes"]) => ("scim/ResourceTypes.list", "/scim/v2/{orgId}/ResourceTypes"),
        ("GET", ["ResourceTypes", _]) => ("scim/ResourceTypes.get", "/scim/v2/{orgId}/ResourceTypes/{id}"),
        ("GET", ["Schemas"]) => ("scim/Schemas.list", "/scim/v2/{orgId}/Schemas"),
        ("GET", ["Schemas", _]) => ("scim/Schemas.get", "/scim/v2/{orgId}/Schemas/{id}"),
        ("GET", ["Users"]) => ("scim/Users.list", "/scim/v2/{orgId}/Users"),
        ("POST", ["Users"]) => ("scim/Users.create", "/scim/v2/{orgId}/Users"),
        ("POST", ["Users", ".search"]) => ("scim/Users.search", "/scim/v2/{orgId}/Users/.search"),
        ("GET", ["Users", _]) => ("scim/Users.get", "/scim/v2/{orgId}/Users/{id}"),
        ("PUT", ["Users", _]) => ("scim/Users.replace", "/scim/v2/{orgId}/Users/{id}"),
        ("PATCH", ["Users", _]) => ("scim/Users.patch", "/scim/v2/{orgId}/Users/{id}"),
        ("DELETE", ["Users", _]) => ("scim/Users.delete", "/scim/v2/{orgId}/Users/{id}"),
        _ => unmatched,
    };
    Some(found)
}

#[cfg(test)]
mod tests;
