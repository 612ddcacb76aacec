//! Successful REST responses: HTTP 200, the response message as proto3 JSON,
//! `content-type: application/json`, `cache-control: no-store`, and an `ETag` where the
//! contract names one.

use crate::error::ApiError;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

/// `message` as a 200 response with proto3 JSON.
///
/// # Errors
/// [`ApiError::Internal`] when the message cannot be written as JSON (a bug: enum fields are
/// always set from domain types).
pub(crate) fn json<T: Serialize>(message: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(message)
        .map_err(|error| ApiError::Internal(format!("response could not be encoded: {error}")))?;
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((StatusCode::OK, headers, body).into_response())
}

/// The strong entity tag of an object at `sequence`: `"7"`.
#[must_use]
pub fn etag(sequence: u64) -> String {
    format!("\"{sequence}\"")
}

/// Adds `ETag: "<sequence>"` when there is a sequence.
///
/// # Errors
/// None in practice: a quoted decimal is always a valid header value.
pub(crate) fn with_etag(mut response: Response, sequence: Option<u64>) -> Result<Response, ApiError> {
    if let Some(sequence) = sequence {
        let value = HeaderValue::from_str(&etag(sequence))
            .map_err(|error| ApiError::Internal(format!("entity tag could not be encoded: {error}")))?;
        response.headers_mut().insert(ETAG, value);
    }
    Ok(response)
}
