//! Discovery (RFC 7644 §4): what this server supports, stated exactly — PATCH, filters (with
//! the page limit), sorting and entity tags yes; bulk, password changes and groups no — and
//! the User schema with only the attributes Persona stores.

use crate::resource::USER_SCHEMA;
use serde_json::{Value, json};

/// Most results one page holds (`filter.maxResults`); larger `count`s are lowered to it.
pub const MAX_RESULTS: u32 = 200;

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// `ServiceProviderConfig`.
#[must_use]
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/persona/persona#scim-20-provisioning",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Personal access token",
            "description": "A personal access token of a machine user: Authorization: Bearer <token>",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// The `User` resource type.
#[must_use]
pub fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the organisation",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

fn attribute(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut attribute: Value, key: &str, value: Value) -> Value {
    attribute[key] = value;
    attribute
}

fn value_list(name: &str, what: &str, examples: Option<Value>) -> Value {
    let mut value = attribute("value", "string", &format!("The {what}"));
    if let Some(examples) = examples {
        value["canonicalValues"] = examples;
    }
    let sub = vec![
        with(value, "required", json!(true)),
        with(
            attribute("type", "string", &format!("The one {what} Persona keeps counts as the work one")),
            "canonicalValues",
            json!(["work"]),
        ),
    ];
    let mut list = attribute(
        name,
        "complex",
        &format!("One {what}: Persona keeps the one marked primary (else the last), which counts as primary"),
    );
    list["multiValued"] = json!(true);
    list["subAttributes"] = json!(sub);
    list
}

/// The User schema as Persona serves it: only the attributes it stores.
#[must_use]
pub fn user_schema(base: &str) -> Value {
    let name = with(
        with(attribute("name", "complex", "The person's name"), "required", json!(true)),
        "subAttributes",
        json!([
            with(attribute("givenName", "string", "First name (1..200)"), "required", json!(true)),
            with(attribute("familyName", "string", "Last name (1..200)"), "required", json!(true)),
        ]),
    );
    let languages = json!(["en", "en-US", "de", "de-CH", "fr"]);
    let attributes = json!([
        with(
            with(
                attribute("userName", "string", "Unique in the instance, case ignored (1..200)"),
                "required",
                json!(true)
            ),
            "uniqueness",
            json!("server"),
        ),
        name,
        with(
            attribute("displayName", "string", "Display name; \"First Last\" when none is given"),
            "required",
            json!(true),
        ),
        attribute("nickName", "string", "Nick name (..200)"),
        with(
            attribute("preferredLanguage", "string", "BCP 47 tag, stored in canonical form (the same as locale)"),
            "canonicalValues",
            languages.clone(),
        ),
        with(
            attribute("locale", "string", "BCP 47 tag, the same value as preferredLanguage"),
            "canonicalValues",
            languages,
        ),
        with(value_list("emails", "email address", None), "required", json!(true)),
        value_list("phoneNumbers", "phone number", Some(json!(["+41795550100", "+14155550100"]))),
        with(
            attribute(
                "active",
                "boolean",
                "Whether the user is active (false: deactivated); always present, true when not given"
            ),
            "required",
            json!(true),
        ),
    ]);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person of the organisation, as Persona stores it",
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}

/// A list response of `resources` (all of them, one page).
#[must_use]
pub fn list_of(resources: Vec<Value>) -> Value {
    list(resources.len() as u64, 1, resources)
}

/// A list response: the total, the 1-based index of the first and the page.
#[must_use]
pub fn list(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
