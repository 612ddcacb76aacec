//! The request extractors: a proto3-JSON body and a path value, both failing in our error shape.
//!
//! A body is read up to the configured limit (more: 413, code 8), an empty one is the default
//! message, and anything else must be a JSON object of the request message: malformed or
//! truncated JSON, invalid UTF-8, wrong value types, a key given twice in one object and an
//! enum name that is not one of its values answer 400 with code 3, as Go's protojson refuses
//! them ([`persona_api_grpc::proto_json`], shared with Connect). `null` values mean "default".

use crate::error::ApiError;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use persona_api_grpc::proto_json::{self, DecodeError};
use serde::de::DeserializeOwned;

/// Largest accepted request body, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// A request message decoded from its proto3 JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoJson<T>(pub T);

impl<T, St> FromRequest<St> for ProtoJson<T>
where
    T: DeserializeOwned + Default + prost::Name,
    St: Send + Sync,
    BodyLimit: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &St) -> Result<Self, Self::Rejection> {
        let BodyLimit(limit) = BodyLimit::from_ref(state);
        let collected = Limited::new(request.into_body(), limit).collect().await.map_err(|error| {
            if error.is::<LengthLimitError>() {
                ApiError::BodyTooLarge
            } else {
                ApiError::InvalidRequest(format!("request body could not be read: {error}"))
            }
        })?;
        decode(&collected.to_bytes()).map(ProtoJson)
    }
}

/// Decodes a proto3 JSON body with the rules every JSON protocol shares
/// ([`persona_api_grpc::proto_json`]); an empty (or blank) body is the default message.
///
/// # Errors
/// [`ApiError::InvalidRequest`] for anything that is not a JSON object of `T`: text that is not
/// JSON, a repeated key, an unknown enum name (naming the field), a value of the wrong type.
pub fn decode<T: DeserializeOwned + Default + prost::Name>(body: &[u8]) -> Result<T, ApiError> {
    proto_json::decode(body).map_err(|error| match error {
        DecodeError::Invalid(message) => ApiError::InvalidRequest(message),
        DecodeError::Internal(message) => ApiError::Internal(message),
    })
}

/// The one value of a path with a single parameter, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathValue(pub String);

