//! Unit tests of the SCIM pieces: the filter grammar against the domain's `search_in`, PATCH
//! paths, the mapping and the error table.

use crate::errors::{ScimError, ScimType};
use crate::filter::{compile, parse};
use crate::resource::{ScimUser, user_json};
use http::StatusCode;
use persona_domain::Error;
use serde_json::json;

#[test]
fn malformed_and_unsupported_filters_are_invalid_filter() {
    for filter in [
        "",
        "userName",
        "userName eq",
        "userName zz \"a\"",
        "(userName eq \"a\"",
        "userName eq \"a\")",
        "userName eq \"unterminated",
        "not userName eq \"a\"",
        "password eq \"x\"",
        "urn:example:Other:userName eq \"a\"",
        "active gt true",
        "meta.created gt \"yesterday\"",
        "userName eq 5",
        "emails[value eq \"a\"].value eq \"b\"",
        "name[givenName eq \"a\"]",
        "userName eq \"a\" garbage",
    ] {
        let error = parse(filter).and_then(|f| compile(&f)).expect_err(filter);
        assert_eq!(
            (error.status, error.scim_type),
            (StatusCode::BAD_REQUEST, Some(ScimType::InvalidFilter)),
            "{filter}"
        );
    }
    let deep = format!("{}userName eq \"a\"{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(parse(&deep).expect_err("deep").scim_type, Some(ScimType::InvalidFilter));
    let long = format!("userName eq \"{}\"", "a".repeat(9000));
    assert_eq!(parse(&long).expect_err("long").scim_type, Some(ScimType::InvalidFilter));
}

#[test]
fn operators_and_attribute_names_are_case_insensitive() {
    let a = compile(&parse("USERNAME EQ \"Ada\" AND Name.GivenName Sw \"A\"").expect("parses")).expect("compiles");
    let b = compile(&parse("userName eq \"Ada\" and name.givenName sw \"A\"").expect("parses")).expect("compiles");
    assert_eq!(a, b);
    let urn = compile(&parse("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"Ada\"").expect("parses"));
    let plain = compile(&parse("userName eq \"Ada\"").expect("parses"));
    assert_eq!(urn, plain);
}

#[test]
fn domain_errors_map_to_scim_statuses_and_types() {
    let table: Vec<(Error, StatusCode, Option<ScimType>)> = vec![
        (Error::auth_header_missing(), StatusCode::UNAUTHORIZED, None),
        (Error::token_invalid(), StatusCode::UNAUTHORIZED, None),
        (Error::org_not_found_for_header(), StatusCode::FORBIDDEN, None),
        (Error::permission_missing(), StatusCode::FORBIDDEN, None),
        (Error::membership_not_found(), StatusCode::NOT_FOUND, None),
        (Error::user_not_found_query(), StatusCode::NOT_FOUND, None),
        (Error::user_already_exists(), StatusCode::CONFLICT, Some(ScimType::Uniqueness)),
        (Error::email_invalid(), StatusCode::BAD_REQUEST, Some(ScimType::InvalidValue)),
        (Error::first_name_empty(), StatusCode::BAD_REQUEST, Some(ScimType::InvalidValue)),
        (Error::query_too_complex(), StatusCode::BAD_REQUEST, Some(ScimType::InvalidFilter)),
        (Error::query_limit_exceeded(1000), StatusCode::BAD_REQUEST, Some(ScimType::TooMany)),
        (Error::if_match_invalid(), StatusCode::BAD_REQUEST, Some(ScimType::InvalidSyntax)),
        (Error::precondition_failed(7), StatusCode::PRECONDITION_FAILED, None),
        (Error::too_much_contention(), StatusCode::CONFLICT, None),
        (Error::storage_unavailable(), StatusCode::SERVICE_UNAVAILABLE, None),
        (Error::storage_corrupt(), StatusCode::INTERNAL_SERVER_ERROR, None),
    ];
    for (error, status, scim_type) in table {
        let message = error.message();
        let mapped = ScimError::from(error);
        assert_eq!((mapped.status, mapped.scim_type), (status, scim_type), "{message}");
        let body = mapped.body();
        assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
        assert_eq!(body["status"], json!(status.as_u16().to_string()));
        assert!(body["detail"].as_str().is_some_and(|d| d.starts_with(&message)), "{body}");
    }
}

#[test]
fn a_body_maps_to_the_domain_command_with_the_primary_address() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "UserName": "ada",
        "name": {"GIVENNAME": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "old@example.com"}, {"value": "ada@example.com", "primary": true, "type": "work"}],
        "phoneNumbers": [{"value": "+41795550100"}],
        "locale": "en_gb",
        "active": "False",
        "externalId": "00u1",
        "id": "ignored",
    });
    let user = ScimUser::parse(&body).expect("parses");
    assert_eq!(
        (user.user_name.as_str(), user.given_name.as_str(), user.email.as_str(), user.phone.as_str()),
        ("ada", "Ada", "ada@example.com", "+41795550100")
    );
    assert_eq!((user.language.as_str(), user.active, user.external_id.as_str()), ("en_gb", false, "00u1"));
    let no_schema = ScimUser::parse(&json!({"userName": "ada"})).expect_err("schemas");
    assert_eq!(no_schema.scim_type, Some(ScimType::InvalidSyntax));
    let wrong_type = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 5});
    assert_eq!(ScimUser::parse(&wrong_type).expect_err("type").scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn patch_paths_add_replace_and_remove_with_and_without_filters() {
    let base = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "active": true,
    });
    let op = |ops: serde_json::Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let cases: Vec<(serde_json::Value, &str, serde_json::Value)> = vec![
        (json!([{"op": "replace", "path": "name.givenName", "value": "Grace"}]), "/name/givenName", json!("Grace")),
        (
            json!([{"op": "Replace", "value": {"name.familyName": "King", "active": false}}]),
            "/name/familyName",
            json!("King"),
        ),
        (json!([{"op": "replace", "value": {"name": {"givenName": "G"}}}]), "/name/familyName", json!("Lovelace")),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@king.example"}]),
            "/emails/0/value",
            json!("a@king.example"),
        ),
        (
            json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+41795550100"}]),
            "/phoneNumbers/0/type",
            json!("work"),
        ),
        (json!([{"op": "add", "path": "nickName", "value": "Countess"}]), "/nickName", json!("Countess")),
        (json!([{"op": "remove", "path": "emails[value ew \"example.com\"]"}]), "/emails", serde_json::Value::Null),
        (
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@x.io", "primary": true}]}]),
            "/emails/0/primary",
            json!(false),
        ),
        (
            json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName"}]),
            "/displayName",
            serde_json::Value::Null,
        ),
    ];
    for (ops, pointer, expected) in cases {
        let mut doc = base.clone();
        crate::patch::apply(&mut doc, &op(ops.clone())).expect("applies");
        assert_eq!(doc.pointer(pointer).cloned().unwrap_or(serde_json::Value::Null), expected, "{ops} on {doc}");
    }
    let refusals: Vec<(serde_json::Value, ScimType)> = vec![
        (json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@y.z"}]), ScimType::NoTarget),
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (json!([{"op": "replace", "path": "id", "value": "1"}]), ScimType::Mutability),
        (json!([{"op": "replace", "path": "meta.created", "value": "x"}]), ScimType::Mutability),
        (json!([{"op": "replace", "path": "password", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "name.middleName", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "move", "path": "userName", "value": "x"}]), ScimType::InvalidSyntax),
        (json!([]), ScimType::InvalidSyntax),
    ];
    for (ops, scim_type) in refusals {
        let mut doc = base.clone();
        let error = crate::patch::apply(&mut doc, &op(ops.clone())).expect_err("refused");
        assert_eq!(error.scim_type, Some(scim_type), "{ops}");
    }
}

