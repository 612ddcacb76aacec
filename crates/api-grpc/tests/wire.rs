//! Wire facts that existing ZITADEL clients rely on (CONTRACT.md sections 2 and 4):
//! protobuf field numbers and encodings, proto3-JSON names and value forms, and the
//! descriptor set served for reflection.

use persona_api_grpc::FILE_DESCRIPTOR_SET;
use persona_api_grpc::pb::google::protobuf::Timestamp;
use persona_api_grpc::pb::zitadel::change::v1::{Change, ChangeQuery, FieldChange};
use persona_api_grpc::pb::zitadel::management::v1::{
    AddMachineUserRequest, GetHumanProfileResponse, ListUserChangesRequest, ListUserChangesResponse,
    UpdateHumanProfileRequest, UpdateHumanProfileResponse, management_service_server,
};
use persona_api_grpc::pb::zitadel::user::v1::{Gender, Human, Profile, User, user};
use persona_api_grpc::pb::zitadel::v1::{ErrorDetail, ObjectDetails};
use prost::{Message, Name};
use serde_json::json;

/// `2026-11-28T14:07:59.123456Z`, the contract's example time.
const EXAMPLE_TIME: Timestamp = Timestamp { seconds: 1_795_874_879, nanos: 123_456_000 };

#[test]
fn update_human_profile_request_uses_contract_field_numbers() {
    let request = UpdateHumanProfileRequest {
        user_id: "u".into(),
        first_name: "F".into(),
        last_name: "L".into(),
        nick_name: "N".into(),
        display_name: "D".into(),
        preferred_language: "de".into(),
        gender: Gender::Male as i32,
    };
    let bytes = request.encode_to_vec();
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x0a, 1, b'u',        // 1 user_id, length-delimited
        0x12, 1, b'F',        // 2 first_name
        0x1a, 1, b'L',        // 3 last_name
        0x22, 1, b'N',        // 4 nick_name
        0x2a, 1, b'D',        // 5 display_name
        0x32, 2, b'd', b'e',  // 6 preferred_language
        0x38, 2,              // 7 gender, varint, GENDER_MALE = 2
    ];
    assert_eq!(bytes, expected);
    assert_eq!(UpdateHumanProfileRequest::decode(expected).unwrap(), request);

    // An unknown gender number still decodes (open enum); the service treats it as unspecified.
    let odd = UpdateHumanProfileRequest::decode(&[0x38, 42][..]).unwrap();
    assert_eq!(odd.gender, 42);
    assert!(Gender::try_from(odd.gender).is_err());
}

#[test]
fn list_user_changes_result_is_field_two_and_persona_fields_are_skippable() {
    let response = ListUserChangesResponse { result: vec![Change { sequence: 3, ..Change::default() }] };
    // field 2, length-delimited (0x12), holding Change.sequence = 3 (field 3 varint: 0x18).
    assert_eq!(response.encode_to_vec(), [0x12, 2, 0x18, 3]);

    let change = Change {
        sequence: 3,
        changed_fields: vec![FieldChange { field: "firstName".into(), old_value: "A".into(), new_value: "B".into() }],
        ..Change::default()
    };
    let bytes = change.encode_to_vec();
    // Field 1000, length-delimited: key (1000 << 3) | 2 = 8002 = varint [0xc2, 0x3e].
    assert_eq!(&bytes[..4], [0x18, 3, 0xc2, 0x3e]);

    /// A compat client's view of `zitadel.change.v1.Change`: no Persona fields.
    #[derive(Clone, PartialEq, Message)]
    struct CompatChange {
        #[prost(uint64, tag = "3")]
        sequence: u64,
        #[prost(string, tag = "4")]
        editor_id: String,
    }
    let seen_by_compat = CompatChange::decode(bytes.as_slice()).unwrap();
    assert_eq!(seen_by_compat.sequence, 3);
    assert_eq!(seen_by_compat.editor_id, "");

    let request =
        ListUserChangesRequest { query: Some(ChangeQuery { sequence: 1, limit: 2, asc: true }), user_id: "u".into() };
    assert_eq!(request.encode_to_vec(), [0x0a, 6, 0x08, 1, 0x10, 2, 0x18, 1, 0x12, 1, b'u']);
}

#[test]
fn add_machine_user_request_user_id_has_presence() {
    let absent = AddMachineUserRequest::default();
    assert_eq!(absent.encode_to_vec(), Vec::<u8>::new());
    let empty = AddMachineUserRequest { user_id: Some(String::new()), ..AddMachineUserRequest::default() };
    // An explicitly set empty optional string is still written: field 5, length 0.
    assert_eq!(empty.encode_to_vec(), [0x2a, 0]);
    assert_eq!(AddMachineUserRequest::decode(&[0x2a, 0][..]).unwrap().user_id, Some(String::new()));
}