impl<St: Send + Sync> FromRequestParts<St> for PathValue {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let Path(value) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::InvalidRequest(format!("invalid path: {}", rejection.body_text())))?;
        Ok(Self(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_api_grpc::pb::zitadel::management::v1::{
        AddHumanUserRequest, AddMachineUserRequest, AddOrgMemberRequest, ImportHumanUserRequest,
        ListUserChangesRequest, UpdateHumanProfileRequest,
    };

    fn update(body: &[u8]) -> Result<UpdateHumanProfileRequest, ApiError> {
        decode(body)
    }

    #[test]
    fn blank_bodies_are_the_default_message() {
        for body in [&b""[..], b"  \r\n"] {
            assert_eq!(update(body), Ok(UpdateHumanProfileRequest::default()));
        }
    }

    #[test]
    fn nulls_mean_default_at_any_depth() {
        let parsed = update(br#"{"firstName":null,"lastName":"L","gender":null,"nested":{"x":null}}"#);
        assert_eq!(parsed, Ok(UpdateHumanProfileRequest { last_name: "L".into(), ..Default::default() }));
        let members: AddOrgMemberRequest = decode(br#"{"userId":"1","roles":["ORG_OWNER"]}"#).expect("valid");
        assert_eq!(members.roles, ["ORG_OWNER"]);
    }

    #[test]
    fn undecodable_bodies_are_invalid_requests() {
        let table: [(&str, &[u8], &str); 6] = [
            ("truncated", br#"{"firstName":"Ada""#, "request body is not valid JSON"),
            ("garbage", b"first=Ada", "request body is not valid JSON"),
            ("invalid utf-8", b"{\"firstName\":\"\xff\"}", "request body is not valid JSON"),
            ("wrong type", br#"{"firstName":5}"#, "request body does not fit the request message"),
            ("not an object", b"[1]", "request body does not fit the request message"),
            ("top-level null", b"null", "request body does not fit the request message"),
        ];
        for (case, body, prefix) in table {
            match update(body) {
                Err(ApiError::InvalidRequest(message)) => assert!(message.starts_with(prefix), "{case}: {message}"),
                other => panic!("{case}: {other:?}"),
            }
        }
    }

    /// A refused body: case, decoder, body, what the message must contain.
    type Refusal = (&'static str, fn(&str) -> Option<String>, &'static str, &'static str);

    /// The message of a refused body, or `None` when it decodes as `T`.
    fn refusal<T: DeserializeOwned + Default + prost::Name>(body: &str) -> Option<String> {
        match decode::<T>(body.as_bytes()) {
            Ok(_) => None,
            Err(ApiError::InvalidRequest(message)) => Some(message),
            Err(other) => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth_as_protojson_does() {
        type Update = UpdateHumanProfileRequest;
        let table: [Refusal; 7] = [
            ("top level", refusal::<Update>, r#"{"firstName":"A","firstName":"B"}"#, r#"duplicate field "firstName""#),
            (
                "a null first",
                refusal::<Update>,
                r#"{"firstName":null,"firstName":"B"}"#,
                r#"duplicate field "firstName""#,
            ),
            (
                "both spellings",
                refusal::<Update>,
                r#"{"firstName":"A","first_name":"B"}"#,
                "duplicate field `firstName`",
            ),
            (
                "nested",
                refusal::<AddHumanUserRequest>,
                r#"{"profile":{"lastName":"A","lastName":"A"}}"#,
                r#"duplicate field "lastName""#,
            ),
            (
                "in a list",
                refusal::<ImportHumanUserRequest>,
                r#"{"idps":[{"configId":"1","configId":"2"}]}"#,
                r#"duplicate field "configId""#,
            ),
            (
                "deeper",
                refusal::<ListUserChangesRequest>,
                r#"{"query":{"limit":1,"limit":2}}"#,
                r#"duplicate field "limit""#,
            ),
            ("an unknown field", refusal::<Update>, r#"{"extra":1,"extra":1}"#, r#"duplicate field "extra""#),
        ];
        for (case, decode_as, body, wanted) in table {
            let message = decode_as(body).unwrap_or_else(|| panic!("{case}: {body} was accepted"));
            assert!(message.starts_with("request body does not fit the request message: "), "{case}: {message}");
            assert!(message.contains(wanted), "{case}: {message}");
        }
        assert_eq!(refusal::<AddHumanUserRequest>(r#"{"profile":{"firstName":"A"},"email":{"firstName":"A"}}"#), None);
    }

    #[test]
    fn unknown_enum_names_are_refused_naming_the_field_and_unknown_numbers_read_as_unspecified() {
        let refused: [Refusal; 6] = [
            (
                "top level",
                refusal::<UpdateHumanProfileRequest>,
                r#"{"gender":"GENDER_NOPE"}"#,
                r#"enum field gender: "GENDER_NOPE""#,
            ),
            (
                "names are case-sensitive",
                refusal::<UpdateHumanProfileRequest>,
                r#"{"gender":"gender_female"}"#,
                "enum field gender:",
            ),
            ("an empty name", refusal::<UpdateHumanProfileRequest>, r#"{"gender":""}"#, r#"enum field gender: """#),
            (
                "nested",
                refusal::<AddHumanUserRequest>,
                r#"{"profile":{"gender":"MALE"}}"#,
                r#"enum field profile.gender: "MALE""#,
            ),
            (
                "import",
                refusal::<ImportHumanUserRequest>,
                r#"{"profile":{"gender":"X"}}"#,
                "enum field profile.gender:",
            ),
            (
                "snake_case key",
                refusal::<AddMachineUserRequest>,
                r#"{"access_token_type":"JWT"}"#,
                r#"enum field accessTokenType: "JWT""#,
            ),
        ];
        for (case, decode_as, body, wanted) in refused {
            let message = decode_as(body).unwrap_or_else(|| panic!("{case}: {body} was accepted"));
            assert!(message.starts_with("request body does not fit the request message: "), "{case}: {message}");
            assert!(message.contains(&format!("invalid value for {wanted}")), "{case}: {message}");
        }
        let read = |body: &str| update(body.as_bytes()).map(|request| request.gender);
        assert_eq!(read(r#"{"gender":"GENDER_DIVERSE"}"#), Ok(3));
        assert_eq!(read(r#"{"gender":2}"#), Ok(2));
        assert_eq!(read(r#"{"gender":99}"#), Ok(0), "an unknown number is unspecified");
        assert_eq!(read(r#"{"gender":null}"#), Ok(0));
        let machine: AddMachineUserRequest = decode(br#"{"accessTokenType":"ACCESS_TOKEN_TYPE_JWT"}"#).expect("known");
        assert_eq!(machine.access_token_type, 1);
    }
}
