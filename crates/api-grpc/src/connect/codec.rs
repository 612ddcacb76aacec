//! The two Connect codecs Persona serves: `application/json` (proto3 JSON, read with the same
//! strict rules as REST, [`crate::proto_json`]) and `application/proto` (binary protobuf). The
//! request's codec is the response's.

use super::error::ConnectError;
use crate::proto_json::{self, DecodeError};
use http::HeaderValue;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// gRPC code `InvalidArgument`.
const INVALID_ARGUMENT: i32 = 3;
/// gRPC code `Internal`.
const INTERNAL: i32 = 13;

/// The content types a Connect unary request may have, for `Accept-Post`.
pub const ACCEPTED: &str = "application/json, application/proto";

/// How a request message (and so its response) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `application/json`: proto3 JSON, UTF-8.
    Json,
    /// `application/proto`: binary protobuf.
    Proto,
}

impl Codec {
    /// The codec of a request's `content-type`: `application/json` (with no charset or
    /// `charset=utf-8`) or `application/proto`, case-insensitive; `None` for anything else,
    /// including Connect's streaming types (`application/connect+json`).
    #[must_use]
    pub fn of(content_type: Option<&HeaderValue>) -> Option<Self> {
        let text = content_type?.to_str().ok()?;
        let mut parts = text.split(';');
        let media = parts.next()?.trim().to_ascii_lowercase();
        let params: Vec<(String, String)> = parts
            .map(|p| {
                let (name, value) = p.split_once('=').unwrap_or((p, ""));
                (name.trim().to_ascii_lowercase(), value.trim().trim_matches('"').to_ascii_lowercase())
            })
            .collect();
        match media.as_str() {
            "application/json" => {
                params.iter().all(|(name, value)| name == "charset" && value == "utf-8").then_some(Self::Json)
            }
            "application/proto" if params.is_empty() => Some(Self::Proto),
            _ => None,
        }
    }

    /// The response's `content-type`.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Proto => "application/proto",
        }
    }

    /// `body` as the request message `T`.
    ///
    /// # Errors
    /// `invalid_argument` for a body that is not a `T` in this codec (the JSON rules are REST's).
    pub fn decode<T: Message + Default + DeserializeOwned + prost::Name>(self, body: &[u8]) -> Result<T, ConnectError> {
        match self {
            Self::Json => proto_json::decode(body).map_err(|error| match error {
                DecodeError::Invalid(message) => ConnectError::new(INVALID_ARGUMENT, message),
                DecodeError::Internal(message) => ConnectError::new(INTERNAL, message),
            }),
            Self::Proto => T::decode(body).map_err(|error| {
                ConnectError::new(INVALID_ARGUMENT, format!("request body is not a {}: {error}", T::full_name()))
            }),
        }
    }

    /// `message` in this codec.
    ///
    /// # Errors
    /// `internal` when the message has no JSON form (a bug: enum fields are set from domain types).
    pub fn encode<T: Message + Serialize>(self, message: &T) -> Result<Vec<u8>, ConnectError> {
        match self {
            Self::Json => serde_json::to_vec(message)
                .map_err(|error| ConnectError::new(INTERNAL, format!("response could not be encoded: {error}"))),
            Self::Proto => Ok(message.encode_to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::zitadel::management::v1::UpdateHumanProfileRequest;

    #[test]
    fn content_types_select_a_codec_or_none() {
        let table = [
            ("application/json", Some(Codec::Json)),
            ("Application/JSON", Some(Codec::Json)),
            ("application/json; charset=utf-8", Some(Codec::Json)),
            ("application/json;charset=\"UTF-8\"", Some(Codec::Json)),
            ("application/json; charset=latin1", None),
            ("application/proto", Some(Codec::Proto)),
            ("application/proto; x=1", None),
            ("application/connect+json", None),
            ("application/grpc", None),
            ("text/plain", None),
            ("application/xml", None),
        ];
        for (value, codec) in table {
            assert_eq!(Codec::of(Some(&HeaderValue::from_static(value))), codec, "{value}");
        }
        assert_eq!(Codec::of(None), None);
    }

    #[test]
    fn both_codecs_round_trip_a_message_and_refuse_a_misfit() {
        let message = UpdateHumanProfileRequest {
            user_id: "7".into(),
            first_name: "Ada".into(),
            gender: 1,
            ..Default::default()
        };
        for codec in [Codec::Json, Codec::Proto] {
            let body = codec.encode(&message).expect("encodes");
            assert_eq!(codec.decode::<UpdateHumanProfileRequest>(&body), Ok(message.clone()), "{codec:?}");
        }
        assert_eq!(
            Codec::Json.encode(&message).expect("json"),
            br#"{"userId":"7","firstName":"Ada","gender":"GENDER_FEMALE"}"#
        );
        let refused = [
            (Codec::Json, &br#"{"firstName":"A","firstName":"B"}"#[..], "duplicate field"),
            (Codec::Json, br#"{"gender":"NOPE"}"#, "invalid value for enum field gender"),
            (Codec::Json, b"{", "request body is not valid JSON"),
            (Codec::Proto, b"\xff\xff\xff", "request body is not a zitadel.management.v1.UpdateHumanProfileRequest"),
        ];
        for (codec, body, wanted) in refused {
            let error = codec.decode::<UpdateHumanProfileRequest>(body).expect_err("refused");
            assert_eq!(error.code(), INVALID_ARGUMENT);
            assert!(error.message().contains(wanted), "{codec:?}: {}", error.message());
        }
    }
}
