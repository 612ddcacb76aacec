//! The one mapping of a domain [`Error`] to a gRPC [`tonic::Status`] (gRPC and gRPC-Web).
//!
//! Code from the error kind, message = the compat message (`"<text> (<ID>)"`). Details travel
//! in `grpc-status-details-bin` as an encoded `google.rpc.Status`: a `zitadel.v1.ErrorDetail`
//! when the error has an id, then a `google.rpc.BadRequest` when it lists field violations.
//! An error with neither carries no details at all.

use crate::pb::google::protobuf::Any;
use crate::pb::google::rpc::{self as google_rpc, bad_request};
use crate::pb::zitadel::v1::ErrorDetail;
use http::StatusCode;
use persona_domain::Error;
use prost::bytes::Bytes;
use prost::{Message, Name};
use tonic::{Code, Status};

/// The HTTP status of gRPC code `code` (CONTRACT section 4), for the protocols that answer
/// errors with an HTTP status (REST, Connect): 9 `FailedPrecondition` is 400, an unknown code 500.
#[must_use]
pub fn http_status(code: i32) -> StatusCode {
    match code {
        1 => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        3 | 9 | 11 => StatusCode::BAD_REQUEST,
        4 => StatusCode::GATEWAY_TIMEOUT,
        5 => StatusCode::NOT_FOUND,
        6 | 10 => StatusCode::CONFLICT,
        7 => StatusCode::FORBIDDEN,
        8 => StatusCode::TOO_MANY_REQUESTS,
        12 => StatusCode::NOT_IMPLEMENTED,
        14 => StatusCode::SERVICE_UNAVAILABLE,
        16 => StatusCode::UNAUTHORIZED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The typed details of `error`, in the order clients see them (ErrorDetail first).
#[must_use]
pub fn details(error: &Error) -> Vec<Any> {
    let mut details = Vec::new();
    if let Some(id) = error.id() {
        let detail = ErrorDetail { id: id.to_owned(), message: error.text().to_owned() };
        details.push(Any { type_url: ErrorDetail::type_url(), value: detail.encode_to_vec().into() });
    }
    if !error.field_violations().is_empty() {
        let field_violations = error
            .field_violations()
            .iter()
            .map(|v| bad_request::FieldViolation { field: v.field.clone(), description: v.description.clone() })
            .collect();
        let bad_request = google_rpc::BadRequest { field_violations };
        details.push(Any { type_url: google_rpc::BadRequest::type_url(), value: bad_request.encode_to_vec().into() });
    }
    details
}

/// Logs the internal cause of `error`, if it has one, in the request's span: the one place a
/// storage failure's text or a broken rule is written down (the client sees only the contract's
/// generic message). Every protocol's edge calls this once per failed request.
pub fn log_cause(error: &Error) {
    if let Some(cause) = error.cause() {
        tracing::error!(code = error.kind().grpc_code(), id = error.id(), cause, "internal error");
    }
}

/// `error` as the status a gRPC or gRPC-Web client receives.
#[must_use]
pub fn to_status(error: &Error) -> Status {
    log_cause(error);
    let number = error.kind().grpc_code();
    let code = Code::from_i32(number);
    let message = error.message();
    let details = details(error);
    if details.is_empty() {
        return Status::new(code, message);
    }
    let rich = google_rpc::Status { code: number, message: message.clone(), details };
    Status::with_details(code, message, Bytes::from(rich.encode_to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_domain::ErrorKind;
    use persona_domain::error::FieldViolation;

    /// What a client decodes from `grpc-status-details-bin`: (type URL, ErrorDetail or
    /// BadRequest fields as text).
    fn decoded(status: &Status) -> Vec<(String, String)> {
        if status.details().is_empty() {
            return Vec::new();
        }
        let rich = google_rpc::Status::decode(status.details()).expect("details are a google.rpc.Status");
        assert_eq!(rich.code, status.code() as i32);
        assert_eq!(rich.message, status.message());
        rich.details
            .into_iter()
            .map(|any| {
                let text = if any.type_url == ErrorDetail::type_url() {
                    let detail = ErrorDetail::decode(any.value).expect("ErrorDetail");
                    format!("{}: {}", detail.id, detail.message)
                } else {
                    let bad = google_rpc::BadRequest::decode(any.value).expect("BadRequest");
                    bad.field_violations.iter().map(|v| v.field.as_str()).collect::<Vec<_>>().join(",")
                };
                (any.type_url, text)
            })
            .collect()
    }

    const ERROR_DETAIL: &str = "type.googleapis.com/zitadel.v1.ErrorDetail";
    const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";

    #[test]
    fn errors_map_to_code_message_and_details() {
        let violation = |field: &str| FieldViolation { field: field.into(), description: "too long".into() };
        let invalid = Error::without_id(ErrorKind::InvalidArgument, "invalid X.FirstName: too long")
            .with_field_violations(vec![violation("firstName"), violation("lastName")]);
        type Case = (Error, Code, &'static str, Vec<(&'static str, &'static str)>);
        let table: Vec<Case> = vec![
            (Error::auth_header_missing(), Code::Unauthenticated, "auth header missing", vec![]),
            (
                Error::token_invalid(),
                Code::Unauthenticated,
                "Errors.Token.Invalid (AUTH-7fs1e)",
                vec![(ERROR_DETAIL, "AUTH-7fs1e: Errors.Token.Invalid")],
            ),
            (
                Error::profile_not_changed(),
                Code::FailedPrecondition,
                "Profile not changed (COMMAND-2M0fs)",
                vec![(ERROR_DETAIL, "COMMAND-2M0fs: Profile not changed")],
            ),
            (
                Error::user_not_found_query(),
                Code::NotFound,
                "User could not be found (QUERY-HNhb3)",
                vec![(ERROR_DETAIL, "QUERY-HNhb3: User could not be found")],
            ),
            (
                Error::user_already_exists(),
                Code::AlreadyExists,
                "User already exists (V3-DKcYh)",
                vec![(ERROR_DETAIL, "V3-DKcYh: User already exists")],
            ),
            (
                Error::permission_missing(),
                Code::PermissionDenied,
                "No matching permissions found (AUTH-5mWD2)",
                vec![(ERROR_DETAIL, "AUTH-5mWD2: No matching permissions found")],
            ),
            (
                Error::precondition_failed(9),
                Code::Aborted,
                "The object was changed concurrently, its current sequence is 9 (PERSONA-PRE01)",
                vec![(ERROR_DETAIL, "PERSONA-PRE01: The object was changed concurrently, its current sequence is 9")],
            ),
            (
                Error::storage_unavailable(),
                Code::Unavailable,
                "The database is not available (PERSONA-DB001)",
                vec![(ERROR_DETAIL, "PERSONA-DB001: The database is not available")],
            ),
            (
                Error::storage_corrupt(),
                Code::Internal,
                "Stored data could not be read (PERSONA-DB002)",
                vec![(ERROR_DETAIL, "PERSONA-DB002: Stored data could not be read")],
            ),
            (
                invalid.clone(),
                Code::InvalidArgument,
                "invalid X.FirstName: too long",
                vec![(BAD_REQUEST, "firstName,lastName")],
            ),
            (
                Error::new(ErrorKind::InvalidArgument, "T-1", "both").with_field_violations(vec![violation("a")]),
                Code::InvalidArgument,
                "both (T-1)",
                vec![(ERROR_DETAIL, "T-1: both"), (BAD_REQUEST, "a")],
            ),
        ];
        for (error, code, message, expected) in table {
            let status = to_status(&error);
            assert_eq!(status.code(), code, "{message}");
            assert_eq!(status.message(), message);
            let expected: Vec<(String, String)> =
                expected.into_iter().map(|(url, text)| (url.to_owned(), text.to_owned())).collect();
            assert_eq!(decoded(&status), expected, "{message}");
        }
    }

    #[test]
    fn every_error_kind_keeps_its_grpc_code() {
        let kinds = [
            ErrorKind::InvalidArgument,
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
            ErrorKind::PermissionDenied,
            ErrorKind::ResourceExhausted,
            ErrorKind::FailedPrecondition,
            ErrorKind::Aborted,
            ErrorKind::Unimplemented,
            ErrorKind::Internal,
            ErrorKind::Unavailable,
            ErrorKind::Unauthenticated,
        ];
        for kind in kinds {
            let status = to_status(&Error::without_id(kind, "x"));
            assert_eq!(status.code() as i32, kind.grpc_code(), "{kind:?}");
            assert!(status.details().is_empty());
        }
    }
}
