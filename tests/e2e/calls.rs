//! One description of every RPC of the contract (v1's `ManagementService`, CONTRACT section 2,
//! and v2's `UserService`, section 7) and one dispatcher that makes it over any protocol, so a
//! case is written once and run over REST, gRPC, gRPC-Web and Connect (JSON and binary) alike.
//! The protocol table, the isolation, privilege and order matrices and the hostile matrix all
//! call through [`invoke`]: a new protocol is one more [`Protocol`] and one more arm in
//! [`invoke`]; a new RPC is one more [`Rpc`], [`Call`] and arm in each form.

use crate::harness::{CALL_TIMEOUT, ConnectCodec, MANAGEMENT, Outcome, Server, USER_V2, from_tonic};
use persona_api_grpc::pb::zitadel::change::v1::ChangeQuery;
use persona_api_grpc::pb::zitadel::management::v1 as pb;
use persona_api_grpc::pb::zitadel::management::v1::management_service_client::ManagementServiceClient;
use persona_api_grpc::pb::zitadel::user::v2;
use persona_api_grpc::pb::zitadel::user::v2::user_service_client::UserServiceClient;
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

/// The RPCs of `ManagementService` and, suffixed `V2`, of `zitadel.user.v2.UserService`.
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
    AddHumanUserV2,
    GetUserByIdV2,
    UpdateHumanUserV2,
    UpdateUserV2,
    DeleteUserV2,
    ListUsersV2,
}

/// All 19 of them: v1's 13 in the contract's order, then v2's six.
pub const RPCS: [Rpc; 19] = [
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
    Rpc::AddHumanUserV2,
    Rpc::GetUserByIdV2,
    Rpc::UpdateHumanUserV2,
    Rpc::UpdateUserV2,
    Rpc::DeleteUserV2,
    Rpc::ListUsersV2,
];

/// One call of an RPC: its request message, which every protocol sends in its own form (REST:
/// the path values in the path, the rest as the JSON body; gRPC, gRPC-Web and Connect: the
/// message).
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
    AddHumanUserV2(v2::AddHumanUserRequest),
    GetUserByIdV2(v2::GetUserByIdRequest),
    UpdateHumanUserV2(v2::UpdateHumanUserRequest),
    UpdateUserV2(v2::UpdateUserRequest),
    DeleteUserV2(v2::DeleteUserRequest),
    ListUsersV2(v2::ListUsersRequest),
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
            Self::AddHumanUserV2(_) => Rpc::AddHumanUserV2,
            Self::GetUserByIdV2(_) => Rpc::GetUserByIdV2,
            Self::UpdateHumanUserV2(_) => Rpc::UpdateHumanUserV2,
            Self::UpdateUserV2(_) => Rpc::UpdateUserV2,
            Self::DeleteUserV2(_) => Rpc::DeleteUserV2,
            Self::ListUsersV2(_) => Rpc::ListUsersV2,
        }
    }

    /// The REST form (CONTRACT sections 2 and 7): method, path, JSON body. Path values are
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
            Self::AddHumanUserV2(r) => ("POST", "/v2/users/human".to_owned(), Some(json(r))),
            Self::GetUserByIdV2(r) => ("GET", format!("/v2/users/{}", segment(&r.user_id)), None),
            Self::UpdateHumanUserV2(r) => {
                ("PUT", format!("/v2/users/human/{}", segment(&r.user_id)), Some(without(r, "userId")))
            }
            Self::UpdateUserV2(r) => {
                ("PATCH", format!("/v2/users/{}", segment(&r.user_id)), Some(without(r, "userId")))
            }
            Self::DeleteUserV2(r) => ("DELETE", format!("/v2/users/{}", segment(&r.user_id)), None),
            Self::ListUsersV2(r) => ("POST", "/v2/users".to_owned(), Some(json(r))),
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

/// `call` over native gRPC (tonic, h2c), on a connection of its own, with the client of the
/// RPC's service.
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
    let channel = server.grpc_channel().await;
    let mut client = ManagementServiceClient::new(channel.clone());
    let mut users = UserServiceClient::new(channel);
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
        Call::AddHumanUserV2(r) => reply(users.add_human_user(request(r, metadata)).await),
        Call::GetUserByIdV2(r) => reply(users.get_user_by_id(request(r, metadata)).await),
        Call::UpdateHumanUserV2(r) => reply(users.update_human_user(request(r, metadata)).await),
        Call::UpdateUserV2(r) => reply(users.update_user(request(r, metadata)).await),
        Call::DeleteUserV2(r) => reply(users.delete_user(request(r, metadata)).await),
        Call::ListUsersV2(r) => reply(users.list_users(request(r, metadata)).await),
    }
}

/// The HTTP/1.1 ways of making a call with the bare message.
#[derive(Clone, Copy, Debug)]
enum Via {
    GrpcWeb,
    Connect(ConnectCodec),
}

impl Server {
    /// `method` of `service` ([`MANAGEMENT`] or [`USER_V2`]) with `message` over `via`.
    async fn via<M: prost::Message + Default + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        via: Via,
        service: &str,
        method: &str,
        message: &(impl prost::Message + serde::Serialize),
        metadata: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, Outcome) {
        match via {
            Via::GrpcWeb => self.grpc_web::<M>(service, method, message, metadata).await,
            Via::Connect(codec) => self.connect::<M>(codec, service, method, message, metadata).await,
        }
    }
}

