//! One description of every RPC of the contract (CONTRACT section 2) and one dispatcher that
//! makes it over any protocol, so a case is written once and run over REST, gRPC, gRPC-Web and
//! Connect (JSON and binary) alike. The protocol table, the isolation, privilege and order matrices and the hostile
//! matrix all call through [`invoke`]: a new protocol is one more [`Protocol`] and one more arm
//! in [`invoke`].

use crate::harness::{CALL_TIMEOUT, ConnectCodec, Outcome, Server, from_tonic};
use persona_api_grpc::pb::zitadel::change::v1::ChangeQuery;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use serde_json::Value;
use tonic::metadata::{AsciiMetadataKey, MetadataValue};

/// The ways in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Rest,
    Grpc,
    GrpcWeb,
    /// Connect unary with `application/json`.
    ConnectJson,
    /// Connect unary with `application/proto`.
    ConnectProto,
}

impl Protocol {
    /// Whether errors come as an HTTP status with a JSON body (REST and Connect).
    pub fn http_errors(self) -> bool {
        matches!(self, Self::Rest | Self::ConnectJson | Self::ConnectProto)
    }
}

/// Every protocol, for tables.
pub const PROTOCOLS: [Protocol; 5] =
    [Protocol::Rest, Protocol::Grpc, Protocol::GrpcWeb, Protocol::ConnectJson, Protocol::ConnectProto];

/// The RPCs of `ManagementService`, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    UpdateHumanProfile,
    GetHumanProfile,
    AddHumanUser,
    ImportHumanUser,
    GetUserById,
    RemoveUser,
    ListUserChanges,
    AddMachineUser,
    AddPersonalAccessToken,
    AddOrg,
    GetMyOrg,
    AddOrgMember,
    Healthz,
}

/// All 13 of them, in the contract's order.
pub const RPCS: [Rpc; 13] = [
    Rpc::UpdateHumanProfile,
    Rpc::GetHumanProfile,
    Rpc::AddHumanUser,
    Rpc::ImportHumanUser,
    Rpc::GetUserById,
    Rpc::RemoveUser,
    Rpc::ListUserChanges,
    Rpc::AddMachineUser,
    Rpc::AddPersonalAccessToken,
    Rpc::AddOrg,
    Rpc::GetMyOrg,
    Rpc::AddOrgMember,
    Rpc::Healthz,
];

/// One call of an RPC: its request message, which every protocol sends in its own form (REST:
/// the path values in the path, the rest as the JSON body; gRPC and gRPC-Web: the message).
#[derive(Clone, Debug)]
pub enum Call {
    UpdateHumanProfile(pb::UpdateHumanProfileRequest),
    GetHumanProfile(pb::GetHumanProfileRequest),
    AddHumanUser(pb::AddHumanUserRequest),
    ImportHumanUser(pb::ImportHumanUserRequest),
    GetUserById(pb::GetUserByIdRequest),
    RemoveUser(pb::RemoveUserRequest),
    ListUserChanges(pb::ListUserChangesRequest),
    AddMachineUser(pb::AddMachineUserRequest),
    AddPersonalAccessToken(pb::AddPersonalAccessTokenRequest),
    AddOrg(pb::AddOrgRequest),
    GetMyOrg,
    AddOrgMember(pb::AddOrgMemberRequest),
    Healthz,
}

impl Call {
    /// `GetHumanProfile` of `user_id`.
    pub fn get_profile(user_id: &str) -> Self {
        Self::GetHumanProfile(pb::GetHumanProfileRequest { user_id: user_id.to_owned() })
    }

    /// `ListUserChanges` of `user_id` with the page `sequence`, `limit`, `asc`.
    pub fn changes(user_id: &str, sequence: u64, limit: u32, asc: bool) -> Self {
        Self::ListUserChanges(pb::ListUserChangesRequest {
            user_id: user_id.to_owned(),
            query: Some(ChangeQuery { sequence, limit, asc }),
        })
    }