#[test]
fn a_users_resource_carries_its_version_and_omits_what_it_lacks() {
    use persona_domain::aggregate::Aggregate;
    use persona_domain::events::{Event, EventPayload, HumanAdded};
    let added = HumanAdded {
        user_name: "ada".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        nick_name: String::new(),
        display_name: "Ada Lovelace".into(),
        preferred_language: "und".into(),
        gender: 0,
        email: "ada@example.com".into(),
        email_verified: false,
        phone: None,
        phone_verified: false,
        active: true,
    };
    let event = Event {
        aggregate_type: persona_domain::events::AggregateType::User,
        aggregate_id: "42".into(),
        sequence: 1,
        payload: EventPayload::HumanAdded(added),
        editor: persona_domain::ids::UserId::new("e"),
        resource_owner: persona_domain::ids::OrgId::new("o"),
        created_at: persona_domain::time::Timestamp::from_unix_micros(1_700_000_000_123_456),
    };
    let user = persona_domain::user::User::replay(&[event]).expect("replays");
    let json = user_json(&user, "https://id.example/scim/v2/o").expect("a human");
    assert_eq!(json["meta"]["version"], "W/\"1\"");
    assert_eq!(json["meta"]["created"], "2023-11-14T22:13:20.123456Z");
    assert_eq!(json["meta"]["location"], "https://id.example/scim/v2/o/Users/42");
    assert!(json.get("nickName").is_none() && json.get("phoneNumbers").is_none() && json.get("externalId").is_none());
    assert_eq!(json["active"], true);
}
