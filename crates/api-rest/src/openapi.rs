//! The OpenAPI 3.0 document of the REST surface, generated — never written by hand — from two
//! sources: the route table ([`crate::catalog::ROUTES`]) and the protobuf descriptors compiled
//! into `persona-api-grpc` ([`persona_api_grpc::FILE_DESCRIPTOR_SET`]). Schemas follow the
//! proto3 JSON mapping the handlers use: lowerCamelCase names, 64-bit integers as decimal
//! strings, enums as their names, timestamps as RFC 3339 strings; zero values are omitted on
//! output, so no response property is required.
//!
//! Request schemas also carry the contract's field rules, read from the domain's table
//! ([`crate::field_rules::FIELD_RULES`], the numbers the validators use): `minLength` /
//! `maxLength`, `required` for fields that must be non-empty or present, `format: email`, the
//! org roles a member may get, and `maxLength: 0` (or the like) for fields Persona cannot store.
//! A client that follows the schema sends a valid request; one that does not gets a 400. A body
//! field that the path overrides carries no rule (its value is ignored); its path parameter does.

use crate::catalog::{ROUTES, Route};
use crate::error::{BAD_REQUEST_TYPE, ERROR_DETAIL_TYPE};
use crate::field_rules::{FIELD_RULES, FieldRule, Rule};
use persona_api_grpc::descriptors::{Descriptors, json_name, strip};
use persona_domain::auth::Role;
use persona_domain::rules::Length;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};

pub use persona_api_grpc::descriptors::SERVICE;

/// Why the document could not be generated (a defect of the compiled-in descriptors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// The descriptor set does not decode.
    #[error("the descriptor set does not decode: {0}")]
    Descriptors(String),
    /// A route names an RPC the service does not have.
    #[error("{SERVICE} has no RPC {0}")]
    UnknownRpc(String),
    /// A message or enum is referenced but not described.
    #[error("no descriptor for {0}")]
    UnknownType(String),
    /// A path placeholder is not a field of the request message.
    #[error("{rpc}: path field {field} is not in the request message")]
    UnknownPathField {
        /// The RPC.
        rpc: String,
        /// The placeholder.
        field: String,
    },
}

fn message<'a>(descriptors: &'a Descriptors, name: &str) -> Result<&'a DescriptorProto, OpenApiError> {
    descriptors.message(name).ok_or_else(|| OpenApiError::UnknownType(name.to_owned()))
}

/// The name a message has in the validators' error texts (and in [`FIELD_RULES`]): the full name
/// without its package, nested names joined by `_`, as Go's generated code names them
/// (`zitadel.management.v1.AddHumanUserRequest.Profile` → `AddHumanUserRequest_Profile`).
fn go_message_name(full_name: &str) -> String {
    let segments: Vec<&str> =
        full_name.split('.').skip_while(|segment| !segment.starts_with(|c: char| c.is_ascii_uppercase())).collect();
    segments.join("_")
}

/// The rules of field `json` (its proto3 JSON name) of message `full_name`.
fn rules_of<'r>(full_name: &str, json: &'r str) -> impl Iterator<Item = &'static FieldRule> + 'r {
    let message = go_message_name(full_name);
    FIELD_RULES.iter().filter(move |rule| rule.message == message && rule.field == json)
}

/// The names of the roles an org member may hold.
fn org_role_names() -> Vec<&'static str> {
    Role::ALL.into_iter().filter(|role| !role.is_instance_role()).map(Role::name).collect()
}

/// Writes `rule` into the property schema of `field`; returns whether the field is required.
fn apply_rule(rule: Rule, field: &FieldDescriptorProto, schema: &mut Value) -> bool {
    match rule {
        Rule::Length(Length { min, max }) => {
            schema["maxLength"] = json!(max);
            if min > 0 {
                schema["minLength"] = json!(min);
            }
            min > 0
        }
        Rule::Required => true,
        Rule::Email => {
            schema["format"] = json!("email");
            false
        }
        Rule::OrgRoles => {
            *schema = json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": org_role_names()}});
            true
        }
        Rule::Unsupported => {
            let leave_out = "Not supported by Persona: leave it out or empty";
            *schema = if field.label() == Label::Repeated {
                json!({"type": "array", "maxItems": 0, "items": {}, "description": leave_out})
            } else {
                match field.r#type() {
                    Type::Bool => json!({"type": "boolean", "enum": [false], "description": leave_out}),
                    Type::Message => json!({"type": "object", "maxProperties": 0, "description": leave_out}),
                    _ => json!({"type": "string", "maxLength": 0, "description": leave_out}),
                }
            };
            false
        }
    }
}