    /// Which RPC this calls.
    pub fn rpc(&self) -> Rpc {
        match self {
            Self::UpdateHumanProfile(_) => Rpc::UpdateHumanProfile,
            Self::GetHumanProfile(_) => Rpc::GetHumanProfile,
            Self::AddHumanUser(_) => Rpc::AddHumanUser,
            Self::ImportHumanUser(_) => Rpc::ImportHumanUser,
            Self::GetUserById(_) => Rpc::GetUserById,
            Self::RemoveUser(_) => Rpc::RemoveUser,
            Self::ListUserChanges(_) => Rpc::ListUserChanges,
            Self::AddMachineUser(_) => Rpc::AddMachineUser,
            Self::AddPersonalAccessToken(_) => Rpc::AddPersonalAccessToken,
            Self::AddOrg(_) => Rpc::AddOrg,
            Self::GetMyOrg => Rpc::GetMyOrg,
            Self::AddOrgMember(_) => Rpc::AddOrgMember,
            Self::Healthz => Rpc::Healthz,
        }
    }

    /// The REST form (CONTRACT section 2): method, path, JSON body. Path values are
    /// percent-encoded into the path and left out of the body.
    fn rest(&self) -> (&'static str, String, Option<Value>) {
        fn json(message: &impl serde::Serialize) -> Value {
            serde_json::to_value(message).expect("the request has a JSON form")
        }
        fn without(message: &impl serde::Serialize, field: &str) -> Value {
            let mut body = json(message);
            if let Value::Object(map) = &mut body {
                map.remove(field);
            }
            body
        }
        let users = "/management/v1/users";
        match self {
            Self::UpdateHumanProfile(r) => {
                ("PUT", format!("{users}/{}/profile", segment(&r.user_id)), Some(without(r, "userId")))
            }
            Self::GetHumanProfile(r) => ("GET", format!("{users}/{}/profile", segment(&r.user_id)), None),
            Self::AddHumanUser(r) => ("POST", format!("{users}/human"), Some(json(r))),
            Self::ImportHumanUser(r) => ("POST", format!("{users}/human/_import"), Some(json(r))),
            Self::GetUserById(r) => ("GET", format!("{users}/{}", segment(&r.id)), None),
            Self::RemoveUser(r) => ("DELETE", format!("{users}/{}", segment(&r.id)), None),
            Self::ListUserChanges(r) => {
                ("POST", format!("{users}/{}/changes/_search", segment(&r.user_id)), Some(without(r, "userId")))
            }
            Self::AddMachineUser(r) => ("POST", format!("{users}/machine"), Some(json(r))),
            Self::AddPersonalAccessToken(r) => {
                ("POST", format!("{users}/{}/pats", segment(&r.user_id)), Some(without(r, "userId")))
            }
            Self::AddOrg(r) => ("POST", "/management/v1/orgs".to_owned(), Some(json(r))),
            Self::GetMyOrg => ("GET", "/management/v1/orgs/me".to_owned(), None),
            Self::AddOrgMember(r) => ("POST", "/management/v1/orgs/me/members".to_owned(), Some(json(r))),
            Self::Healthz => ("GET", "/management/v1/healthz".to_owned(), None),
        }
    }
}

/// Percent-encodes a path segment (everything but ASCII letters, digits, `-` and `_`).
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

/// What a call answered: the [`Outcome`], the HTTP status where the client sees one (REST and
/// gRPC-Web; tonic keeps it to itself), and the response headers (gRPC: the metadata).
#[derive(Debug)]
pub struct Reply {
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub headers: http::HeaderMap,
}

impl Reply {
    /// The `etag` header, if any.
    pub fn etag(&self) -> Option<&str> {
        self.headers.get("etag").and_then(|v| v.to_str().ok())
    }
}

