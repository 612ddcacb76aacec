//! The gRPC adapter in-process over the in-memory store: [`ManagementApi`] called through the
//! generated trait with real metadata, and the assembled router (native gRPC, gRPC-Web, health,
//! reflection) called as a tower service.

use crate::pb::google::rpc as google_rpc;
use crate::pb::zitadel::management::v1 as pb;
use crate::pb::zitadel::management::v1::management_service_server::ManagementService;
use crate::pb::zitadel::user::v1 as user;
use crate::pb::zitadel::v1::ErrorDetail;
use crate::{GrpcConfig, ManagementApi, grpc_router};
use axum::body::Body;
use http::{Method, Request, Version};
use http_body_util::BodyExt;
use persona_domain::memory::InMemoryStore;
use persona_domain::{Service, conformance};
use prost::{Message, Name};
use tonic::Code;
use tonic::metadata::MetadataValue;
use tower::ServiceExt;

struct Fixture {
    api: ManagementApi<InMemoryStore>,
    service: Service<InMemoryStore>,
    auth: String,
    org_id: String,
}

/// The adapter over the domain's bootstrapped service fixture.
async fn fixture() -> Fixture {
    let base = conformance::Fixture::new(InMemoryStore::default()).await;
    Fixture {
        api: ManagementApi::new(base.service.clone()),
        service: base.service,
        auth: base.admin,
        org_id: base.org.into_string(),
    }
}

fn request<T>(message: T, metadata: &[(&'static str, &str)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, MetadataValue::try_from(*value).expect("ASCII metadata"));
    }
    request
}

impl Fixture {
    fn authed<T>(&self, message: T) -> tonic::Request<T> {
        request(message, &[("authorization", self.auth.as_str())])
    }

    async fn add_ada(&self) -> String {
        let message = pb::AddHumanUserRequest {
            user_name: "ada".into(),
            profile: Some(pb::add_human_user_request::Profile {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                ..Default::default()
            }),
            email: Some(pb::add_human_user_request::Email { email: "ada@example.com".into(), is_email_verified: true }),
            ..Default::default()
        };
        let created = self.api.add_human_user(self.authed(message)).await.expect("added").into_inner();
        assert!(created.details.and_then(|d| d.creation_date).is_some());
        created.user_id
    }
}

fn update(user_id: &str) -> pb::UpdateHumanProfileRequest {
    pb::UpdateHumanProfileRequest {
        user_id: user_id.into(),
        first_name: "Ada".into(),
        last_name: "King".into(),
        display_name: "Ada King".into(),
        gender: 99,
        ..Default::default()
    }
}

/// The details a client decodes from `grpc-status-details-bin`, as (type URL, summary).
fn decoded_details(status: &tonic::Status) -> Vec<(String, String)> {
    if status.details().is_empty() {
        return Vec::new();
    }
    let rich = google_rpc::Status::decode(status.details()).expect("google.rpc.Status");
    assert_eq!((rich.code, rich.message.as_str()), (status.code() as i32, status.message()));
    rich.details
        .into_iter()
        .map(|any| {
            let summary = if any.type_url == ErrorDetail::type_url() {
                let detail = ErrorDetail::decode(any.value).expect("ErrorDetail");
                format!("{} {}", detail.id, detail.message)
            } else {
                let bad = google_rpc::BadRequest::decode(any.value).expect("BadRequest");
                bad.field_violations.into_iter().map(|v| v.field).collect::<Vec<_>>().join(",")
            };
            (any.type_url, summary)
        })
        .collect()
}

#[tokio::test]
async fn update_answers_with_details_and_an_identical_update_is_not_changed() {
    let fx = fixture().await;
    let id = fx.add_ada().await;
    let reply = fx.api.update_human_profile(fx.authed(update(&id))).await.expect("updated").into_inner();
    let details = reply.details.expect("details");
    assert_eq!((details.sequence, details.resource_owner.as_str()), (2, fx.org_id.as_str()));
    assert!(details.creation_date.is_none() && details.change_date.is_some());

    let status = fx.api.update_human_profile(fx.authed(update(&id))).await.expect_err("not changed");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.message(), "Profile not changed (COMMAND-2M0fs)");
    assert_eq!(
        decoded_details(&status),
        [("type.googleapis.com/zitadel.v1.ErrorDetail".to_owned(), "COMMAND-2M0fs Profile not changed".to_owned())]
    );

    // The unknown gender number was stored as unspecified and reads back as a valid enum.
    let read = fx.api.get_human_profile(fx.authed(pb::GetHumanProfileRequest { user_id: id })).await.expect("read");
    let profile = read.into_inner().profile.expect("profile");
    assert_eq!(profile.gender, user::Gender::Unspecified as i32);
}

