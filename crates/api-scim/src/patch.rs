//! SCIM PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove`, with and without `path`,
//! including value-filtered paths such as `emails[type eq "work"].value`, applied to the
//! user's SCIM representation. The result is then stored as a replacement through the domain,
//! guarded by the version it was read at, so a PATCH is one ordinary, version-checked command.

use crate::errors::{ScimError, ScimType};
use crate::filter::{self, Filter};
use crate::resource::{USER_SCHEMA, member};
use serde_json::{Map, Value};

/// The PatchOp message's schema.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations in one PATCH.
pub const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// How an attribute of the User schema is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Simple,
    Complex(&'static [&'static str]),
    MultiValued(&'static [&'static str]),
}

const VALUE_SUBS: &[&str] = &["value", "type", "primary"];

/// The writable attributes: their canonical names and shapes.
const ATTRIBUTES: [(&str, Shape); 10] = [
    ("userName", Shape::Simple),
    ("name", Shape::Complex(&["givenName", "familyName"])),
    ("displayName", Shape::Simple),
    ("nickName", Shape::Simple),
    ("preferredLanguage", Shape::Simple),
    ("locale", Shape::Simple),
    ("emails", Shape::MultiValued(VALUE_SUBS)),
    ("phoneNumbers", Shape::MultiValued(VALUE_SUBS)),
    ("active", Shape::Simple),
    ("externalId", Shape::Simple),
];

const READ_ONLY: [&str; 3] = ["id", "meta", "schemas"];

/// A parsed PATCH path.
#[derive(Debug, Clone)]
struct Target {
    attr: &'static str,
    shape: Shape,
    filter: Option<Filter>,
    sub: Option<&'static str>,
}

fn canonical_sub(shape: Shape, sub: &str) -> Option<&'static str> {
    match shape {
        Shape::Complex(subs) | Shape::MultiValued(subs) => subs.iter().copied().find(|s| s.eq_ignore_ascii_case(sub)),
        Shape::Simple => None,
    }
}

fn strip_schema(raw: &str) -> Result<&str, ScimError> {
    let raw = raw.trim();
    if raw.len() > USER_SCHEMA.len() && raw[..USER_SCHEMA.len()].eq_ignore_ascii_case(USER_SCHEMA) {
        return raw[USER_SCHEMA.len()..]
            .strip_prefix(':')
            .ok_or_else(|| ScimError::path(format!("{raw:?} is no path")));
    }
    if raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Err(ScimError::path(format!("{raw:?} names a schema Persona does not serve")));
    }
    Ok(raw)
}

/// Parses `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
fn target(raw: &str) -> Result<Target, ScimError> {
    let raw = strip_schema(raw)?;
    let (head, filter, rest) = match raw.find('[') {
        Some(open) => {
            let close = raw.rfind(']').filter(|c| *c > open).ok_or_else(|| ScimError::path("']' expected"))?;
            let inner = &raw[open + 1..close];
            let filter =
                filter::parse_element_filter(inner).map_err(|e| ScimError::path(format!("invalid path: {e}")))?;
            (&raw[..open], Some(filter), &raw[close + 1..])
        }
        None => (raw, None, ""),
    };
    let (attr, sub) = match (filter.is_some(), head.split_once('.')) {
        (false, Some((attr, sub))) => (attr, Some(sub)),
        (true, Some(_)) => return Err(ScimError::path(format!("{raw:?} is no path"))),
        (_, None) => (head, rest.strip_prefix('.').filter(|s| !s.is_empty())),
    };
    if filter.is_some() && !rest.is_empty() && sub.is_none() {
        return Err(ScimError::path(format!("{raw:?} is no path")));
    }
    if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(attr)) {
        return Err(ScimError::bad_request(ScimType::Mutability, format!("{attr} is read-only")));
    }
    let (attr, shape) = ATTRIBUTES
        .iter()
        .copied()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .ok_or_else(|| ScimError::path(format!("Persona has no attribute {attr:?}")))?;
    let sub = match sub {
        None => None,
        Some(sub) => Some(canonical_sub(shape, sub).ok_or_else(|| ScimError::path(format!("{attr} has no {sub:?}")))?),
    };
    if filter.is_some() && !matches!(shape, Shape::MultiValued(_)) {
        return Err(ScimError::path(format!("{attr} holds no values to filter")));
    }
    Ok(Target { attr, shape, filter, sub })
}

