//! One way to make any call of the tables over any protocol, so a case is written once and run
//! over REST, gRPC and gRPC-Web alike.

use crate::harness::{Outcome, Server, from_tonic};
use persona_api_grpc::pb::zitadel::change::v1::ChangeQuery;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use serde_json::Value;
use tonic::metadata::MetadataValue;

/// The three ways in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Rest,
    Grpc,
    GrpcWeb,
}

/// Every protocol, for tables.
pub const PROTOCOLS: [Protocol; 3] = [Protocol::Rest, Protocol::Grpc, Protocol::GrpcWeb];

/// A call of the tables.
#[derive(Clone, Debug)]
pub enum Call {
    Update(pb::UpdateHumanProfileRequest),
    GetProfile(String),
    Changes { user_id: String, sequence: u64, limit: u32, asc: bool },
}

/// Percent-encodes a path segment.
pub fn segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn without(mut body: Value, field: &str) -> Value {
    if let Value::Object(map) = &mut body {
        map.remove(field);
    }
    body
}

/// Makes `call` over `protocol` with `metadata` (header names in lower case).
pub async fn invoke(
    server: &Server,
    protocol: Protocol,
    call: &Call,
    metadata: &[(&str, &str)],
) -> (Outcome, Option<String>) {
    match protocol {
        Protocol::Rest => {
            let (method, path, body) = match call {
                Call::Update(r) => (
                    "PUT",
                    format!("/management/v1/users/{}/profile", segment(&r.user_id)),
                    Some(without(serde_json::to_value(r).expect("json"), "userId")),
                ),
                Call::GetProfile(id) => ("GET", format!("/management/v1/users/{}/profile", segment(id)), None),
                Call::Changes { user_id, sequence, limit, asc } => (
                    "POST",
                    format!("/management/v1/users/{}/changes/_search", segment(user_id)),
                    Some(serde_json::json!({"query": {"sequence": sequence.to_string(), "limit": limit, "asc": asc}})),
                ),
            };
            let (_, headers, outcome) = server.rest(method, &path, metadata, body).await;
            (outcome, headers.get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned))
        }
        Protocol::Grpc => {
            let mut client = server.grpc_client().await;
            fn with_metadata<T>(message: T, metadata: &[(&str, &str)]) -> tonic::Request<T> {
                let mut request = tonic::Request::new(message);
                for (key, value) in metadata {
                    let value: MetadataValue<_> = value.parse().expect("ascii metadata");
                    let key = tonic::metadata::AsciiMetadataKey::from_bytes(key.as_bytes()).expect("metadata key");
                    request.metadata_mut().insert(key, value);
                }
                request
            }
            let outcome = match call {
                Call::Update(r) => from_tonic(client.update_human_profile(with_metadata(r.clone(), metadata)).await),
                Call::GetProfile(id) => from_tonic(
                    client
                        .get_human_profile(with_metadata(pb::GetHumanProfileRequest { user_id: id.clone() }, metadata))
                        .await,
                ),
                Call::Changes { user_id, sequence, limit, asc } => {
                    let request = pb::ListUserChangesRequest {
                        user_id: user_id.clone(),
                        query: Some(ChangeQuery { sequence: *sequence, limit: *limit, asc: *asc }),
                    };
                    from_tonic(client.list_user_changes(with_metadata(request, metadata)).await)
                }
            };
            (outcome, None)
        }
        Protocol::GrpcWeb => {
            let outcome = match call {
                Call::Update(r) => {
                    server.grpc_web::<pb::UpdateHumanProfileResponse>("UpdateHumanProfile", r, metadata).await
                }
                Call::GetProfile(id) => {
                    server
                        .grpc_web::<pb::GetHumanProfileResponse>(
                            "GetHumanProfile",
                            &pb::GetHumanProfileRequest { user_id: id.clone() },
                            metadata,
                        )
                        .await
                }
                Call::Changes { user_id, sequence, limit, asc } => {
                    let request = pb::ListUserChangesRequest {
                        user_id: user_id.clone(),
                        query: Some(ChangeQuery { sequence: *sequence, limit: *limit, asc: *asc }),
                    };
                    server.grpc_web::<pb::ListUserChangesResponse>("ListUserChanges", &request, metadata).await
                }
            };
            (outcome, None)
        }
    }
}
