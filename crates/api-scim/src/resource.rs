//! The SCIM `User` resource and Persona's user (CONTRACT section 8): how a stored user reads
//! as SCIM JSON, how a SCIM body becomes a domain command, and the `attributes` /
//! `excludedAttributes` projection.

use crate::errors::ScimError;
use persona_domain::commands::{EmailInput, NewHumanRequest, PhoneInput, ProfileInput};
use persona_domain::patch::{ContactPatch, KindPatch, ProfilePatch, ProfileRules, UserPatch, Verification};
use persona_domain::service::NewProvisionedUser;
use persona_domain::time::Timestamp;
use persona_domain::user::{User, UserKind, UserState};
use serde_json::{Map, Value, json};

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// `W/"<sequence>"`: the weak entity tag of a user at `sequence`.
#[must_use]
pub fn version(sequence: u64) -> String {
    format!("W/\"{sequence}\"")
}

/// RFC 3339 UTC with microseconds, as `meta.created` and `meta.lastModified` carry them.
#[must_use]
pub fn date_time(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_micros(at.unix_micros())
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// `user` as a SCIM User; `base` is the absolute URL of `/scim/v2/{orgId}`. `None` for a
/// machine user, which SCIM does not provision.
#[must_use]
pub fn user_json(user: &User, base: &str) -> Option<Value> {
    let UserKind::Human(human) = &user.kind else { return None };
    let profile = &human.profile;
    let mut out = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id.as_str(),
        "userName": user.user_name,
        "name": {"givenName": profile.first_name(), "familyName": profile.last_name()},
        "displayName": profile.display_name(),
        "active": user.state != UserState::Inactive,
        "meta": {
            "resourceType": "User",
            "created": date_time(user.created_at),
            "lastModified": date_time(user.changed_at),
            "location": format!("{base}/Users/{}", user.id.as_str()),
            "version": version(user.sequence),
        },
    });
    if !user.external_id.is_empty() {
        out["externalId"] = json!(user.external_id);
    }
    if !profile.nick_name().is_empty() {
        out["nickName"] = json!(profile.nick_name());
    }
    let language = profile.preferred_language().as_str();
    if language != "und" && !language.is_empty() {
        out["preferredLanguage"] = json!(language);
        out["locale"] = json!(language);
    }
    if !human.email.address.is_empty() {
        out["emails"] = json!([{"value": human.email.address, "type": "work"}]);
    }
    if let Some(phone) = &human.phone {
        out["phoneNumbers"] = json!([{"value": phone.number, "type": "work"}]);
    }
    Some(out)
}

/// The value of `name` in `object`, attribute names compared without case.
pub(crate) fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn text(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match member(object, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::value(format!("{name} must be a string"))),
    }
}

/// `true`/`false`, or the strings Entra ID sends (`"True"`, `"false"`).
pub(crate) fn boolean(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::value(format!("{name} must be true or false"))),
    }
}

/// The primary element's `value` of a multi-valued attribute (else the last element's).
fn primary_value(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    let Some(values) = member(object, name) else { return Ok(None) };
    let Value::Array(values) = values else {
        return Err(ScimError::value(format!("{name} must be a list")));
    };
    let mut chosen = None;
    for element in values {
        let Value::Object(element) = element else {
            return Err(ScimError::value(format!("each of {name} must be an object")));
        };
        let primary = member(element, "primary").map(|p| boolean(p, "primary")).transpose()?.unwrap_or(false);
        let value = text(element, "value")?;
        if primary {
            return Ok(value);
        }
        chosen = value.or(chosen);
    }
    Ok(chosen)
}

/// A SCIM User body as Persona stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimUser {
    /// `userName`.
    pub user_name: String,
    /// `name.givenName`.
    pub given_name: String,
    /// `name.familyName`.
    pub family_name: String,
    /// `displayName` (empty: "First Last").
    pub display_name: String,
    /// `nickName`.
    pub nick_name: String,
    /// `preferredLanguage`, else `locale`.
    pub language: String,
    /// The primary email address.
    pub email: String,
    /// The primary phone number (empty: none).
    pub phone: String,
    /// `active` (absent: true).
    pub active: bool,
    /// `externalId`.
    pub external_id: String,
}