#[test]
fn object_details_json_matches_contract_example() {
    let response = UpdateHumanProfileResponse {
        details: Some(ObjectDetails {
            sequence: 7,
            creation_date: None,
            change_date: Some(EXAMPLE_TIME),
            resource_owner: "259242039378444290".into(),
        }),
    };
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"details":{"sequence":"7","changeDate":"2026-11-28T14:07:59.123456Z","resourceOwner":"259242039378444290"}}"#
    );
    // Zero values are omitted on output.
    assert_eq!(serde_json::to_string(&UpdateHumanProfileResponse::default()).unwrap(), "{}");
    assert_eq!(serde_json::to_value(ObjectDetails::default()).unwrap(), json!({}));
}

#[test]
fn json_output_uses_camel_case_and_enum_names() {
    let response = GetHumanProfileResponse {
        details: None,
        profile: Some(Profile {
            first_name: "Ada".into(),
            preferred_language: "en-US".into(),
            gender: Gender::Female as i32,
            ..Profile::default()
        }),
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"profile": {"firstName": "Ada", "preferredLanguage": "en-US", "gender": "GENDER_FEMALE"}})
    );

    let user = User {
        id: "1".into(),
        login_names: vec!["ada@example".into()],
        r#type: Some(user::Type::Human(Human {
            password_changed: Some(Timestamp { seconds: 0, nanos: 0 }),
            ..Human::default()
        })),
        ..User::default()
    };
    assert_eq!(
        serde_json::to_value(&user).unwrap(),
        json!({
            "id": "1",
            "loginNames": ["ada@example"],
            "human": {"passwordChanged": "1970-01-01T00:00:00Z"}
        })
    );
}

#[test]
fn json_input_accepts_both_field_names_enum_forms_and_ignores_unknown_fields() {
    let camel: UpdateHumanProfileRequest = serde_json::from_value(json!({
        "userId": "u1",
        "firstName": "Ada",
        "displayName": "Ada L",
        "preferredLanguage": "en",
        "gender": "GENDER_DIVERSE",
        "someFutureField": {"nested": [1, 2]},
        "avatarUrl": "ignored too"
    }))
    .unwrap();
    let snake: UpdateHumanProfileRequest = serde_json::from_value(json!({
        "user_id": "u1",
        "first_name": "Ada",
        "display_name": "Ada L",
        "preferred_language": "en",
        "gender": 3
    }))
    .unwrap();
    let expected = UpdateHumanProfileRequest {
        user_id: "u1".into(),
        first_name: "Ada".into(),
        display_name: "Ada L".into(),
        preferred_language: "en".into(),
        gender: Gender::Diverse as i32,
        ..UpdateHumanProfileRequest::default()
    };
    assert_eq!(camel, expected);
    assert_eq!(snake, expected);

    // Unknown enum numbers and names fall back to unspecified (0).
    for gender in [json!(99), json!("GENDER_NOT_A_THING")] {
        let parsed: UpdateHumanProfileRequest = serde_json::from_value(json!({"gender": gender})).unwrap();
        assert_eq!(parsed.gender, Gender::Unspecified as i32);
    }

    // Wrong value types are still rejected (undecodable body -> InvalidArgument).
    assert!(serde_json::from_value::<UpdateHumanProfileRequest>(json!({"firstName": 5})).is_err());
}

#[test]
fn json_uint64_accepts_string_and_number() {
    let from_string: ListUserChangesRequest = serde_json::from_value(json!({
        "query": {"sequence": "18446744073709551615", "limit": 10, "asc": true}
    }))
    .unwrap();
    assert_eq!(from_string.query.unwrap().sequence, u64::MAX);
    let from_number: ListUserChangesRequest =
        serde_json::from_value(json!({"query": {"sequence": 5}, "user_id": "u"})).unwrap();
    assert_eq!(from_number.query.unwrap().sequence, 5);
    assert_eq!(from_number.user_id, "u");

    let response = ListUserChangesResponse {
        result: vec![Change {
            change_date: Some(EXAMPLE_TIME),
            sequence: 12,
            editor_id: "e".into(),
            changed_fields: vec![FieldChange {
                field: "firstName".into(),
                old_value: "A".into(),
                new_value: "B".into(),
            }],
            ..Change::default()
        }],
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"result": [{
            "changeDate": "2026-11-28T14:07:59.123456Z",
            "sequence": "12",
            "editorId": "e",
            "changedFields": [{"field": "firstName", "oldValue": "A", "newValue": "B"}]
        }]})
    );
}