/// Makes `call` over `protocol` with `metadata` (header names in lower case; over gRPC the
/// metadata of the same names), failing the test if no answer comes within [`CALL_TIMEOUT`].
pub async fn invoke(server: &Server, protocol: Protocol, call: &Call, metadata: &[(&str, &str)]) -> Reply {
    let answer = async {
        match protocol {
            Protocol::Rest => {
                let (method, path, body) = call.rest();
                let (status, headers, outcome) = server.rest(method, &path, metadata, body).await;
                Reply { outcome, status: Some(status), headers }
            }
            Protocol::Grpc => grpc(server, call, metadata).await,
            Protocol::GrpcWeb => unary(server, Via::GrpcWeb, call, metadata).await,
            Protocol::ConnectJson => unary(server, Via::Connect(ConnectCodec::Json), call, metadata).await,
            Protocol::ConnectProto => unary(server, Via::Connect(ConnectCodec::Proto), call, metadata).await,
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, answer)
        .await
        .unwrap_or_else(|_| panic!("{protocol:?} {:?} got no answer within {CALL_TIMEOUT:?}", call.rpc()))
}

/// `call` over native gRPC (tonic, h2c), on a connection of its own.
async fn grpc(server: &Server, call: &Call, metadata: &[(&str, &str)]) -> Reply {
    fn request<T: Clone>(message: &T, metadata: &[(&str, &str)]) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message.clone());
        for (key, value) in metadata {
            let key = AsciiMetadataKey::from_bytes(key.as_bytes()).expect("metadata key");
            let value: MetadataValue<_> = value.parse().expect("ascii metadata");
            request.metadata_mut().insert(key, value);
        }
        request
    }
    fn reply<M: serde::Serialize>(result: Result<tonic::Response<M>, tonic::Status>) -> Reply {
        let headers = match &result {
            Ok(response) => response.metadata().clone().into_headers(),
            Err(status) => status.metadata().clone().into_headers(),
        };
        Reply { outcome: from_tonic(result), status: None, headers }
    }
    let mut client = server.grpc_client().await;
    match call {
        Call::UpdateHumanProfile(r) => reply(client.update_human_profile(request(r, metadata)).await),
        Call::GetHumanProfile(r) => reply(client.get_human_profile(request(r, metadata)).await),
        Call::AddHumanUser(r) => reply(client.add_human_user(request(r, metadata)).await),
        Call::ImportHumanUser(r) => reply(client.import_human_user(request(r, metadata)).await),
        Call::GetUserById(r) => reply(client.get_user_by_id(request(r, metadata)).await),
        Call::RemoveUser(r) => reply(client.remove_user(request(r, metadata)).await),
        Call::ListUserChanges(r) => reply(client.list_user_changes(request(r, metadata)).await),
        Call::AddMachineUser(r) => reply(client.add_machine_user(request(r, metadata)).await),
        Call::AddPersonalAccessToken(r) => reply(client.add_personal_access_token(request(r, metadata)).await),
        Call::AddOrg(r) => reply(client.add_org(request(r, metadata)).await),
        Call::GetMyOrg => reply(client.get_my_org(request(&pb::GetMyOrgRequest {}, metadata)).await),
        Call::AddOrgMember(r) => reply(client.add_org_member(request(r, metadata)).await),
        Call::Healthz => reply(client.healthz(request(&pb::HealthzRequest {}, metadata)).await),
    }
}

/// The HTTP/1.1 ways of making a call with the bare message.
#[derive(Clone, Copy, Debug)]
enum Via {
    GrpcWeb,
    Connect(ConnectCodec),
}

impl Server {
    /// `method` with `message` over `via`.
    async fn via<M: prost::Message + Default + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        via: Via,
        method: &str,
        message: &(impl prost::Message + serde::Serialize),
        metadata: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, Outcome) {
        match via {
            Via::GrpcWeb => self.grpc_web::<M>(method, message, metadata).await,
            Via::Connect(codec) => self.connect::<M>(codec, method, message, metadata).await,
        }
    }
}

/// `call` over gRPC-Web (binary) or Connect, both on HTTP/1.1.
async fn unary(server: &Server, via: Via, call: &Call, metadata: &[(&str, &str)]) -> Reply {
    let (status, headers, outcome) = match call {
        Call::UpdateHumanProfile(r) => {
            server.via::<pb::UpdateHumanProfileResponse>(via, "UpdateHumanProfile", r, metadata).await
        }
        Call::GetHumanProfile(r) => {
            server.via::<pb::GetHumanProfileResponse>(via, "GetHumanProfile", r, metadata).await
        }
        Call::AddHumanUser(r) => server.via::<pb::AddHumanUserResponse>(via, "AddHumanUser", r, metadata).await,
        Call::ImportHumanUser(r) => {
            server.via::<pb::ImportHumanUserResponse>(via, "ImportHumanUser", r, metadata).await
        }
        Call::GetUserById(r) => server.via::<pb::GetUserByIdResponse>(via, "GetUserByID", r, metadata).await,
        Call::RemoveUser(r) => server.via::<pb::RemoveUserResponse>(via, "RemoveUser", r, metadata).await,
        Call::ListUserChanges(r) => {
            server.via::<pb::ListUserChangesResponse>(via, "ListUserChanges", r, metadata).await
        }
        Call::AddMachineUser(r) => server.via::<pb::AddMachineUserResponse>(via, "AddMachineUser", r, metadata).await,
        Call::AddPersonalAccessToken(r) => {
            server.via::<pb::AddPersonalAccessTokenResponse>(via, "AddPersonalAccessToken", r, metadata).await
        }
        Call::AddOrg(r) => server.via::<pb::AddOrgResponse>(via, "AddOrg", r, metadata).await,
        Call::GetMyOrg => server.via::<pb::GetMyOrgResponse>(via, "GetMyOrg", &pb::GetMyOrgRequest {}, metadata).await,
        Call::AddOrgMember(r) => server.via::<pb::AddOrgMemberResponse>(via, "AddOrgMember", r, metadata).await,
        Call::Healthz => server.via::<pb::HealthzResponse>(via, "Healthz", &pb::HealthzRequest {}, metadata).await,
    };
    Reply { outcome, status: Some(status), headers }
}

