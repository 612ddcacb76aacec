//! What every handler shares: the application service and the body limit.

use crate::body::BodyLimit;
use axum::extract::FromRef;
use persona_domain::Service;

/// The router's state.
pub(crate) struct AppState<S> {
    /// The application service.
    pub(crate) service: Service<S>,
    /// Largest accepted request body.
    pub(crate) body_limit: BodyLimit,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self { service: self.service.clone(), body_limit: self.body_limit }
    }
}

impl<S> FromRef<AppState<S>> for BodyLimit {
    fn from_ref(state: &AppState<S>) -> Self {
        state.body_limit
    }
}
