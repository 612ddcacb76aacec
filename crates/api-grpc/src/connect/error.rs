//! Connect's error answer (CONTRACT section 7): the HTTP status of the contract's table
//! ([`crate::status::http_status`]), `content-type: application/json` and
//! `{"code":"<snake_case name>","message":"<text> (<ID>)","details":[{"type":"zitadel.v1.ErrorDetail","value":"<unpadded base64>"}]}`.
//!
//! A domain error carries the code, message and typed details of its gRPC status
//! ([`crate::status::details`]): the `zitadel.v1.ErrorDetail`, then a `google.rpc.BadRequest`
//! when it lists field violations, so a Connect client decodes what a gRPC client does.

use crate::pb::google::protobuf::Any;
use crate::status;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, StatusCode};
use persona_domain::Error;
use serde::Serialize;

/// gRPC code `Unauthenticated`.
const UNAUTHENTICATED: i32 = 16;

/// Connect's name of gRPC code `code` (`invalid_argument`); `unknown` for a number outside 1..=16.
#[must_use]
pub fn code_name(code: i32) -> &'static str {
    match code {
        1 => "canceled",
        3 => "invalid_argument",
        4 => "deadline_exceeded",
        5 => "not_found",
        6 => "already_exists",
        7 => "permission_denied",
        8 => "resource_exhausted",
        9 => "failed_precondition",
        10 => "aborted",
        11 => "out_of_range",
        12 => "unimplemented",
        13 => "internal",
        14 => "unavailable",
        15 => "data_loss",
        16 => "unauthenticated",
        _ => "unknown",
    }
}

/// A failed Connect call, as it is answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    status: StatusCode,
    code: i32,
    message: String,
    details: Vec<Any>,
    header: Option<(&'static str, &'static str)>,
}

impl ConnectError {
    /// An error with gRPC code `code`, `message` and no details; the HTTP status is the table's.
    #[must_use]
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { status: status::http_status(code), code, message: message.into(), details: Vec::new(), header: None }
    }

    /// The answer to a domain error: its code, message and details, as over gRPC. Logs the
    /// internal cause, if any ([`status::log_cause`]).
    #[must_use]
    pub fn from_domain(error: &Error) -> Self {
        status::log_cause(error);
        Self { details: status::details(error), ..Self::new(error.kind().grpc_code(), error.message()) }
    }

    /// The same error answered with HTTP `status` rather than the table's (415, 405, 404).
    #[must_use]
    pub fn with_status(self, status: StatusCode) -> Self {
        Self { status, ..self }
    }

    /// The same error with one more response header (`Accept-Post`, `Allow`, `Accept-Encoding`).
    #[must_use]
    pub fn with_header(self, name: &'static str, value: &'static str) -> Self {
        Self { header: Some((name, value)), ..self }
    }

    /// The gRPC code.
    #[must_use]
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> Vec<u8> {
        let details = self
            .details
            .iter()
            .map(|any| Detail {
                r#type: any.type_url.strip_prefix("type.googleapis.com/").unwrap_or(&any.type_url),
                value: STANDARD_NO_PAD.encode(&any.value),
            })
            .collect();
        let body = Body { code: code_name(self.code), message: &self.message, details };
        serde_json::to_vec(&body).unwrap_or_else(|_| br#"{"code":"internal"}"#.to_vec())
    }
}

/// The JSON body of a Connect error.
#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<Detail<'a>>,
}

/// One entry of `details`: the message's full name and its encoding in unpadded base64.
#[derive(Serialize)]
struct Detail<'a> {
    r#type: &'a str,
    value: String,
}

impl IntoResponse for ConnectError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.code == UNAUTHENTICATED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some((name, value)) = self.header {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::google::rpc::BadRequest;
    use crate::pb::zitadel::v1::ErrorDetail;
    use persona_domain::ErrorKind;
    use persona_domain::error::FieldViolation;
    use prost::Message as _;
    use serde_json::{Value, json};

    fn body(error: &ConnectError) -> Value {
        serde_json::from_slice(&error.body()).expect("JSON body")
    }

    #[test]
    fn every_code_has_its_connect_name_and_the_contract_status() {
        let table = [
            (1, "canceled", 499),
            (2, "unknown", 500),
            (3, "invalid_argument", 400),
            (4, "deadline_exceeded", 504),
            (5, "not_found", 404),
            (6, "already_exists", 409),
            (7, "permission_denied", 403),
            (8, "resource_exhausted", 429),
            (9, "failed_precondition", 400),
            (10, "aborted", 409),
            (11, "out_of_range", 400),
            (12, "unimplemented", 501),
            (13, "internal", 500),
            (14, "unavailable", 503),
            (15, "data_loss", 500),
            (16, "unauthenticated", 401),
        ];
        for (code, name, http) in table {
            let error = ConnectError::new(code, "m");
            assert_eq!((code_name(code), error.status().as_u16()), (name, http), "code {code}");
            assert_eq!(body(&error), json!({"code": name, "message": "m"}));
        }
    }

    #[test]
    fn domain_errors_carry_the_grpc_details_in_unpadded_base64() {
        let error = ConnectError::from_domain(&Error::profile_not_changed());
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let json = body(&error);
        assert_eq!(json["code"], "failed_precondition");
        assert_eq!(json["message"], "Profile not changed (COMMAND-2M0fs)");
        let details = json["details"].as_array().expect("details");
        assert_eq!(details.len(), 1);
        assert_eq!(details[0]["type"], "zitadel.v1.ErrorDetail");
        let value = details[0]["value"].as_str().expect("value");
        assert!(!value.ends_with('='), "unpadded: {value}");
        let detail = ErrorDetail::decode(STANDARD_NO_PAD.decode(value).expect("base64").as_slice()).expect("detail");
        assert_eq!((detail.id.as_str(), detail.message.as_str()), ("COMMAND-2M0fs", "Profile not changed"));

        let violation = FieldViolation { field: "firstName".into(), description: "too long".into() };
        let invalid = Error::new(ErrorKind::InvalidArgument, "T-1", "both").with_field_violations(vec![violation]);
        let json = body(&ConnectError::from_domain(&invalid));
        let types: Vec<&str> =
            json["details"].as_array().into_iter().flatten().filter_map(|d| d["type"].as_str()).collect();
        assert_eq!(types, ["zitadel.v1.ErrorDetail", "google.rpc.BadRequest"]);
        let value = json["details"][1]["value"].as_str().expect("value");
        let bad = BadRequest::decode(STANDARD_NO_PAD.decode(value).expect("base64").as_slice()).expect("BadRequest");
        assert_eq!(bad.field_violations[0].field, "firstName");

        let bare = body(&ConnectError::from_domain(&Error::auth_header_missing()));
        assert_eq!(bare, json!({"code": "unauthenticated", "message": "auth header missing"}));
    }

    #[test]
    fn the_answer_is_json_with_its_status_and_headers() {
        let response = ConnectError::from_domain(&Error::token_invalid()).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
        let response = ConnectError::new(12, "no")
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_header("accept-post", "application/json")
            .into_response();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(response.headers()["accept-post"], "application/json");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
