//! The Connect protocol, unary calls (CONTRACT section 7), over the same shared [`crate::rpc`]
//! functions as gRPC, gRPC-Web and REST: a small codec layer rather than a Connect crate.
//!
//! A call is `POST /<pkg>.<Service>/<Rpc>` with the bare request message as the body, in
//! `application/json` (proto3 JSON, REST's strict rules) or `application/proto`; the answer is
//! HTTP 200 with the response message in the same codec, or a Connect error ([`ConnectError`]).
//! Checked in this order, each refusal in Connect's error shape:
//!
//! 1. the path names a procedure of [`routes`] (else 404, `unimplemented`);
//! 2. the method is `POST` (else 405 with `Allow: POST`: Connect's unary `GET` is optional and
//!    not served);
//! 3. the content type names a codec (else 415 with `Accept-Post`);
//! 4. `connect-protocol-version`, when sent, is `1` (else `invalid_argument`);
//! 5. `content-encoding`, when sent, is `identity` (else `unimplemented` with
//!    `Accept-Encoding: identity`: compressed requests are not read);
//! 6. `connect-timeout-ms`, when sent, is 1 to 10 digits (else `invalid_argument`); the deadline
//!    itself is kept by the server's protection layer, with the gRPC timeout ([`timeout`]);
//! 7. the body fits the limit (else `resource_exhausted`) and decodes (else `invalid_argument`).
//!
//! Request metadata (`authorization`, `x-zitadel-orgid`, `if-match`, `x-persona-validate-only`)
//! is read with [`RequestHeaders::from_headers`], as for the other protocols.

mod codec;
mod error;
mod routes;

pub use codec::Codec;
pub use error::{ConnectError, code_name};
pub use routes::SERVICES;

use crate::headers::RequestHeaders;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use persona_domain::Service;
use persona_domain::ports::Store;
use routes::Handler;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// `connect-protocol-version`: `1` when sent.
pub const PROTOCOL_VERSION: &str = "connect-protocol-version";
/// `connect-timeout-ms`: the client's deadline in milliseconds.
pub const TIMEOUT: &str = "connect-timeout-ms";

/// gRPC code `InvalidArgument`.
const INVALID_ARGUMENT: i32 = 3;
/// gRPC code `ResourceExhausted`.
const RESOURCE_EXHAUSTED: i32 = 8;
/// gRPC code `Unimplemented`.
const UNIMPLEMENTED: i32 = 12;

/// Whether `path` is `/<service>/<method>` of a service in [`SERVICES`]: the requests the
/// server hands to [`router`] (unless their content type is gRPC's).
#[must_use]
pub fn is_connect_path(path: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(service, method)| !method.is_empty() && !method.contains('/') && SERVICES.contains(&service))
}

/// The client's deadline from `connect-timeout-ms`, if it sent one.
///
/// # Errors
/// `invalid_argument` when the value is not 1 to 10 ASCII digits, as the Connect spec writes it.
pub fn timeout(headers: &HeaderMap) -> Result<Option<Duration>, ConnectError> {
    let Some(value) = headers.get(TIMEOUT) else { return Ok(None) };
    let bytes = value.as_bytes();
    let millis = (1..=10)
        .contains(&bytes.len())
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten()
        .filter(|text| text.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|text| text.parse::<u64>().ok());
    millis.map(|ms| Some(Duration::from_millis(ms))).ok_or_else(|| {
        ConnectError::new(INVALID_ARGUMENT, "connect-timeout-ms must be a number of milliseconds (1 to 10 digits)")
    })
}

/// Settings of the Connect routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectConfig {
    /// Largest accepted request body, in bytes; larger ones get `resource_exhausted`.
    pub max_body_bytes: usize,
}

/// What the handler shares.
struct Shared<S> {
    service: Service<S>,
    procedures: HashMap<&'static str, Handler<S>>,
    limit: usize,
}

/// Every procedure of [`routes`] over `service`, as an axum router that answers any path (mount
/// it for the requests [`is_connect_path`] selects).
pub fn router<S: Store>(service: Service<S>, config: ConnectConfig) -> Router {
    let procedures = routes::procedures().into_iter().map(|p| (p.path, p.handler)).collect();
    let shared = Arc::new(Shared { service, procedures, limit: config.max_body_bytes });
    Router::new().fallback(move |request: Request| {
        let shared = shared.clone();
        async move { call(&shared, request).await.unwrap_or_else(IntoResponse::into_response) }
    })
}

/// A path fit to be shown in a message: printable ASCII, at most 128 characters.
fn shown(path: &str) -> String {
    path.chars().filter(char::is_ascii_graphic).take(128).collect()
}

/// One unary call, checked in the order of the module documentation.
async fn call<S: Store>(shared: &Shared<S>, request: Request) -> Result<Response, ConnectError> {
    let path = request.uri().path();
    let handler = *shared.procedures.get(path).ok_or_else(|| {
        ConnectError::new(UNIMPLEMENTED, format!("{} is not a procedure Persona serves", shown(path)))
            .with_status(StatusCode::NOT_FOUND)
    })?;
    if request.method() != Method::POST {
        let message = "Connect calls are POST requests (Persona does not serve Connect's unary GET)";
        return Err(ConnectError::new(UNIMPLEMENTED, message)
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header("allow", "POST"));
    }
    let headers = request.headers();
    let codec = Codec::of(headers.get(CONTENT_TYPE)).ok_or_else(|| {
        let given = headers.get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let given = given.map_or_else(|| "none".to_owned(), |text| shown(&text));
        ConnectError::new(UNIMPLEMENTED, format!("Content type {given} is not supported: use {}", codec::ACCEPTED))
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_header("accept-post", codec::ACCEPTED)
    })?;
    if let Some(version) = headers.get(PROTOCOL_VERSION)
        && version.as_bytes() != b"1"
    {
        return Err(ConnectError::new(INVALID_ARGUMENT, "connect-protocol-version must be 1"));
    }
    if let Some(encoding) = headers.get(CONTENT_ENCODING)
        && !encoding.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity")
    {
        return Err(ConnectError::new(UNIMPLEMENTED, "Compressed requests are not supported: send them uncompressed")
            .with_header("accept-encoding", "identity"));
    }
    timeout(headers)?;
    let metadata = RequestHeaders::from_headers(headers);
    let body = read(request.into_body(), shared.limit).await?;
    let encoded = handler(shared.service.clone(), metadata, codec, body).await?;
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(codec.content_type())),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((StatusCode::OK, headers, encoded).into_response())
}

/// The request body, at most `limit` bytes.
async fn read(body: Body, limit: usize) -> Result<Vec<u8>, ConnectError> {
    let collected = Limited::new(body, limit).collect().await.map_err(|error| {
        if error.is::<LengthLimitError>() {
            ConnectError::new(RESOURCE_EXHAUSTED, "request body too large")
        } else {
            ConnectError::new(INVALID_ARGUMENT, format!("request body could not be read: {error}"))
        }
    })?;
    Ok(collected.to_bytes().to_vec())
}

#[cfg(test)]
mod tests;
