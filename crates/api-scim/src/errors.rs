//! SCIM error responses (RFC 7644 §3.12): every failure of the adapter or the domain, mapped
//! once, here, to an HTTP status and a `scimType`, in SCIM's error body.

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use persona_domain::{Error, ErrorKind};
use serde_json::json;

/// The URN of SCIM's error message.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 §3.12 that Persona answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter is malformed or names what Persona cannot filter on.
    InvalidFilter,
    /// The request body is not SCIM (not JSON, wrong schema, wrong shape).
    InvalidSyntax,
    /// A value is not acceptable (a rule of the user model refuses it).
    InvalidValue,
    /// A PATCH path is malformed or names an attribute Persona does not have.
    InvalidPath,
    /// A PATCH path matched nothing to replace or remove.
    NoTarget,
    /// An attempt to change a read-only attribute.
    Mutability,
    /// A unique value is taken (409).
    Uniqueness,
    /// The search would return too many results or is too complex.
    TooMany,
}

impl ScimType {
    /// The wire name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidValue => "invalidValue",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::Mutability => "mutability",
            Self::Uniqueness => "uniqueness",
            Self::TooMany => "tooMany",
        }
    }
}

/// A failed SCIM request: the status, the `scimType` (if any) and the detail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// HTTP status.
    pub status: StatusCode,
    /// RFC 7644's error type, where one applies.
    pub scim_type: Option<ScimType>,
    /// What went wrong (the domain's `"<text> (<ID>)"` where it comes from the domain).
    pub detail: String,
}

impl ScimError {
    /// A 400 with `scim_type`.
    #[must_use]
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, scim_type: Some(scim_type), detail: detail.into() }
    }

    /// A status without a `scimType`.
    #[must_use]
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, scim_type: None, detail: detail.into() }
    }

    /// A malformed or unsupported filter.
    #[must_use]
    pub fn filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// A malformed or unknown PATCH path.
    #[must_use]
    pub fn path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// A body that is not the SCIM message it should be.
    #[must_use]
    pub fn syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// An unacceptable value.
    #[must_use]
    pub fn value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// An unknown resource.
    #[must_use]
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, detail)
    }

    /// The body of the error.
    #[must_use]
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type.name());
        }
        body
    }
}

/// The one mapping of domain errors to SCIM (RFC 7644 §3.12): the kind picks the status, a
/// few ids pick a more precise `scimType`.
impl From<Error> for ScimError {
    fn from(error: Error) -> Self {
        let detail = error.message();
        let (status, scim_type) = match (error.kind(), error.id()) {
            (ErrorKind::InvalidArgument, Some("PERSONA-QRY02")) => {
                (StatusCode::BAD_REQUEST, Some(ScimType::InvalidFilter))
            }
            (ErrorKind::InvalidArgument, Some("PERSONA-QRY01")) => (StatusCode::BAD_REQUEST, Some(ScimType::TooMany)),
            (ErrorKind::InvalidArgument, Some("PERSONA-PRE02")) => {
                (StatusCode::BAD_REQUEST, Some(ScimType::InvalidSyntax))
            }
            (ErrorKind::InvalidArgument | ErrorKind::FailedPrecondition, _) => {
                (StatusCode::BAD_REQUEST, Some(ScimType::InvalidValue))
            }
            (ErrorKind::AlreadyExists, _) => (StatusCode::CONFLICT, Some(ScimType::Uniqueness)),
            (ErrorKind::NotFound, _) => (StatusCode::NOT_FOUND, None),
            (ErrorKind::PermissionDenied, _) => (StatusCode::FORBIDDEN, None),
            (ErrorKind::Unauthenticated, _) => (StatusCode::UNAUTHORIZED, None),
            (ErrorKind::Aborted, _) if error.current_sequence().is_some() => (StatusCode::PRECONDITION_FAILED, None),
            (ErrorKind::Aborted, _) => (StatusCode::CONFLICT, None),
            (ErrorKind::ResourceExhausted, _) => (StatusCode::TOO_MANY_REQUESTS, None),
            (ErrorKind::Unimplemented, _) => (StatusCode::NOT_IMPLEMENTED, None),
            (ErrorKind::Unavailable, _) => (StatusCode::SERVICE_UNAVAILABLE, None),
            (ErrorKind::Internal, _) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        let detail = match error.current_sequence() {
            Some(current) => format!("{detail}; current version W/\"{current}\""),
            None => detail,
        };
        if let Some(cause) = error.cause() {
            // The one place the internal cause is written down; the client sees the message.
            tracing::error!(code = error.kind().grpc_code(), id = error.id(), cause, "internal error");
        }
        Self { status, scim_type, detail }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(crate::SCIM_JSON));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
