//! The request extractors: a proto3-JSON body and a path value, both failing in our error shape.
//!
//! A body is read up to the configured limit (more: 413, code 8), an empty one is the default
//! message, and anything else must be a JSON object of the request message: malformed or
//! truncated JSON, invalid UTF-8 and wrong value types answer 400 with code 3. `null` values
//! mean "default" in proto3 JSON, but the generated decoders reject them on scalar fields, so
//! they are removed first.

use crate::error::ApiError;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Largest accepted request body, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// A request message decoded from its proto3 JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoJson<T>(pub T);

impl<T, St> FromRequest<St> for ProtoJson<T>
where
    T: DeserializeOwned + Default,
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

/// Decodes a proto3 JSON body; an empty (or blank) body is the default message.
///
/// # Errors
/// [`ApiError::InvalidRequest`] for anything that is not a JSON object of `T`.
pub fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::InvalidRequest(format!("request body is not valid JSON: {error}")))?;
    strip_nulls(&mut value);
    serde_json::from_value(value)
        .map_err(|error| ApiError::InvalidRequest(format!("request body does not fit the request message: {error}")))
}

/// Removes every object member whose value is `null`, at any depth (serde_json bounds depth).
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, member| !member.is_null());
            members.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
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
    use persona_api_grpc::pb::zitadel::management::v1::{AddOrgMemberRequest, UpdateHumanProfileRequest};

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
}
