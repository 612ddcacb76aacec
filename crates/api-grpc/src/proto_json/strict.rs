//! Two proto3 JSON rules that neither serde_json nor the generated decoders enforce, checked
//! the way Go's protojson (behind ZITADEL's gateway) checks them:
//!
//! - a key appears at most once in an object, at any depth (serde_json keeps the last one);
//! - an enum given by name names one of its values (the decoders are built to read unknown
//!   *numbers* as unspecified, as CONTRACT section 3 says, and would read unknown names so too).
//!   Numbers stay lenient.

use crate::descriptors::{Descriptors, json_name, strip};
use prost_types::FieldDescriptorProto;
use prost_types::field_descriptor_proto::{Label, Type};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses `body` as one JSON value and refuses an object that repeats a key.
///
/// # Errors
/// serde_json's error: of category `Data` (`duplicate field "firstName" at line 1 column 30`)
/// for a repeated key, `Syntax` or `Eof` for text that is not JSON.
pub(super) fn parse_unique_keys(body: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = UniqueKeys.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Builds a [`Value`] like serde_json's own visitor, but fails on a repeated object key.
/// serde_json's deserializer bounds the nesting depth, so the recursion is bounded too.
struct UniqueKeys;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = items.next_element_seed(UniqueKeys)? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = members.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format_args!("duplicate field {key:?}")));
            }
            let value = members.next_value_seed(UniqueKeys)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Checks that every enum member given by name, at any depth of `value` (a JSON object of the
/// message called `message`, e.g. `zitadel.management.v1.AddHumanUserRequest`), names a value
/// of its enum. Members that are not fields of the message, and values of the wrong JSON type,
/// are left to the decoder (it ignores the first and refuses the second).
///
/// # Errors
/// `invalid value for enum field profile.gender: "GENDER_NOPE"`: the JSON path of the member
/// and the name as given.
pub(super) fn check_enum_names(descriptors: &Descriptors, message: &str, value: &Value) -> Result<(), String> {
    walk_message(descriptors, message, value, "")
}

fn walk_message(descriptors: &Descriptors, message: &str, value: &Value, path: &str) -> Result<(), String> {
    // Well-known types have JSON forms of their own; none holds one of our enums.
    if message.starts_with("google.protobuf.") {
        return Ok(());
    }
    let (Some(descriptor), Value::Object(members)) = (descriptors.message(message), value) else {
        return Ok(());
    };
    for (key, member) in members {
        let Some(field) = descriptor.field.iter().find(|field| names_field(key, field)) else {
            continue;
        };
        let path = if path.is_empty() { json_name(field) } else { format!("{path}.{}", json_name(field)) };
        if let Some(entry) = descriptors.map_entry(field) {
            let Some(value_field) = entry.field.iter().find(|f| f.number() == 2) else { continue };
            if let Value::Object(entries) = member {
                for (map_key, entry_value) in entries {
                    walk_value(descriptors, value_field, entry_value, &format!("{path}[{map_key:?}]"))?;
                }
            }
        } else if field.label() == Label::Repeated {
            if let Value::Array(items) = member {
                for (index, item) in items.iter().enumerate() {
                    walk_value(descriptors, field, item, &format!("{path}[{index}]"))?;
                }
            }
        } else {
            walk_value(descriptors, field, member, &path)?;
        }
    }
    Ok(())
}

/// One value of `field` (an element, for repeated fields).
fn walk_value(
    descriptors: &Descriptors,
    field: &FieldDescriptorProto,
    value: &Value,
    path: &str,
) -> Result<(), String> {
    match field.r#type() {
        Type::Enum => match value {
            Value::String(name) => {
                let known = descriptors
                    .enums
                    .get(strip(field.type_name()))
                    .is_some_and(|enumeration| enumeration.value.iter().any(|v| v.name() == name));
                if known { Ok(()) } else { Err(format!("invalid value for enum field {path}: {name:?}")) }
            }
            _ => Ok(()),
        },
        Type::Message | Type::Group => walk_message(descriptors, strip(field.type_name()), value, path),
        _ => Ok(()),
    }
}

/// Whether a JSON key names `field`: its JSON name or its original name (proto3 JSON accepts both).
fn names_field(key: &str, field: &FieldDescriptorProto) -> bool {
    key == field.name() || if field.json_name().is_empty() { key == json_name(field) } else { key == field.json_name() }
}