/// The key of `name` in `object`, whatever its case; other spellings are dropped.
fn canonical_key(object: &mut Map<String, Value>, name: &str) {
    let spelled: Vec<String> = object.keys().filter(|k| k.eq_ignore_ascii_case(name) && *k != name).cloned().collect();
    for key in spelled {
        if let Some(value) = object.remove(&key) {
            object.entry(name.to_owned()).or_insert(value);
        }
    }
}

/// Merges `value`'s members into `object`, names canonical where the shape knows them.
fn merge(object: &mut Map<String, Value>, value: Map<String, Value>, shape: Shape) {
    for (key, v) in value {
        let key = canonical_sub(shape, &key).map_or(key, str::to_owned);
        canonical_key(object, &key);
        object.insert(key, v);
    }
}

fn elements(doc: &mut Map<String, Value>, attr: &str) -> Result<Vec<Map<String, Value>>, ScimError> {
    match doc.remove(attr) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(values)) => values
            .into_iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o),
                _ => Err(ScimError::value(format!("each of {attr} must be an object"))),
            })
            .collect(),
        Some(_) => Err(ScimError::value(format!("{attr} must be a list"))),
    }
}

fn as_elements(value: Value, attr: &str, shape: Shape) -> Result<Vec<Map<String, Value>>, ScimError> {
    let values = match value {
        Value::Array(values) => values,
        object @ Value::Object(_) => vec![object],
        _ => return Err(ScimError::value(format!("{attr} takes a list of objects"))),
    };
    values
        .into_iter()
        .map(|v| match v {
            Value::Object(o) => {
                let mut element = Map::new();
                merge(&mut element, o, shape);
                Ok(element)
            }
            _ => Err(ScimError::value(format!("each of {attr} must be an object"))),
        })
        .collect()
}

fn is_primary(element: &Map<String, Value>) -> bool {
    matches!(member(element, "primary"), Some(Value::Bool(true)))
}

/// At most one primary: the last one marked so wins (RFC 7643 §2.4).
fn one_primary(values: &mut [Map<String, Value>]) {
    if let Some(last) = values.iter().rposition(is_primary) {
        for (i, element) in values.iter_mut().enumerate() {
            if i != last && is_primary(element) {
                element.insert("primary".to_owned(), Value::Bool(false));
            }
        }
    }
}

/// A new element from the `eq` conditions of a value filter (`type eq "work"`).
fn element_from(filter: &Filter, shape: Shape) -> Map<String, Value> {
    let mut element = Map::new();
    let mut visit = vec![filter];
    while let Some(f) = visit.pop() {
        match f {
            Filter::Compare { path, op: filter::Op::Eq, value } if path.sub.is_none() => {
                let key = canonical_sub(shape, &path.attr).map_or_else(|| path.attr.clone(), str::to_owned);
                element.insert(key, value.clone());
            }
            Filter::And(all) => visit.extend(all),
            _ => {}
        }
    }
    element
}

fn apply_multi(doc: &mut Map<String, Value>, op: Op, t: &Target, value: Option<Value>) -> Result<(), ScimError> {
    let mut values = elements(doc, t.attr)?;
    let matched: Vec<bool> = match &t.filter {
        None => vec![true; values.len()],
        Some(f) => values
            .iter()
            .map(|e| filter::element_matches(f, e).map_err(|e| ScimError::path(format!("invalid path: {e}"))))
            .collect::<Result<_, _>>()?,
    };
    let any = matched.iter().any(|m| *m);
    match (op, &t.filter, t.sub, value) {
        (Op::Remove, None, None, _) => values.clear(),
        (Op::Remove, _, sub, _) => {
            let mut kept = Vec::new();
            for (mut element, hit) in values.into_iter().zip(&matched) {
                match (hit, sub) {
                    (true, None) => {}
                    (true, Some(sub)) => {
                        element.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                        kept.push(element);
                    }
                    (false, _) => kept.push(element),
                }
            }
            values = kept;
        }
        (_, _, _, None) => return Err(ScimError::value(format!("{op:?} needs a value"))),
        (Op::Add, None, None, Some(value)) => values.extend(as_elements(value, t.attr, t.shape)?),
        (Op::Replace, None, None, Some(value)) => values = as_elements(value, t.attr, t.shape)?,
        (_, filter, sub, Some(value)) => {
            if !any {
                if op == Op::Replace && filter.is_some() {
                    return Err(ScimError::bad_request(
                        ScimType::NoTarget,
                        format!("no {} matches the filter", t.attr),
                    ));
                }
                let mut element = filter.as_ref().map(|f| element_from(f, t.shape)).unwrap_or_default();
                match sub {
                    Some(sub) => {
                        element.insert(sub.to_owned(), value);
                    }
                    None => merge(&mut element, as_object(value, t.attr)?, t.shape),
                }
                values.push(element);
            } else {
                for (element, hit) in values.iter_mut().zip(&matched) {
                    if !hit {
                        continue;
                    }
                    match sub {
                        Some(sub) => {
                            canonical_key(element, sub);
                            element.insert(sub.to_owned(), value.clone());
                        }
                        None => merge(element, as_object(value.clone(), t.attr)?, t.shape),
                    }
                }
            }
        }
    }
    one_primary(&mut values);
    if !values.is_empty() {
        doc.insert(t.attr.to_owned(), Value::Array(values.into_iter().map(Value::Object).collect()));
    }
    Ok(())
}

