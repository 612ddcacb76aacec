//! The one place where REST errors get their HTTP status and JSON body (CONTRACT section 4).
//!
//! Body: `{"code":N,"message":"<text> (<ID>)","details":[...]}` where `details` holds a
//! `zitadel.v1.ErrorDetail` when the error has an id, then a `google.rpc.BadRequest` when it
//! lists field violations, and is omitted when empty. `google.rpc.Status` JSON from pbjson is
//! not the proto3 `Any` form (`"@type"` inline), so the body is built here by hand.

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use persona_domain::Error;
use serde::Serialize;

/// `@type` of a `zitadel.v1.ErrorDetail` entry.
pub const ERROR_DETAIL_TYPE: &str = "type.googleapis.com/zitadel.v1.ErrorDetail";
/// `@type` of a `google.rpc.BadRequest` entry.
pub const BAD_REQUEST_TYPE: &str = "type.googleapis.com/google.rpc.BadRequest";

/// gRPC code `InvalidArgument`.
const INVALID_ARGUMENT: i32 = 3;
/// gRPC code `NotFound`.
const NOT_FOUND: i32 = 5;
/// gRPC code `ResourceExhausted`.
const RESOURCE_EXHAUSTED: i32 = 8;
/// gRPC code `Unimplemented`.
const UNIMPLEMENTED: i32 = 12;
/// gRPC code `Internal`.
const INTERNAL: i32 = 13;
/// gRPC code `Unauthenticated`.
const UNAUTHENTICATED: i32 = 16;

/// The HTTP status of gRPC code `code` (CONTRACT section 4, the table shared with Connect in
/// [`persona_api_grpc::status::http_status`]). `stale_precondition` marks Persona's failed
/// `If-Match`, which is `Aborted` over gRPC but 412 over REST.
#[must_use]
pub fn http_status(code: i32, stale_precondition: bool) -> StatusCode {
    if code == 10 && stale_precondition {
        return StatusCode::PRECONDITION_FAILED;
    }
    persona_api_grpc::status::http_status(code)
}

/// Why a REST request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The application service refused or failed.
    Domain(Error),
    /// The body or a path value could not be decoded into the request message.
    InvalidRequest(String),
    /// The body exceeds the configured limit: HTTP 413, code 8 (`ResourceExhausted`).
    BodyTooLarge,
    /// No route has this path.
    NotFound,
    /// The path exists but not with this method: HTTP 405, code 12 (`Unimplemented`).
    MethodNotAllowed,
    /// The response could not be encoded (a bug).
    Internal(String),
    /// An answer given before any API code ran (load shedding, time-outs, readiness): a code
    /// and a message, no details.
    Plain {
        /// gRPC code; the HTTP status follows the contract's table.
        code: i32,
        /// The message.
        message: String,
    },
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self::Domain(error)
    }
}

/// One entry of `details`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Detail {
    ErrorDetail {
        #[serde(rename = "@type")]
        type_url: &'static str,
        id: &'static str,
        message: String,
    },
    BadRequest {
        #[serde(rename = "@type")]
        type_url: &'static str,
        #[serde(rename = "fieldViolations")]
        field_violations: Vec<FieldViolation>,
    },
}

#[derive(Debug, Serialize)]
struct FieldViolation {
    field: String,
    description: String,
}

/// The JSON error body.
#[derive(Debug, Serialize)]
struct ErrorBody {
    code: i32,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<Detail>,
}

fn details(error: &Error) -> Vec<Detail> {
    let mut details = Vec::new();
    if let Some(id) = error.id() {
        details.push(Detail::ErrorDetail { type_url: ERROR_DETAIL_TYPE, id, message: error.text().to_owned() });
    }
    if !error.field_violations().is_empty() {
        let field_violations = error
            .field_violations()
            .iter()
            .map(|v| FieldViolation { field: v.field.clone(), description: v.description.clone() })
            .collect();
        details.push(Detail::BadRequest { type_url: BAD_REQUEST_TYPE, field_violations });
    }
    details
}

impl ApiError {
    /// HTTP status and body of this error.
    fn parts(&self) -> (StatusCode, ErrorBody) {
        let simple = |status: StatusCode, code: i32, message: &str| {
            (status, ErrorBody { code, message: message.to_owned(), details: Vec::new() })
        };
        match self {
            Self::Domain(error) => {
                let code = error.kind().grpc_code();
                let status = http_status(code, error.current_sequence().is_some());
                (status, ErrorBody { code, message: error.message(), details: details(error) })
            }
            Self::InvalidRequest(message) => simple(http_status(INVALID_ARGUMENT, false), INVALID_ARGUMENT, message),
            Self::BodyTooLarge => simple(StatusCode::PAYLOAD_TOO_LARGE, RESOURCE_EXHAUSTED, "request body too large"),
            Self::NotFound => simple(http_status(NOT_FOUND, false), NOT_FOUND, "Not Found"),
            Self::MethodNotAllowed => simple(StatusCode::METHOD_NOT_ALLOWED, UNIMPLEMENTED, "Method Not Allowed"),
            Self::Internal(message) => simple(http_status(INTERNAL, false), INTERNAL, message),
            Self::Plain { code, message } => simple(http_status(*code, false), *code, message),
        }
    }
}

