//! What both fuzz targets run: decode a request body (REST JSON or protobuf) as one of the
//! contract's request messages, then call the RPC on a service over the in-memory store, and
//! check the outcome. The proptest version in `crates/api-rest/tests/fuzz.rs` includes this
//! file (`#[path]`) and runs the same pipeline, bounded, in CI.

use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_api_grpc::rpc;
use persona_api_rest::body;
use persona_api_rest::error::ApiError;
use persona_domain::conformance;
use persona_domain::memory::InMemoryStore;
use persona_domain::{ErrorKind, RequestMeta};
use prost::Message;
use std::sync::OnceLock;

/// How the body is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Proto3 JSON, as the REST adapter reads it.
    Json,
    /// Protobuf binary, as gRPC and gRPC-Web carry it.
    Protobuf,
}

/// One bootstrapped service with a human user, shared by every input.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    fx: conformance::Fixture<InMemoryStore>,
    target: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let (fx, target) = runtime.block_on(async {
            let fx = conformance::Fixture::new(InMemoryStore::default()).await;
            let target = fx.add_human("target").await.into_string();
            (fx, target)
        });
        Fixture { runtime, fx, target }
    })
}

/// The id of the human user that exists in the service, for inputs to aim at.
pub fn target_user() -> &'static str {
    &fixture().target
}

/// The number of RPCs [`through`] knows.
pub const RPCS: usize = 12;

/// What one input did.
#[derive(Debug)]
pub enum Outcome {
    /// The decoder refused it, saying why.
    Undecodable(String),
    /// The service answered; `writes`: the RPC stores what it is given; `has_nul`: a string
    /// in the message holds U+0000.
    Answered { result: Result<(), persona_domain::Error>, writes: bool, has_nul: bool },
}

macro_rules! answer {
    ($decoded:expr, $rpc:path, $writes:expr) => {{
        let fx = fixture();
        match $decoded {
            Err(reason) => Outcome::Undecodable(reason),
            Ok(message) => {
                let has_nul = format!("{message:?}").contains("\\0");
                let meta = RequestMeta { authorization: Some(&fx.fx.admin), ..RequestMeta::default() };
                let result = fx.runtime.block_on($rpc(&fx.fx.service, &meta, message)).map(drop);
                Outcome::Answered { result, writes: $writes, has_nul }
            }
        }
    }};
}

/// Decodes `bytes` as the request of RPC number `which` (modulo [`RPCS`]) and calls it.
///
/// # Panics
/// When a REST body is refused with anything but an invalid-request error.
pub fn through(which: usize, bytes: &[u8], decoder: Decoder) -> Outcome {
    macro_rules! decode {
        ($message:ty) => {
            match decoder {
                Decoder::Json => body::decode::<$message>(bytes).map_err(|error| match error {
                    ApiError::InvalidRequest(reason) => reason,
                    other => panic!("an undecodable body is an invalid request, not {other:?}"),
                }),
                Decoder::Protobuf => <$message>::decode(bytes).map_err(|error| error.to_string()),
            }
        };
    }
    match which % RPCS {
        0 => answer!(decode!(pb::UpdateHumanProfileRequest), rpc::update_human_profile, true),
        1 => answer!(decode!(pb::GetHumanProfileRequest), rpc::get_human_profile, false),
        2 => answer!(decode!(pb::AddHumanUserRequest), rpc::add_human_user, true),
        3 => answer!(decode!(pb::ImportHumanUserRequest), rpc::import_human_user, true),
        4 => answer!(decode!(pb::GetUserByIdRequest), rpc::get_user_by_id, false),
        5 => answer!(decode!(pb::ListUserChangesRequest), rpc::list_user_changes, false),
        6 => answer!(decode!(pb::AddMachineUserRequest), rpc::add_machine_user, true),
        7 => answer!(decode!(pb::AddPersonalAccessTokenRequest), rpc::add_personal_access_token, true),
        8 => answer!(decode!(pb::AddOrgRequest), rpc::add_org, true),
        9 => answer!(decode!(pb::GetMyOrgRequest), rpc::get_my_org, false),
        10 => answer!(decode!(pb::AddOrgMemberRequest), rpc::add_org_member, true),
        // RemoveUser may remove the target: later inputs then meet a missing user, also fine.
        _ => answer!(decode!(pb::RemoveUserRequest), rpc::remove_user, true),
    }
}

/// The properties: a refusal says why; no write accepts U+0000; no error is the server's fault.
///
/// # Panics
/// When a property does not hold (that is the finding).
pub fn check(outcome: &Outcome) {
    match outcome {
        Outcome::Undecodable(reason) => assert!(!reason.is_empty(), "a refusal says why"),
        Outcome::Answered { result: Ok(()), writes, has_nul } => {
            assert!(!(*writes && *has_nul), "a value holding U+0000 was accepted for writing");
        }
        Outcome::Answered { result: Err(error), .. } => assert!(
            !matches!(error.kind(), ErrorKind::Internal | ErrorKind::Unavailable),
            "the service failed on a decoded request: {error:?}"
        ),
    }
}