impl ScimUser {
    /// Reads a User body. Read-only attributes (`id`, `meta`) are ignored, as RFC 7644 §3.3
    /// lets a server do; so are attributes Persona does not have.
    ///
    /// # Errors
    /// `invalidSyntax` when it is no object or its `schemas` lack the User schema;
    /// `invalidValue` for values of the wrong type.
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let Value::Object(object) = body else { return Err(ScimError::syntax("the body must be a JSON object")) };
        let schemas = member(object, "schemas").and_then(Value::as_array);
        if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(USER_SCHEMA)))) {
            return Err(ScimError::syntax(format!("schemas must hold {USER_SCHEMA}")));
        }
        let name = match member(object, "name") {
            None => Map::new(),
            Some(Value::Object(name)) => name.clone(),
            Some(_) => return Err(ScimError::value("name must be an object")),
        };
        let language = match text(object, "preferredLanguage")? {
            Some(language) => language,
            None => text(object, "locale")?.unwrap_or_default(),
        };
        Ok(Self {
            user_name: text(object, "userName")?.unwrap_or_default(),
            given_name: text(&name, "givenName")?.unwrap_or_default(),
            family_name: text(&name, "familyName")?.unwrap_or_default(),
            display_name: text(object, "displayName")?.unwrap_or_default(),
            nick_name: text(object, "nickName")?.unwrap_or_default(),
            language,
            email: primary_value(object, "emails")?.unwrap_or_default(),
            phone: primary_value(object, "phoneNumbers")?.unwrap_or_default(),
            active: member(object, "active").map(|a| boolean(a, "active")).transpose()?.unwrap_or(true),
            external_id: text(object, "externalId")?.unwrap_or_default(),
        })
    }

    /// The domain's creation command.
    #[must_use]
    pub fn into_new_user(self) -> NewProvisionedUser {
        let human = NewHumanRequest {
            user_name: self.user_name,
            profile: Some(ProfileInput {
                first_name: self.given_name,
                last_name: self.family_name,
                nick_name: self.nick_name,
                display_name: self.display_name,
                preferred_language: self.language,
                gender: 0,
            }),
            email: Some(EmailInput { email: self.email, is_email_verified: false }),
            phone: (!self.phone.is_empty()).then_some(PhoneInput { phone: self.phone, is_phone_verified: false }),
        };
        NewProvisionedUser { human, external_id: self.external_id, active: self.active }
    }

    /// The domain's update that makes user `id` exactly this (PUT): every attribute set, the
    /// absent ones cleared; unchanged values write nothing.
    #[must_use]
    pub fn into_replacement(self, id: &str) -> UserPatch {
        let profile = ProfilePatch {
            first_name: Some(self.given_name),
            last_name: Some(self.family_name),
            nick_name: Some(self.nick_name),
            display_name: Some(self.display_name),
            preferred_language: Some(self.language),
            gender: None,
        };
        UserPatch {
            user_id: id.to_owned(),
            user_name: Some(self.user_name),
            kind: KindPatch::Human {
                profile: Some(profile),
                email: Some(ContactPatch { value: self.email, verification: Verification::Unverified }),
                phone: Some(ContactPatch { value: self.phone, verification: Verification::Unverified }),
            },
            rules: ProfileRules::Set,
            password: false,
            external_id: Some(self.external_id),
            active: Some(self.active),
        }
    }
}

/// Attributes every response holds whatever `attributes` asks (RFC 7643 §7 "always").
const ALWAYS: [&str; 2] = ["id", "schemas"];

fn strip_urn(name: &str) -> &str {
    if name.len() > USER_SCHEMA.len() && name[..USER_SCHEMA.len()].eq_ignore_ascii_case(USER_SCHEMA) {
        name[USER_SCHEMA.len()..].trim_start_matches(':')
    } else {
        name
    }
}

/// A comma-separated attribute list (`name.givenName,emails`), lower-cased.
#[must_use]
pub fn attribute_list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .map(|a| strip_urn(a.trim()).to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .collect()
}

/// Keeps only `attributes` (with `id` and `schemas`) when any are named, then drops
/// `excluded` (never `id` or `schemas`).
pub fn project(resource: &mut Value, attributes: &[String], excluded: &[String]) {
    let Value::Object(object) = resource else { return };
    if !attributes.is_empty() {
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            let lower = key.to_ascii_lowercase();
            if ALWAYS.contains(&lower.as_str()) || attributes.contains(&lower) {
                continue;
            }
            let subs: Vec<&str> = attributes.iter().filter_map(|a| a.strip_prefix(&format!("{lower}."))).collect();
            if subs.is_empty() {
                object.remove(&key);
                continue;
            }
            project_subs(object.get_mut(&key), &subs, true);
        }
    }
    for name in excluded {
        if ALWAYS.contains(&name.as_str()) {
            continue;
        }
        let (attr, sub) = name.split_once('.').map_or((name.as_str(), None), |(a, s)| (a, Some(s)));
        let key = object.keys().find(|k| k.eq_ignore_ascii_case(attr)).cloned();
        match (key, sub) {
            (Some(key), None) => {
                object.remove(&key);
            }
            (Some(key), Some(sub)) => project_subs(object.get_mut(&key), &[sub], false),
            (None, _) => {}
        }
    }
}

/// Keeps (`keep`) or drops the sub-attributes `subs` of a complex or multi-valued attribute.
fn project_subs(value: Option<&mut Value>, subs: &[&str], keep: bool) {
    let apply = |object: &mut Map<String, Value>| {
        object.retain(|k, _| subs.iter().any(|s| k.eq_ignore_ascii_case(s)) == keep);
    };
    match value {
        Some(Value::Object(object)) => apply(object),
        Some(Value::Array(values)) => values.iter_mut().filter_map(Value::as_object_mut).for_each(apply),
        _ => {}
    }
}