/// `#/components/schemas/<name>`.
fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Builds component schemas on demand, following references.
struct Schemas<'a> {
    descriptors: &'a Descriptors,
    done: BTreeMap<String, Value>,
    pending: BTreeSet<String>,
    /// (request message, proto field name) of the body fields a path value overrides.
    from_path: HashSet<(String, String)>,
}

impl Schemas<'_> {
    /// The schema of a reference to message or enum `name` (well-known types inline).
    fn reference(&mut self, name: &str) -> Value {
        match name {
            "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
            "google.protobuf.Duration" => json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"}),
            "google.protobuf.Empty" => json!({"type": "object"}),
            "google.protobuf.FieldMask" => json!({"type": "string"}),
            "google.protobuf.Struct" => json!({"type": "object", "additionalProperties": true}),
            "google.protobuf.Value" => json!({}),
            "google.protobuf.Any" => json!({
                "type": "object",
                "required": ["@type"],
                "properties": {"@type": {"type": "string"}},
                "additionalProperties": true
            }),
            _ => {
                if !self.done.contains_key(name) {
                    self.pending.insert(name.to_owned());
                }
                schema_ref(name)
            }
        }
    }

    fn scalar(&mut self, field: &FieldDescriptorProto) -> Value {
        match field.r#type() {
            Type::Double => json!({"type": "number", "format": "double"}),
            Type::Float => json!({"type": "number", "format": "float"}),
            Type::Int64 | Type::Sint64 | Type::Sfixed64 => {
                json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"})
            }
            Type::Uint64 | Type::Fixed64 => json!({"type": "string", "format": "uint64", "pattern": "^[0-9]+$"}),
            Type::Int32 | Type::Sint32 | Type::Sfixed32 => json!({"type": "integer", "format": "int32"}),
            Type::Uint32 | Type::Fixed32 => {
                json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX})
            }
            Type::Bool => json!({"type": "boolean"}),
            Type::String => json!({"type": "string"}),
            Type::Bytes => json!({"type": "string", "format": "byte"}),
            Type::Enum | Type::Message | Type::Group => self.reference(strip(field.type_name())),
        }
    }

    fn field(&mut self, field: &FieldDescriptorProto) -> Result<Value, OpenApiError> {
        if field.label() != Label::Repeated {
            return Ok(self.scalar(field));
        }
        if let Some(entry) = self.descriptors.map_entry(field) {
            let value = entry.field.iter().find(|f| f.number() == 2).map(|f| self.scalar(f)).unwrap_or(json!({}));
            return Ok(json!({"type": "object", "additionalProperties": value}));
        }
        Ok(json!({"type": "array", "items": self.scalar(field)}))
    }

    fn message(&mut self, name: &str) -> Result<Value, OpenApiError> {
        let descriptor = message(self.descriptors, name)?;
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in &descriptor.field {
            let json = json_name(field);
            let mut schema = self.field(field)?;
            if !self.from_path.contains(&(name.to_owned(), field.name().to_owned())) {
                let mut needed = false;
                for rule in rules_of(name, &json) {
                    needed |= apply_rule(rule.rule, field, &mut schema);
                }
                if needed {
                    required.push(json.clone());
                }
            }
            properties.insert(json, schema);
        }
        let mut schema = json!({"type": "object", "title": name, "properties": properties});
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        Ok(schema)
    }

    fn enumeration(&self, name: &str) -> Option<Value> {
        let descriptor = self.descriptors.enums.get(name)?;
        let names: Vec<&str> = descriptor.value.iter().map(|v| v.name()).collect();
        Some(json!({"type": "string", "title": name, "enum": names}))
    }

    /// Resolves every pending reference.
    fn finish(mut self) -> Result<BTreeMap<String, Value>, OpenApiError> {
        while let Some(name) = self.pending.pop_first() {
            let schema = match self.enumeration(&name) {
                Some(schema) => schema,
                None => self.message(&name)?,
            };
            self.done.insert(name, schema);
        }
        Ok(self.done)
    }
}