#[test]
fn type_urls_and_service_name_match_contract() {
    assert_eq!(ErrorDetail::type_url(), "type.googleapis.com/zitadel.v1.ErrorDetail");
    assert_eq!(management_service_server::SERVICE_NAME, "zitadel.management.v1.ManagementService");
}

#[test]
fn descriptor_set_describes_the_service() {
    let fds = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
    let packages: Vec<&str> = fds.file.iter().map(|f| f.package()).collect();
    for package in [
        "zitadel.v1",
        "zitadel.user.v1",
        "zitadel.org.v1",
        "zitadel.change.v1",
        "zitadel.management.v1",
        "google.rpc",
        "google.protobuf",
    ] {
        assert!(packages.contains(&package), "missing package {package}");
    }

    let management = fds.file.iter().find(|f| f.package() == "zitadel.management.v1").unwrap();
    let service = &management.service[0];
    assert_eq!(service.name(), "ManagementService");
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "UpdateHumanProfile",
            "GetHumanProfile",
            "AddHumanUser",
            "ImportHumanUser",
            "GetUserByID",
            "RemoveUser",
            "ListUserChanges",
            "AddMachineUser",
            "AddPersonalAccessToken",
            "AddOrg",
            "GetMyOrg",
            "AddOrgMember",
            "Healthz",
        ]
    );
    let healthz = service.method.iter().find(|m| m.name() == "Healthz").unwrap();
    assert_eq!(healthz.input_type(), ".zitadel.management.v1.HealthzRequest");

    let import = management.message_type.iter().find(|m| m.name() == "ImportHumanUserRequest").unwrap();
    let idps = import.field.iter().find(|f| f.name() == "idps").unwrap();
    assert_eq!(idps.number(), 10);
    assert_eq!(idps.type_name(), ".zitadel.management.v1.ImportHumanUserRequest.IDP");
    assert_eq!(idps.json_name(), "idps");
}

#[test]
fn v2_json_names_are_the_camel_case_ones_sdks_send() {
    use persona_api_grpc::pb::zitadel::object::v2::{Details, Organization, organization};
    use persona_api_grpc::pb::zitadel::user::v2;

    // A body shaped like the ones the Python SDK (zitadel-client) sends over Connect JSON.
    let request: v2::AddHumanUserRequest = serde_json::from_value(json!({
        "username": "ada",
        "organization": {"orgId": "o1"},
        "profile": {"givenName": "Ada", "familyName": "Lovelace", "preferredLanguage": "en", "gender": "GENDER_FEMALE"},
        "email": {"email": "ada@example.com", "returnCode": {}},
        "phone": {"phone": "+41791234567", "isVerified": true}
    }))
    .unwrap();
    assert_eq!(request.username.as_deref(), Some("ada"));
    assert_eq!(request.user_id, None);
    assert_eq!(request.organization, Some(Organization { org: Some(organization::Org::OrgId("o1".into())) }));
    let profile = request.profile.unwrap();
    assert_eq!((profile.given_name.as_str(), profile.family_name.as_str()), ("Ada", "Lovelace"));
    assert_eq!(profile.gender, Some(v2::Gender::Female as i32));
    assert_eq!(profile.nick_name, None);
    let email = request.email.unwrap();
    assert_eq!(
        email.verification,
        Some(v2::set_human_email::Verification::ReturnCode(v2::ReturnEmailVerificationCode {}))
    );
    assert_eq!(request.phone.unwrap().verification, Some(v2::set_human_phone::Verification::IsVerified(true)));

    let update: v2::UpdateUserRequest = serde_json::from_value(json!({
        "userId": "u1",
        "human": {"profile": {"displayName": "Ada L"}}
    }))
    .unwrap();
    let Some(v2::update_user_request::UserType::Human(human)) = update.user_type else { panic!("{update:?}") };
    let profile = human.profile.unwrap();
    assert_eq!(profile.display_name.as_deref(), Some("Ada L"));
    assert_eq!(profile.given_name, None);

    let response = v2::AddHumanUserResponse {
        user_id: "u1".into(),
        details: Some(Details { sequence: 2, resource_owner: "o1".into(), ..Details::default() }),
        email_code: Some("XYZ".into()),
        phone_code: None,
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"userId": "u1", "details": {"sequence": "2", "resourceOwner": "o1"}, "emailCode": "XYZ"})
    );
}