#[tokio::test]
async fn missing_authorization_is_unauthenticated_without_details() {
    let fx = fixture().await;
    let status = fx.api.get_my_org(request(pb::GetMyOrgRequest {}, &[])).await.expect_err("no auth");
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "auth header missing"));
    assert!(status.details().is_empty());
}

#[tokio::test]
async fn metadata_selects_the_org_and_guards_the_update() {
    let fx = fixture().await;
    let id = fx.add_ada().await;
    let foreign = request(pb::GetMyOrgRequest {}, &[("authorization", &fx.auth), ("x-zitadel-orgid", "404")]);
    let status = fx.api.get_my_org(foreign).await.expect_err("unknown org");
    assert_eq!((status.code(), status.message()), (Code::PermissionDenied, "Organisation doesn't exist (AUTH-Bs7Ds)"));

    let stale = request(update(&id), &[("authorization", &fx.auth), ("if-match", "\"7\"")]);
    let status = fx.api.update_human_profile(stale).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    assert!(status.message().contains("current sequence is 1"), "{}", status.message());

    let dry = request(
        update(&id),
        &[("authorization", &fx.auth), ("if-match", "\"1\""), ("x-persona-validate-only", "true")],
    );
    assert!(fx.api.update_human_profile(dry).await.is_ok());
    let meta = persona_domain::RequestMeta { authorization: Some(&fx.auth), ..Default::default() };
    let user = fx.service.get_user_by_id(&meta, &id).await.expect("read");
    assert_eq!(user.sequence, 1, "a dry run writes nothing");
}

#[tokio::test]
async fn validation_errors_carry_field_violations_but_no_error_detail() {
    let fx = fixture().await;
    let invalid = pb::UpdateHumanProfileRequest { user_id: "1".into(), ..Default::default() };
    let status = fx.api.update_human_profile(fx.authed(invalid)).await.expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive"
    );
    assert_eq!(
        decoded_details(&status),
        [("type.googleapis.com/google.rpc.BadRequest".to_owned(), "firstName,lastName,displayName".to_owned())]
    );
}

#[tokio::test]
async fn reads_and_history_convert_to_the_contract_messages() {
    let fx = fixture().await;
    let id = fx.add_ada().await;
    fx.api.update_human_profile(fx.authed(update(&id))).await.expect("updated");

    let user = fx.api.get_user_by_id(fx.authed(pb::GetUserByIdRequest { id: id.clone() })).await.expect("user");
    let user = user.into_inner().user.expect("user");
    assert_eq!((user.login_names.as_slice(), user.preferred_login_name.as_str()), (&["ada".to_owned()][..], "ada"));
    assert!(matches!(user.r#type, Some(user::user::Type::Human(_))));
    assert_eq!(user.details.map(|d| d.sequence), Some(2));

    let query = pb::ListUserChangesRequest { query: None, user_id: id };
    let changes = fx.api.list_user_changes(fx.authed(query)).await.expect("changes").into_inner().result;
    let sequences: Vec<u64> = changes.iter().map(|c| c.sequence).collect();
    assert_eq!(sequences, [2, 1], "newest first by default");
    assert_eq!(changes[0].changed_fields.len(), 2, "lastName and displayName");
    assert!(serde_json::to_string(&changes).is_ok(), "every enum and timestamp encodes as JSON");
}

#[tokio::test]
async fn healthz_needs_no_authentication() {
    let fx = fixture().await;
    assert!(fx.api.healthz(request(pb::HealthzRequest {}, &[])).await.is_ok());
}

/// A length-prefixed gRPC message frame.
fn frame(message: &impl Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(bytes.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(&bytes);
    framed
}

/// Calls `path` on the gRPC router; returns grpc-status (headers or trailers) and the body.
async fn call(
    router: &axum::Router,
    path: &str,
    content_type: &str,
    version: Version,
    body: Vec<u8>,
) -> (Option<String>, Vec<u8>) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .version(version)
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(Body::from(body))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), http::StatusCode::OK);
    let in_headers = response.headers().get("grpc-status").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let collected = response.into_body().collect().await.expect("body");
    let in_trailers =
        collected.trailers().and_then(|t| t.get("grpc-status")).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (in_headers.or(in_trailers), collected.to_bytes().to_vec())
}