fn as_object(value: Value, attr: &str) -> Result<Map<String, Value>, ScimError> {
    match value {
        Value::Object(o) => Ok(o),
        _ => Err(ScimError::value(format!("{attr} takes an object here"))),
    }
}

fn apply_one(doc: &mut Map<String, Value>, op: Op, t: &Target, value: Option<Value>) -> Result<(), ScimError> {
    canonical_key(doc, t.attr);
    match t.shape {
        Shape::MultiValued(_) => apply_multi(doc, op, t, value),
        Shape::Simple => {
            match (op, value) {
                (Op::Remove, _) => {
                    doc.remove(t.attr);
                }
                (_, None) => return Err(ScimError::value(format!("{op:?} needs a value"))),
                (_, Some(value)) => {
                    doc.insert(t.attr.to_owned(), value);
                }
            }
            Ok(())
        }
        Shape::Complex(_) => {
            let mut object = match doc.remove(t.attr) {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            match (op, t.sub, value) {
                (Op::Remove, None, _) => object.clear(),
                (Op::Remove, Some(sub), _) => object.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
                (_, _, None) => return Err(ScimError::value(format!("{op:?} needs a value"))),
                (_, Some(sub), Some(value)) => {
                    canonical_key(&mut object, sub);
                    object.insert(sub.to_owned(), value);
                }
                (_, None, Some(value)) => merge(&mut object, as_object(value, t.attr)?, t.shape),
            }
            if !object.is_empty() {
                doc.insert(t.attr.to_owned(), Value::Object(object));
            }
            Ok(())
        }
    }
}

/// Applies a PatchOp message to `doc` (the user's SCIM representation).
///
/// # Errors
/// `invalidSyntax` for a message that is not a PatchOp; `invalidPath`, `mutability`,
/// `noTarget` and `invalidValue` per operation, as RFC 7644 §3.5.2 assigns them.
pub fn apply(doc: &mut Value, message: &Value) -> Result<(), ScimError> {
    let Value::Object(message) = message else { return Err(ScimError::syntax("the body must be a JSON object")) };
    let schemas = member(message, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA)))) {
        return Err(ScimError::syntax(format!("schemas must hold {PATCH_SCHEMA}")));
    }
    let Some(Value::Array(operations)) = member(message, "Operations") else {
        return Err(ScimError::syntax("Operations must be a list"));
    };
    if operations.is_empty() || operations.len() > MAX_OPERATIONS {
        return Err(ScimError::syntax(format!("Operations must hold 1 to {MAX_OPERATIONS} operations")));
    }
    let Value::Object(doc) = doc else { return Err(ScimError::syntax("the resource is no object")) };
    for operation in operations {
        let Value::Object(operation) = operation else {
            return Err(ScimError::syntax("each operation must be an object"));
        };
        let op = match member(operation, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            _ => return Err(ScimError::syntax("op must be add, replace or remove")),
        };
        let value = member(operation, "value").cloned();
        match member(operation, "path") {
            Some(Value::String(path)) => apply_one(doc, op, &target(path)?, value)?,
            Some(_) => return Err(ScimError::path("path must be a string")),
            None if op == Op::Remove => {
                return Err(ScimError::bad_request(ScimType::NoTarget, "remove needs a path"));
            }
            None => {
                let Some(Value::Object(values)) = value else {
                    return Err(ScimError::value("an operation without a path takes an object"));
                };
                for (key, value) in values {
                    // Attributes of the resource in the value: the read-only and unknown ones
                    // are ignored, as in a POST or PUT body.
                    match target(&key) {
                        Ok(t) => apply_one(doc, op, &t, Some(value))?,
                        Err(e) if e.scim_type == Some(ScimType::InvalidPath) && key.contains('[') => return Err(e),
                        Err(_) => {}
                    }
                }
            }
        }
    }
    Ok(())
}
