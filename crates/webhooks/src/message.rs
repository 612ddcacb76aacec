//! What is sent: the JSON body of an event and its Standard Webhooks (v1) signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use persona_domain::time::Timestamp;
use persona_domain::webhook::Delivery;
use std::fmt;

/// A signing secret, written `whsec_<base64>`; only its decoded bytes are kept. `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a secret was refused (the message never repeats the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    #[error("a webhook secret starts with whsec_")]
    Prefix,
    /// The rest is not base64, or is empty.
    #[error("a webhook secret is whsec_ followed by base64 (of at least 16 bytes)")]
    Base64,
}

impl Secret {
    /// Reads `whsec_<base64>` (surrounding white space, as in a file, is ignored).
    ///
    /// # Errors
    /// [`SecretError`] when it is not written so, or holds fewer than 16 bytes.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.trim().strip_prefix("whsec_").ok_or(SecretError::Prefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if bytes.len() < 16 {
            return Err(SecretError::Base64);
        }
        Ok(Self(bytes))
    }

    /// `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        // HMAC takes a key of any length, so this cannot fail.
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per secret, space-separated (rotation).
#[must_use]
pub fn signature_header(secrets: &[Secret], id: &str, timestamp: i64, body: &str) -> String {
    secrets.iter().map(|secret| secret.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// RFC 3339 in UTC with microseconds (`2024-05-01T12:00:00.123456Z`).
#[must_use]
pub fn rfc3339(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_micros(at.unix_micros())
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// The body of a delivery: `{"type", "timestamp", "data": {userId, orgId, sequence, editorId,
/// eventType, changedFields}}`.
#[must_use]
pub fn body(delivery: &Delivery) -> String {
    let event_type = delivery.payload.event_type();
    let changes = delivery.payload.field_changes();
    let body = Body {
        kind: event_type,
        timestamp: rfc3339(delivery.committed_at),
        data: Data {
            user_id: delivery.user_id.as_str(),
            org_id: delivery.org_id.as_str(),
            sequence: delivery.sequence,
            editor_id: delivery.editor.as_str(),
            event_type,
            changed_fields: changes
                .iter()
                .map(|(field, old, new)| Change { field, old_value: old, new_value: new })
                .collect(),
        },
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

/// The body, written straight from borrowed parts (no JSON tree in between).
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: Data<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    user_id: &'a str,
    org_id: &'a str,
    sequence: u64,
    editor_id: &'a str,
    event_type: &'a str,
    changed_fields: Vec<Change<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Change<'a> {
    field: &'a str,
    old_value: &'a str,
    new_value: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_domain::events::{EventPayload, FieldChange, ProfileChanged};
    use persona_domain::ids::{OrgId, UserId};
    use serde_json::{Value, json};

    #[test]
    fn secrets_are_whsec_base64_and_never_shown() {
        let secret = Secret::parse(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").expect("valid");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SecretError::Prefix));
        assert_eq!(Secret::parse("whsec_not base64!"), Err(SecretError::Base64));
        assert_eq!(Secret::parse("whsec_c2hvcnQ="), Err(SecretError::Base64));
    }

    #[test]
    fn signatures_follow_the_specification_example() {
        // The example of the Standard Webhooks specification (secret, id, timestamp, body and
        // the signature it gives).
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let a = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        let b = Secret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").expect("valid");
        let header = signature_header(&[a.clone(), b.clone()], "id", 1, "{}");
        assert_eq!(header, format!("{} {}", a.sign("id", 1, "{}"), b.sign("id", 1, "{}")));
        assert_ne!(a.sign("id", 1, "{}"), b.sign("id", 1, "{}"));
    }

    #[test]
    fn the_body_carries_the_event_and_its_changed_fields() {
        let delivery = Delivery {
            id: 1,
            endpoint: "http://x".into(),
            user_id: UserId::new("7"),
            sequence: 3,
            org_id: OrgId::new("9"),
            editor: UserId::new("1"),
            payload: EventPayload::ProfileChanged(ProfileChanged {
                first_name: Some(FieldChange { old: "Ada".into(), new: "Grace".into() }),
                ..ProfileChanged::default()
            }),
            committed_at: Timestamp::from_unix_micros(1_700_000_000_123_456),
            enqueued_at: Timestamp::from_unix_micros(1_700_000_000_123_456),
            attempts: 0,
            lease_id: 1,
        };
        let value: Value = serde_json::from_str(&body(&delivery)).expect("JSON");
        assert_eq!(
            value,
            json!({
                "type": "user.human.profile.changed",
                "timestamp": "2023-11-14T22:13:20.123456Z",
                "data": {
                    "userId": "7", "orgId": "9", "sequence": 3, "editorId": "1",
                    "eventType": "user.human.profile.changed",
                    "changedFields": [{"field": "firstName", "oldValue": "Ada", "newValue": "Grace"}],
                },
            })
        );
    }
}