/// The placeholders of a path template: `{user_id}` → `user_id`.
fn placeholders(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn error_responses(route: &Route) -> Vec<(&'static str, &'static str)> {
    let mut statuses = vec![
        ("400", "InvalidArgument (3), FailedPrecondition (9) or an undecodable request"),
        ("401", "Unauthenticated (16)"),
        ("403", "PermissionDenied (7)"),
        ("404", "NotFound (5)"),
        ("409", "AlreadyExists (6) or Aborted (10)"),
        ("500", "Internal (13)"),
        ("503", "Unavailable (14): the database is unavailable or the server is saturated"),
        ("504", "DeadlineExceeded (4): the request took longer than the server's timeout"),
    ];
    if matches!(route.rpc, "UpdateHumanProfile" | "UpdateHumanUser" | "UpdateUser") {
        statuses.push(("412", "Aborted (10): the If-Match sequence is stale"));
    }
    if route.body {
        statuses.push(("413", "ResourceExhausted (8): the body is larger than the server's limit"));
    }
    if route.permission.is_none() {
        statuses.retain(|(status, _)| !matches!(*status, "401" | "403" | "404" | "409" | "412"));
    }
    statuses.sort_unstable();
    statuses
}

/// The operation's id: v1's RPC name, v2's prefixed (`UserService_AddHumanUser`) so that the
/// two `AddHumanUser`s stay apart.
fn operation_id(route: &Route) -> String {
    if route.service == SERVICE { route.rpc.to_owned() } else { format!("{}_{}", tag(route), route.rpc) }
}

/// The service's short name, the operation's tag.
fn tag(route: &Route) -> &'static str {
    route.service.rsplit('.').next().unwrap_or(route.service)
}

fn operation(route: &Route, descriptors: &Descriptors, schemas: &mut Schemas<'_>) -> Result<Value, OpenApiError> {
    let (input, output) =
        descriptors.method(route.service, route.rpc).ok_or_else(|| OpenApiError::UnknownRpc(route.label()))?;
    let request = message(descriptors, input)?;
    let mut parameters = Vec::new();
    for name in placeholders(route.path) {
        let Some(field) = request.field.iter().find(|f| f.name() == name) else {
            return Err(OpenApiError::UnknownPathField { rpc: route.rpc.to_owned(), field: name.to_owned() });
        };
        schemas.from_path.insert((input.clone(), name.to_owned()));
        let mut schema = json!({"type": "string", "minLength": 1});
        for rule in rules_of(input, &json_name(field)) {
            apply_rule(rule.rule, field, &mut schema);
        }
        parameters.push(json!({
            "name": name, "in": "path", "required": true,
            "description": format!("`{name}` of `{input}`; overrides the same field of the body"),
            "schema": schema
        }));
    }
    if route.permission.is_some() {
        parameters.push(json!({
            "name": "x-zitadel-orgid", "in": "header", "required": false,
            "description": "The org to act in; absent: the caller's own org",
            "schema": {"type": "string"}
        }));
    }
    if matches!(route.rpc, "UpdateHumanProfile" | "UpdateHumanUser" | "UpdateUser") {
        parameters.push(json!({
            "name": "If-Match", "in": "header", "required": false,
            "description": "Update only if the user's sequence is still this strong entity tag, e.g. \"7\"",
            "schema": {"type": "string", "pattern": "^\"[0-9]+\"$"}
        }));
    }
    let mut success = json!({
        "description": format!("`{output}` as proto3 JSON"),
        "content": {"application/json": {"schema": schemas.reference(output)}}
    });
    let tagged = matches!(route.rpc, "UpdateHumanProfile" | "GetHumanProfile")
        || (route.service == crate::catalog::USER_V2 && matches!(route.rpc, "GetUserByID" | "UpdateHumanUser"));
    if tagged {
        success["headers"] = json!({"ETag": {
            "description": "The user's sequence as a strong entity tag",
            "schema": {"type": "string"}
        }});
    }
    let mut responses = Map::new();
    responses.insert("200".to_owned(), success);
    for (status, description) in error_responses(route) {
        responses.insert(
            status.to_owned(),
            json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error")}}}),
        );
    }
    responses.insert("default".to_owned(), json!({"$ref": "#/components/responses/Error"}));
    let mut op = json!({
        "operationId": operation_id(route),
        "summary": route.label(),
        "description": match route.permission {
            Some(permission) => format!("gRPC: `/{}/{}`. Needs the permission `{permission}`.", route.service, route.rpc),
            None => format!("gRPC: `/{}/{}`. No authentication.", route.service, route.rpc),
        },
        "tags": [tag(route)],
        "parameters": parameters,
        "responses": responses,
    });
    if route.body {
        op["requestBody"] = json!({
            "required": false,
            "description": format!("`{input}` as proto3 JSON (lowerCamelCase or the original field names; unknown fields are ignored)"),
            "content": {"application/json": {"schema": schemas.reference(input)}}
        });
    }
    if route.permission.is_none() {
        op["security"] = json!([]);
    }
    Ok(op)
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "title": "Error",
        "description": "A failed call: the gRPC code, the message, and details such as zitadel.v1.ErrorDetail",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 16},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["@type"],
                    "properties": {
                        "@type": {"type": "string", "example": ERROR_DETAIL_TYPE},
                        "id": {"type": "string", "description": format!("with {ERROR_DETAIL_TYPE}")},
                        "message": {"type": "string", "description": format!("with {ERROR_DETAIL_TYPE}")},
                        "fieldViolations": {
                            "type": "array",
                            "description": format!("with {BAD_REQUEST_TYPE}"),
                            "items": {
                                "type": "object",
                                "properties": {"field": {"type": "string"}, "description": {"type": "string"}}
                            }
                        }
                    },
                    "additionalProperties": true
                }
            }
        }
    })
}

