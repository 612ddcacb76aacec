//! Decoding a request message from proto3 JSON, the way Go's protojson (behind ZITADEL's
//! gateway) does, for every JSON protocol Persona serves (REST and Connect).
//!
//! An empty (or blank) body is the default message; anything else must be a JSON object of the
//! request message: malformed or truncated JSON, invalid UTF-8, wrong value types, a key given
//! twice in one object and an enum name that is not one of its values are refused
//! ([`strict`]). `null` values mean "default" in proto3 JSON, but the generated decoders reject
//! them on scalar fields, so they are removed first.

mod strict;

use crate::descriptors::Descriptors;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::error::Category;

/// Why a body is not a request message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The client's fault; the text is meant for the client (`request body is not valid JSON: …`).
    #[error("{0}")]
    Invalid(String),
    /// The compiled-in descriptors could not be read (a build defect).
    #[error("{0}")]
    Internal(String),
}

/// Decodes a proto3 JSON body into `T`; an empty (or blank) body is the default message.
///
/// # Errors
/// [`DecodeError::Invalid`] for anything that is not a JSON object of `T`: text that is not
/// JSON, a repeated key, an unknown enum name (naming the field), a value of the wrong type.
pub fn decode<T: DeserializeOwned + Default + prost::Name>(body: &[u8]) -> Result<T, DecodeError> {
    const MISFIT: &str = "request body does not fit the request message";
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let mut value = strict::parse_unique_keys(body).map_err(|error| match error.classify() {
        Category::Data => DecodeError::Invalid(format!("{MISFIT}: {error}")),
        Category::Io | Category::Syntax | Category::Eof => {
            DecodeError::Invalid(format!("request body is not valid JSON: {error}"))
        }
    })?;
    let descriptors = Descriptors::shared().map_err(DecodeError::Internal)?;
    strict::check_enum_names(descriptors, &T::full_name(), &value)
        .map_err(|e| DecodeError::Invalid(format!("{MISFIT}: {e}")))?;
    strip_nulls(&mut value);
    serde_json::from_value(value).map_err(|error| DecodeError::Invalid(format!("{MISFIT}: {error}")))
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