impl ApiError {
    /// The HTTP status and the encoded JSON body, for answers written outside axum (the
    /// listener's own refusals of requests hyper could not read).
    #[must_use]
    pub fn to_json(&self) -> (StatusCode, i32, Vec<u8>) {
        let (status, body) = self.parts();
        let json = serde_json::to_vec(&body)
            .unwrap_or_else(|_| br#"{"code":13,"message":"error body could not be encoded"}"#.to_vec());
        (status, body.code, json)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Domain(error) = &self {
            persona_api_grpc::status::log_cause(error);
        }
        let (status, code, json) = self.to_json();
        let mut response = (status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if code == UNAUTHENTICATED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_domain::ErrorKind;
    use persona_domain::error::FieldViolation as DomainViolation;
    use serde_json::{Value, json};

    #[test]
    fn grpc_codes_map_to_http_statuses_as_the_contract_says() {
        let table = [
            (1, false, 499),
            (2, false, 500),
            (3, false, 400),
            (4, false, 504),
            (5, false, 404),
            (6, false, 409),
            (7, false, 403),
            (8, false, 429),
            (9, false, 400),
            (10, false, 409),
            (10, true, 412),
            (11, false, 400),
            (12, false, 501),
            (13, false, 500),
            (14, false, 503),
            (15, false, 500),
            (16, false, 401),
        ];
        for (code, stale, status) in table {
            assert_eq!(http_status(code, stale).as_u16(), status, "code {code}, stale {stale}");
        }
    }

    fn rendered(error: &ApiError) -> (u16, Value) {
        let (status, body) = error.parts();
        (status.as_u16(), serde_json::to_value(&body).expect("body encodes"))
    }

    #[test]
    fn errors_render_as_the_contract_json_body() {
        let violation = DomainViolation { field: "firstName".into(), description: "too short".into() };
        let table: Vec<(ApiError, u16, Value)> = vec![
            (Error::auth_header_missing().into(), 401, json!({"code": 16, "message": "auth header missing"})),
            (
                Error::token_invalid().into(),
                401,
                json!({"code": 16, "message": "Errors.Token.Invalid (AUTH-7fs1e)", "details": [
                    {"@type": ERROR_DETAIL_TYPE, "id": "AUTH-7fs1e", "message": "Errors.Token.Invalid"}
                ]}),
            ),
            (
                Error::profile_not_changed().into(),
                400,
                json!({"code": 9, "message": "Profile not changed (COMMAND-2M0fs)", "details": [
                    {"@type": ERROR_DETAIL_TYPE, "id": "COMMAND-2M0fs", "message": "Profile not changed"}
                ]}),
            ),
            (
                Error::precondition_failed(4).into(),
                412,
                json!({"code": 10,
                    "message": "The object was changed concurrently, its current sequence is 4 (PERSONA-PRE01)",
                    "details": [{"@type": ERROR_DETAIL_TYPE, "id": "PERSONA-PRE01",
                        "message": "The object was changed concurrently, its current sequence is 4"}]}),
            ),
            (
                Error::too_much_contention().into(),
                409,
                json!({"code": 10,
                    "message": "The object is being changed concurrently and nothing was written: it is safe to retry (PERSONA-CON01)",
                    "details": [{"@type": ERROR_DETAIL_TYPE, "id": "PERSONA-CON01",
                        "message": "The object is being changed concurrently and nothing was written: it is safe to retry"}]}),
            ),
            (
                Error::without_id(ErrorKind::InvalidArgument, "invalid X.FirstName: too short")
                    .with_field_violations(vec![violation.clone()])
                    .into(),
                400,
                json!({"code": 3, "message": "invalid X.FirstName: too short", "details": [
                    {"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": "firstName", "description": "too short"}]}
                ]}),
            ),
            (
                Error::new(ErrorKind::InvalidArgument, "T-1", "both").with_field_violations(vec![violation]).into(),
                400,
                json!({"code": 3, "message": "both (T-1)", "details": [
                    {"@type": ERROR_DETAIL_TYPE, "id": "T-1", "message": "both"},
                    {"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": "firstName", "description": "too short"}]}
                ]}),
            ),
            (ApiError::InvalidRequest("bad".into()), 400, json!({"code": 3, "message": "bad"})),
            (ApiError::BodyTooLarge, 413, json!({"code": 8, "message": "request body too large"})),
            (ApiError::NotFound, 404, json!({"code": 5, "message": "Not Found"})),
            (ApiError::MethodNotAllowed, 405, json!({"code": 12, "message": "Method Not Allowed"})),
            (ApiError::Internal("oops".into()), 500, json!({"code": 13, "message": "oops"})),
        ];
        for (error, status, body) in table {
            assert_eq!(rendered(&error), (status, body), "{error:?}");
        }
    }

    #[test]
    fn unauthenticated_responses_ask_for_a_bearer_token() {
        let response = ApiError::Domain(Error::auth_header_missing()).into_response();
        assert_eq!(response.headers().get(WWW_AUTHENTICATE).map(HeaderValue::as_bytes), Some(&b"Bearer"[..]));
        assert_eq!(response.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes), Some(&b"application/json"[..]));
        assert_eq!(response.headers().get(CACHE_CONTROL).map(HeaderValue::as_bytes), Some(&b"no-store"[..]));
        let other = ApiError::NotFound.into_response();
        assert!(other.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