/// The OpenAPI 3.0 document of every route in [`ROUTES`], titled with `version`.
///
/// # Errors
/// [`OpenApiError`] when the compiled-in descriptors do not describe a route (a build defect;
/// a unit test generates the document).
pub fn document(version: &str) -> Result<Value, OpenApiError> {
    let descriptors = Descriptors::shared().map_err(OpenApiError::Descriptors)?;
    let mut schemas =
        Schemas { descriptors, from_path: HashSet::new(), done: BTreeMap::new(), pending: BTreeSet::new() };
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for route in ROUTES {
        let op = operation(route, descriptors, &mut schemas)?;
        paths.entry(route.path).or_default().insert(route.method.to_ascii_lowercase(), op);
    }
    let mut components = schemas.finish()?;
    components.insert("Error".to_owned(), error_schema());
    Ok(json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Persona management API",
            "description": "The user-profile part of ZITADEL's management API (v1) and its v2 user service over REST/JSON. The same RPCs are served over gRPC, gRPC-Web and Connect on the same port.",
            "version": version,
            "license": {"name": "Apache-2.0"}
        },
        "tags": [
            {"name": "ManagementService", "description": SERVICE},
            {"name": "UserService", "description": crate::catalog::USER_V2}
        ],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {"Error": {
                "description": "An error in the contract's JSON shape",
                "content": {"application/json": {"schema": schema_ref("Error")}}
            }},
            "securitySchemes": {"bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal access token of a machine user: `authorization: Bearer <token>`"
            }}
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        document("0.0.0").expect("the document generates")
    }

    #[test]
    fn every_route_is_an_operation_with_its_messages() {
        let doc = doc();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert_eq!(op["operationId"], operation_id(route), "{route:?}");
            assert!(op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].is_string(), "{route:?}");
            assert_eq!(op["requestBody"].is_object(), route.body, "{route:?}");
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        out.push(target);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = doc();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }

    #[test]
    fn schemas_follow_the_proto3_json_mapping() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let details = &schemas["zitadel.v1.ObjectDetails"]["properties"];
        assert_eq!(details["sequence"]["type"], "string", "uint64 is a decimal string");
        assert_eq!(details["changeDate"]["format"], "date-time");
        assert_eq!(details["resourceOwner"]["type"], "string");
        let gender = &schemas["zitadel.user.v1.Gender"];
        assert_eq!(gender["enum"][0], "GENDER_UNSPECIFIED");
        let request = &schemas["zitadel.management.v1.UpdateHumanProfileRequest"]["properties"];
        assert!(request["firstName"].is_object());
        assert!(request["first_name"].is_null());
    }

    #[test]
    fn request_schemas_carry_the_contracts_field_rules() {
        use persona_domain::rules::{LANGUAGE, NAME};
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let update = &schemas["zitadel.management.v1.UpdateHumanProfileRequest"];
        let first = &update["properties"]["firstName"];
        assert_eq!((&first["minLength"], &first["maxLength"]), (&json!(NAME.min), &json!(NAME.max)));
        assert_eq!(update["properties"]["nickName"]["minLength"], Value::Null, "0..200 has no minimum");
        assert_eq!(update["properties"]["preferredLanguage"]["maxLength"], json!(LANGUAGE.max));
        assert_eq!(update["required"], json!(["firstName", "lastName", "displayName"]), "userId comes from the path");
        assert_eq!(update["properties"]["userId"], json!({"type": "string"}), "the path overrides it");
        let put = &doc["paths"]["/management/v1/users/{user_id}/profile"]["put"]["parameters"][0];
        assert_eq!(put["schema"], json!({"type": "string", "minLength": NAME.min, "maxLength": NAME.max}));

        let add = &schemas["zitadel.management.v1.AddHumanUserRequest"];
        assert_eq!(add["required"], json!(["userName", "profile", "email"]));
        assert_eq!(add["properties"]["initialPassword"]["maxLength"], 0, "not supported: empty only");
        let profile = &schemas["zitadel.management.v1.AddHumanUserRequest.Profile"];
        assert_eq!(profile["required"], json!(["firstName", "lastName"]), "an empty display name is computed");
        assert_eq!(
            schemas["zitadel.management.v1.AddHumanUserRequest.Email"]["properties"]["email"]["format"],
            "email"
        );
        let import = &schemas["zitadel.management.v1.ImportHumanUserRequest"]["properties"];
        assert_eq!(import["passwordChangeRequired"]["enum"], json!([false]));
        assert_eq!(import["idps"]["maxItems"], 0);
        assert_eq!(import["hashedPassword"]["maxProperties"], 0);
        let roles = &schemas["zitadel.management.v1.AddOrgMemberRequest"]["properties"]["roles"];
        assert_eq!(roles["items"]["enum"], json!(["ORG_OWNER", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER"]));
        assert_eq!(roles["minItems"], 1);
        assert_eq!(
            schemas["zitadel.management.v1.UpdateHumanProfileRequest"]["properties"]["gender"]["$ref"],
            "#/components/schemas/zitadel.user.v1.Gender"
        );

        for response in ["zitadel.user.v1.Profile", "zitadel.management.v1.AddHumanUserResponse"] {
            assert!(schemas[response]["required"].is_null(), "{response}: answers omit zero values");
            assert!(schemas[response]["properties"]["firstName"]["minLength"].is_null(), "{response}");
        }
    }

    #[test]
    fn every_field_rule_of_the_domain_is_published() {
        let doc = doc();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for rule in FIELD_RULES {
            let in_schema = schemas.iter().any(|(name, schema)| {
                go_message_name(name) == rule.message
                    && schema["properties"][rule.field].as_object().is_some_and(|p| {
                        ["maxLength", "format", "minItems", "maxItems", "maxProperties", "enum"]
                            .iter()
                            .any(|k| p.contains_key(*k))
                            || schema["required"].as_array().is_some_and(|r| r.contains(&json!(rule.field)))
                    })
            });
            let in_path = ROUTES.iter().any(|route| {
                let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
                let input = op["description"].as_str().is_some()
                    && go_message_name(&format!("x.{}Request", route.rpc)) == rule.message;
                input
                    && op["parameters"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| {
                            p["in"] == "path"
                                && json_name_of(p["name"].as_str().unwrap_or_default()) == rule.field
                                && p["schema"]["maxLength"].is_number()
                        })
                    })
            });
            assert!(in_schema || in_path, "{rule:?} is not in the document");
        }
    }

    fn json_name_of(proto_name: &str) -> String {
        json_name(&FieldDescriptorProto { name: Some(proto_name.to_owned()), ..Default::default() })
    }
}
