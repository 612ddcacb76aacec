//! Everything Persona serves over gRPC: `ManagementService`, the standard health service
//! (`grpc.health.v1`) and server reflection (v1 and v1alpha, as grpcurl 1.8 only speaks v1alpha),
//! as tonic [`Routes`] and as an axum [`Router`] that also speaks gRPC-Web. Reflection, in both
//! versions, describes all four services, so `grpcurl … grpc.health.v1.Health/Check` works.
//!
//! The gRPC-Web translation ([`GrpcWebLayer`]) wraps these routes only: it answers plain HTTP/1
//! requests with 400, so REST must be dispatched elsewhere (by content type) before it. CORS
//! belongs outside that dispatcher, since preflights carry no gRPC content type.

use crate::FILE_DESCRIPTOR_SET;
use crate::pb::zitadel::management::v1::management_service_server::{ManagementServiceServer, SERVICE_NAME};
use crate::pb::zitadel::user::v2::user_service_server::{SERVICE_NAME as USER_V2_SERVICE, UserServiceServer};
use crate::service::ManagementApi;
use crate::v2::UserApi;
use axum::Router;
use persona_domain::Service;
use persona_domain::ports::Store;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_web::GrpcWebLayer;

/// Default largest request message: 4 MiB, tonic's own default.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Settings of the gRPC services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrpcConfig {
    /// Largest decoded request message, in bytes; larger ones are refused by tonic.
    pub max_message_bytes: usize,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self { max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES }
    }
}

/// The gRPC services could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The compiled-in descriptor set could not be served by reflection.
    #[error("cannot build the gRPC reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Sets what the standard health service (`grpc.health.v1.Health`) answers for the whole
/// server (`""`) and for `ManagementService`, so that it can follow the database's readiness.
#[derive(Clone)]
pub struct HealthSwitch {
    reporter: tonic_health::server::HealthReporter,
}

impl std::fmt::Debug for HealthSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthSwitch").finish_non_exhaustive()
    }
}

impl HealthSwitch {
    /// `SERVING` when `serving`, `NOT_SERVING` otherwise; watchers are told of changes.
    pub async fn set_serving(&self, serving: bool) {
        let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
        self.reporter.set_service_status("", status).await;
        self.reporter.set_service_status(SERVICE_NAME, status).await;
        self.reporter.set_service_status(USER_V2_SERVICE, status).await;
    }
}

/// `ManagementService`, health and reflection (v1 and v1alpha) as tonic routes, native gRPC only.
///
/// # Errors
/// [`SetupError::Reflection`] when the descriptor set is unusable (a build defect).
pub async fn grpc_routes<S: Store>(service: Service<S>, config: &GrpcConfig) -> Result<Routes, SetupError> {
    grpc_routes_with_health(service, config).await.map(|(routes, _)| routes)
}

/// [`grpc_routes`], and the switch of its health service (`SERVING` at first).
///
/// # Errors
/// As [`grpc_routes`].
pub async fn grpc_routes_with_health<S: Store>(
    service: Service<S>,
    config: &GrpcConfig,
) -> Result<(Routes, HealthSwitch), SetupError> {
    let limit = config.max_message_bytes;
    let management = ManagementServiceServer::new(ManagementApi::new(service.clone())).max_decoding_message_size(limit);
    let users_v2 = UserServiceServer::new(UserApi::new(service)).max_decoding_message_size(limit);

    let (reporter, health) = tonic_health::server::health_reporter();
    // "" (the whole server) is SERVING from the start.
    reporter.set_service_status(SERVICE_NAME, ServingStatus::Serving).await;
    reporter.set_service_status(USER_V2_SERVICE, ServingStatus::Serving).await;
    let health = health.max_decoding_message_size(limit);

    // Reflection describes every service this port serves, over v1 and v1alpha alike: the
    // management API, health, and both reflection services (tonic's builder would otherwise
    // add only the one version it builds).
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?.max_decoding_message_size(limit);
    let reflection_v1alpha = reflection().build_v1alpha()?.max_decoding_message_size(limit);

    let routes = Routes::new(management)
        .add_service(users_v2)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    Ok((routes, HealthSwitch { reporter }))
}

/// [`grpc_routes`] as an axum router that serves native gRPC (HTTP/2) and gRPC-Web (HTTP/1.1
/// or HTTP/2, `application/grpc-web*`). Mount it only for requests with a gRPC content type.
///
/// # Errors
/// As [`grpc_routes`].
pub async fn grpc_router<S: Store>(service: Service<S>, config: &GrpcConfig) -> Result<Router, SetupError> {
    Ok(native_router(grpc_routes(service, config).await?).layer(GrpcWebLayer::new()))
}

/// `routes` as an axum router for native gRPC, with Persona's mapping of unreadable requests.
/// [`grpc_router`] wraps it in the gRPC-Web translation; the server does the same after adding
/// its own layers in between (they then see gRPC-Web calls as native ones).
pub fn native_router(routes: Routes) -> Router {
    let native = routes.prepare().into_axum_router();
    // Unreadable requests are the client's fault on every protocol (see `transport_errors`).
    native.layer(axum::middleware::map_response(crate::transport_errors::remap))
}