/// `call` over gRPC-Web (binary) or Connect, both on HTTP/1.1.
async fn unary(server: &Server, via: Via, call: &Call, metadata: &[(&str, &str)]) -> Reply {
    let (status, headers, outcome) = match call {
        Call::UpdateHumanProfile(r) => {
            server.via::<pb::UpdateHumanProfileResponse>(via, MANAGEMENT, "UpdateHumanProfile", r, metadata).await
        }
        Call::GetHumanProfile(r) => {
            server.via::<pb::GetHumanProfileResponse>(via, MANAGEMENT, "GetHumanProfile", r, metadata).await
        }
        Call::AddHumanUser(r) => {
            server.via::<pb::AddHumanUserResponse>(via, MANAGEMENT, "AddHumanUser", r, metadata).await
        }
        Call::ImportHumanUser(r) => {
            server.via::<pb::ImportHumanUserResponse>(via, MANAGEMENT, "ImportHumanUser", r, metadata).await
        }
        Call::GetUserById(r) => {
            server.via::<pb::GetUserByIdResponse>(via, MANAGEMENT, "GetUserByID", r, metadata).await
        }
        Call::RemoveUser(r) => server.via::<pb::RemoveUserResponse>(via, MANAGEMENT, "RemoveUser", r, metadata).await,
        Call::ListUserChanges(r) => {
            server.via::<pb::ListUserChangesResponse>(via, MANAGEMENT, "ListUserChanges", r, metadata).await
        }
        Call::AddMachineUser(r) => {
            server.via::<pb::AddMachineUserResponse>(via, MANAGEMENT, "AddMachineUser", r, metadata).await
        }
        Call::AddPersonalAccessToken(r) => {
            server
                .via::<pb::AddPersonalAccessTokenResponse>(via, MANAGEMENT, "AddPersonalAccessToken", r, metadata)
                .await
        }
        Call::AddOrg(r) => server.via::<pb::AddOrgResponse>(via, MANAGEMENT, "AddOrg", r, metadata).await,
        Call::GetMyOrg => {
            server.via::<pb::GetMyOrgResponse>(via, MANAGEMENT, "GetMyOrg", &pb::GetMyOrgRequest {}, metadata).await
        }
        Call::AddOrgMember(r) => {
            server.via::<pb::AddOrgMemberResponse>(via, MANAGEMENT, "AddOrgMember", r, metadata).await
        }
        Call::Healthz => {
            server.via::<pb::HealthzResponse>(via, MANAGEMENT, "Healthz", &pb::HealthzRequest {}, metadata).await
        }
        Call::AddHumanUserV2(r) => {
            server.via::<v2::AddHumanUserResponse>(via, USER_V2, "AddHumanUser", r, metadata).await
        }
        Call::GetUserByIdV2(r) => server.via::<v2::GetUserByIdResponse>(via, USER_V2, "GetUserByID", r, metadata).await,
        Call::UpdateHumanUserV2(r) => {
            server.via::<v2::UpdateHumanUserResponse>(via, USER_V2, "UpdateHumanUser", r, metadata).await
        }
        Call::UpdateUserV2(r) => server.via::<v2::UpdateUserResponse>(via, USER_V2, "UpdateUser", r, metadata).await,
        Call::DeleteUserV2(r) => server.via::<v2::DeleteUserResponse>(via, USER_V2, "DeleteUser", r, metadata).await,
        Call::ListUsersV2(r) => server.via::<v2::ListUsersResponse>(via, USER_V2, "ListUsers", r, metadata).await,
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
    /// human, tokens on the machine; creations with names made distinct by `unique` (in the
    /// caller's or the header's org: v2's `organization` is left out); v2's `ListUsers` of
    /// every user the caller may see. The v2 updates write values that v1's update does not,
    /// and succeed again when repeated (a no-op), so neither hides the other's change.
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
            Rpc::AddHumanUserV2 => Self::AddHumanUserV2(intruder_v2(&user_name)),
            Rpc::GetUserByIdV2 => Self::GetUserByIdV2(v2::GetUserByIdRequest { user_id: human }),
            Rpc::UpdateHumanUserV2 => Self::UpdateHumanUserV2(v2::UpdateHumanUserRequest {
                user_id: human,
                profile: Some(v2::SetHumanProfile {
                    given_name: "Eve".to_owned(),
                    family_name: "Intruder".to_owned(),
                    display_name: Some("pwned through v2".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            Rpc::UpdateUserV2 => Self::UpdateUserV2(v2::UpdateUserRequest {
                user_id: human,
                username: None,
                user_type: Some(v2::update_user_request::UserType::Human(v2::update_user_request::Human {
                    profile: Some(v2::update_user_request::human::Profile {
                        nick_name: Some("pwned".to_owned()),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            }),
            Rpc::DeleteUserV2 => Self::DeleteUserV2(v2::DeleteUserRequest { user_id: human }),
            Rpc::ListUsersV2 => Self::ListUsersV2(v2::ListUsersRequest::default()),
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

/// v2's `AddHumanUser` of Eve Intruder named `user_name`, in the org of the header or the caller.
pub fn intruder_v2(user_name: &str) -> v2::AddHumanUserRequest {
    v2::AddHumanUserRequest {
        username: Some(user_name.to_owned()),
        profile: Some(v2::SetHumanProfile {
            given_name: "Eve".to_owned(),
            family_name: "Intruder".to_owned(),
            ..Default::default()
        }),
        email: Some(v2::SetHumanEmail { email: "eve@example.com".to_owned(), verification: None }),
        ..Default::default()
    }
}
