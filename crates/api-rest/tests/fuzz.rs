//! Property-based fuzzing of everything a request goes through before and after decoding: REST
//! JSON bodies (`body::decode`) and protobuf messages (`prost`), then validation and the
//! application service, for every RPC of the contract, over the in-memory store. This is the
//! bounded CI version of the cargo-fuzz targets in `fuzz/` (commands in the README's fuzzing section), running their
//! very pipeline (`fuzz/src/lib.rs`, included as [`pipeline`]); the number of cases per property
//! is `PROPTEST_CASES` (default 256).
//!
//! Properties: nothing panics; a body that does not decode is an invalid request (400, code 3);
//! a decoded one gets an answer whose error is the caller's fault or a business rule, never
//! `Internal` or `Unavailable`; and nothing a PostgreSQL database could not store (U+0000) is
//! ever accepted for writing (a finding of the end-to-end hostile-input tests).

#![expect(clippy::expect_used, reason = "a test: a failed step is a failed test")]

#[path = "../../../fuzz/src/lib.rs"]
mod pipeline;

use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_domain::ErrorKind;
use pipeline::Decoder::{Json, Protobuf};
use pipeline::{Outcome, RPCS, check, target_user, through};
use proptest::prelude::*;
use prost::Message;
use serde_json::{Map, Value, json};

/// Field names of the request messages, in both JSON spellings, and some that are unknown.
const FIELDS: &[&str] = &[
    "userId",
    "user_id",
    "id",
    "firstName",
    "first_name",
    "lastName",
    "nickName",
    "displayName",
    "display_name",
    "preferredLanguage",
    "gender",
    "userName",
    "user_name",
    "profile",
    "email",
    "isEmailVerified",
    "phone",
    "password",
    "hashedPassword",
    "otpCode",
    "idps",
    "name",
    "description",
    "accessTokenType",
    "expirationDate",
    "query",
    "sequence",
    "limit",
    "asc",
    "roles",
    "value",
    "unknown",
    "@type",
];

/// Strings that matter: empty, the real user's id, tags, enum names, edge characters.
fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(target_user().to_owned()),
        Just("en_us".to_owned()),
        Just("GENDER_FEMALE".to_owned()),
        Just("ACCESS_TOKEN_TYPE_JWT".to_owned()),
        Just("ORG_OWNER".to_owned()),
        Just("2030-01-01T00:00:00Z".to_owned()),
        Just("a@example.com".to_owned()),
        Just("\u{0}".to_owned()),
        Just("e\u{301}".repeat(101)),
        Just("👩\u{200d}👩\u{200d}👧".repeat(41)),
        any::<String>(),
        prop::collection::vec(any::<char>(), 190..210).prop_map(|c| c.into_iter().collect()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        interesting_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A JSON body: an object of known fields most of the time, then maybe cut or bit-flipped.
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    let object = prop::collection::vec((prop::sample::select(FIELDS), json_value()), 0..10)
        .prop_map(|members| Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()));
    let body = prop_oneof![8 => object, 1 => json_value()].prop_map(|v| v.to_string().into_bytes());
    (body, any::<u8>(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut bytes, how, at, byte)| {
        if !bytes.is_empty() {
            let at = at.index(bytes.len());
            match how % 8 {
                0 => bytes.truncate(at),
                1 => bytes[at] ^= byte,
                2 => bytes.insert(at, byte),
                _ => {}
            }
        }
        bytes
    })
}

/// A protobuf body: a valid encoding of random field values, maybe cut, flipped or extended
/// with a random field.
fn protobuf_body() -> impl Strategy<Value = Vec<u8>> {
    let strings = prop::collection::vec(interesting_string(), 7);
    (strings, any::<i32>(), any::<u8>(), any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 0..12))
        .prop_map(|(s, number, how, at, extra)| {
            let profile = pb::UpdateHumanProfileRequest {
                user_id: s[0].clone(),
                first_name: s[1].clone(),
                last_name: s[2].clone(),
                nick_name: s[3].clone(),
                display_name: s[4].clone(),
                preferred_language: s[5].clone(),
                gender: number,
            };
            let mut bytes = profile.encode_to_vec();
            if !bytes.is_empty() {
                let at = at.index(bytes.len());
                match how % 6 {
                    0 => bytes.truncate(at),
                    1 => bytes[at] ^= extra.first().copied().unwrap_or(0x80),
                    2 => bytes.extend_from_slice(&extra),
                    _ => {}
                }
            }
            bytes
        })
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_rest_body_decodes_and_validates_without_failing(which in 0..RPCS, body in json_body()) {
        check(&through(which, &body, Json));
    }

    #[test]
    fn arbitrary_bytes_as_a_rest_body_are_refused_or_answered(which in 0..RPCS, body in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&through(which, &body, Json));
    }

    #[test]
    fn any_protobuf_message_decodes_and_validates_without_failing(which in 0..RPCS, body in protobuf_body()) {
        check(&through(which, &body, Protobuf));
    }

    #[test]
    fn arbitrary_bytes_as_a_protobuf_message_are_refused_or_answered(which in 0..RPCS, body in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&through(which, &body, Protobuf));
    }
}

/// Inputs the fuzzers found or that earlier bugs were made of, kept as regression cases.
#[test]
fn known_hostile_inputs_stay_harmless() {
    let user = target_user();
    let json_cases: Vec<(usize, Vec<u8>)> = vec![
        // U+0000 in a stored value: PostgreSQL cannot store it (was a 503 there).
        (0, json!({"userId": user, "firstName": "A\u{0}", "lastName": "L", "displayName": "D"}).to_string().into_bytes()),
        (2, json!({"userName": "n\u{0}", "profile": {"firstName": "A", "lastName": "B"}, "email": {"email": "a@example.com"}}).to_string().into_bytes()),
        (8, json!({"name": "\u{0}"}).to_string().into_bytes()),
        (4, json!({"id": "\u{0}"}).to_string().into_bytes()),
        // Deep nesting is refused by the JSON parser before it can exhaust the stack.
        (0, "[".repeat(100_000).into_bytes()),
        (0, br#"{"gender":4294967296}"#.to_vec()),
        (5, br#"{"query":{"limit":4294967295,"sequence":"18446744073709551615"}}"#.to_vec()),
        (7, br#"{"expirationDate":"9999-12-31T23:59:59Z"}"#.to_vec()),
        (7, br#"{"expirationDate":"0001-01-01T00:00:00Z"}"#.to_vec()),
    ];
    for (which, body) in json_cases {
        let outcome = through(which, &body, Json);
        check(&outcome);
    }
    let mut bad_utf8 = pb::UpdateHumanProfileRequest { user_id: user.to_owned(), ..Default::default() }.encode_to_vec();
    bad_utf8.extend_from_slice(&[0x12, 0x02, 0xff, 0xfe]);
    let nul = pb::UpdateHumanProfileRequest {
        user_id: user.to_owned(),
        first_name: "\0".into(),
        last_name: "L".into(),
        display_name: "D".into(),
        ..Default::default()
    };
    for (which, bytes) in
        [(0, bad_utf8), (0, nul.encode_to_vec()), (0, vec![0xff; 16]), (7, vec![0x12, 0x02, 0x08, 0xff])]
    {
        check(&through(which, &bytes, Protobuf));
    }
    // And the NUL case really reached the service and was refused there as invalid.
    match through(0, &nul.encode_to_vec(), Protobuf) {
        Outcome::Answered { result: Err(error), .. } => assert_eq!(error.kind(), ErrorKind::InvalidArgument),
        other => panic!("{other:?}"),
    }
}