/// The objects a matrix call aims at: a human and a machine user of `org`, and the roles
/// `AddOrgMember` grants (to the human).
pub struct Target {
    pub org: String,
    pub human: String,
    pub machine: String,
    pub roles: Vec<String>,
}

impl Call {
    /// The typical call of `rpc` aimed at `target`, as the isolation, privilege and order
    /// matrices make it: profile reads and writes, removal, history and membership on the
    /// human, tokens on the machine; creations with names made distinct by `unique`.
    pub fn aimed_at(rpc: Rpc, target: &Target, unique: &str) -> Self {
        let (human, machine) = (target.human.clone(), target.machine.clone());
        let user_name = format!("eve-{unique}-{rpc:?}").to_lowercase();
        match rpc {
            Rpc::UpdateHumanProfile => Self::UpdateHumanProfile(pb::UpdateHumanProfileRequest {
                user_id: human,
                first_name: "Eve".to_owned(),
                last_name: "Intruder".to_owned(),
                display_name: "pwned".to_owned(),
                ..Default::default()
            }),
            Rpc::GetHumanProfile => Self::get_profile(&human),
            Rpc::AddHumanUser => Self::AddHumanUser(intruder(&user_name)),
            Rpc::ImportHumanUser => Self::ImportHumanUser(pb::ImportHumanUserRequest {
                user_name,
                profile: Some(pb::import_human_user_request::Profile {
                    first_name: "Eve".to_owned(),
                    last_name: "Intruder".to_owned(),
                    ..Default::default()
                }),
                email: Some(pb::import_human_user_request::Email {
                    email: "eve@example.com".to_owned(),
                    is_email_verified: false,
                }),
                ..Default::default()
            }),
            Rpc::GetUserById => Self::GetUserById(pb::GetUserByIdRequest { id: human }),
            Rpc::RemoveUser => Self::RemoveUser(pb::RemoveUserRequest { id: human }),
            Rpc::ListUserChanges => Self::ListUserChanges(pb::ListUserChangesRequest { user_id: human, query: None }),
            Rpc::AddMachineUser => Self::AddMachineUser(pb::AddMachineUserRequest {
                user_name,
                name: "bot".to_owned(),
                ..Default::default()
            }),
            Rpc::AddPersonalAccessToken => Self::AddPersonalAccessToken(pb::AddPersonalAccessTokenRequest {
                user_id: machine,
                expiration_date: None,
            }),
            Rpc::AddOrg => Self::AddOrg(pb::AddOrgRequest { name: format!("Evil {unique}") }),
            Rpc::GetMyOrg => Self::GetMyOrg,
            Rpc::AddOrgMember => {
                Self::AddOrgMember(pb::AddOrgMemberRequest { user_id: human, roles: target.roles.clone() })
            }
            Rpc::Healthz => Self::Healthz,
        }
    }
}

/// `AddHumanUser` of Eve Intruder named `user_name`.
pub fn intruder(user_name: &str) -> pb::AddHumanUserRequest {
    pb::AddHumanUserRequest {
        user_name: user_name.to_owned(),
        profile: Some(pb::add_human_user_request::Profile {
            first_name: "Eve".to_owned(),
            last_name: "Intruder".to_owned(),
            ..Default::default()
        }),
        email: Some(pb::add_human_user_request::Email {
            email: "eve@example.com".to_owned(),
            is_email_verified: false,
        }),
        ..Default::default()
    }
}