fn unframe<M: Message + Default>(body: &[u8]) -> M {
    M::decode(body.get(5..).expect("a framed message")).expect("decodes")
}

#[tokio::test]
async fn the_router_serves_grpc_health_reflection_and_grpc_web() {
    use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_check_response::ServingStatus};
    use tonic_reflection::pb::v1alpha as reflection;

    let fx = fixture().await;
    let router = grpc_router(fx.service.clone(), &GrpcConfig::default()).await.expect("routes");

    for service in ["", "zitadel.management.v1.ManagementService"] {
        let check = frame(&HealthCheckRequest { service: service.into() });
        let (status, body) =
            call(&router, "/grpc.health.v1.Health/Check", "application/grpc", Version::HTTP_2, check).await;
        assert_eq!(status.as_deref(), Some("0"), "{service:?}");
        assert_eq!(unframe::<HealthCheckResponse>(&body).status, ServingStatus::Serving as i32, "{service:?}");
    }

    // Reflection lists every service of the port, in both versions, and serves the file
    // that describes each.
    let services = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "zitadel.management.v1.ManagementService",
        "zitadel.user.v2.UserService",
    ];
    let v1alpha_path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
    let v1alpha =
        |request| frame(&reflection::ServerReflectionRequest { host: String::new(), message_request: Some(request) });
    let (status, body) = call(
        &router,
        v1alpha_path,
        "application/grpc",
        Version::HTTP_2,
        v1alpha(reflection::server_reflection_request::MessageRequest::ListServices(String::new())),
    )
    .await;
    assert_eq!(status.as_deref(), Some("0"));
    let Some(reflection::server_reflection_response::MessageResponse::ListServicesResponse(listed)) =
        unframe::<reflection::ServerReflectionResponse>(&body).message_response
    else {
        panic!("a service list")
    };
    let mut names: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, services, "v1alpha");

    use tonic_reflection::pb::v1 as reflection_v1;
    let v1_path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    let v1 = |request| {
        frame(&reflection_v1::ServerReflectionRequest { host: String::new(), message_request: Some(request) })
    };
    let (status, body) = call(
        &router,
        v1_path,
        "application/grpc",
        Version::HTTP_2,
        v1(reflection_v1::server_reflection_request::MessageRequest::ListServices(String::new())),
    )
    .await;
    assert_eq!(status.as_deref(), Some("0"));
    let Some(reflection_v1::server_reflection_response::MessageResponse::ListServicesResponse(listed)) =
        unframe::<reflection_v1::ServerReflectionResponse>(&body).message_response
    else {
        panic!("a service list")
    };
    let mut names: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, services, "v1");

    for service in services {
        let symbol = reflection::server_reflection_request::MessageRequest::FileContainingSymbol(service.to_owned());
        let (_, body) = call(&router, v1alpha_path, "application/grpc", Version::HTTP_2, v1alpha(symbol)).await;
        let response = unframe::<reflection::ServerReflectionResponse>(&body).message_response;
        assert!(
            matches!(response, Some(reflection::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
            "v1alpha describes {service}: {response:?}"
        );
        let symbol = reflection_v1::server_reflection_request::MessageRequest::FileContainingSymbol(service.to_owned());
        let (_, body) = call(&router, v1_path, "application/grpc", Version::HTTP_2, v1(symbol)).await;
        let response = unframe::<reflection_v1::ServerReflectionResponse>(&body).message_response;
        assert!(
            matches!(response, Some(reflection_v1::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
            "v1 describes {service}: {response:?}"
        );
    }

    // gRPC-Web over HTTP/1.1: the trailers travel in the body, after the message.
    let healthz = frame(&pb::HealthzRequest {});
    let path = "/zitadel.management.v1.ManagementService/Healthz";
    let (_, body) = call(&router, path, "application/grpc-web+proto", Version::HTTP_11, healthz).await;
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("grpc-status:0"), "{text:?}");

    // An RPC Persona does not offer.
    let (status, _) = call(
        &router,
        "/zitadel.management.v1.ManagementService/ListUsers",
        "application/grpc",
        Version::HTTP_2,
        Vec::new(),
    )
    .await;
    assert_eq!(status.as_deref(), Some("12"));
}
