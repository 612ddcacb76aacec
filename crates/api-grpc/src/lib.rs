//! Persona's gRPC surface: the ZITADEL management API (v1) wire contract and its gRPC /
//! gRPC-Web adapter.
//!
//! [`pb`] holds the types generated at build time from `proto/` (workspace root):
//! prost messages, tonic server and client stubs, and proto3-JSON serde impls, so
//! one set of types serves native gRPC, gRPC-Web and REST/JSON.
//!
//! The adapter is thin: [`headers`] reads the request metadata, [`convert`] turns messages into
//! the domain's inputs and results back into messages, [`rpc`] has one function per RPC that
//! every protocol calls (REST too), [`status`] maps domain errors to gRPC statuses, and
//! [`routes`] assembles the services ([`grpc_router`] for native gRPC plus gRPC-Web).
//! [`connect`] serves the same functions over the Connect protocol (unary, JSON or binary), and
//! [`proto_json`] is the strict proto3 JSON decoder that Connect and REST share.

pub mod connect;
pub mod convert;
pub mod descriptors;
pub mod headers;
pub mod phrasing;
pub mod proto_json;
pub mod routes;
pub mod rpc;
pub mod service;
pub mod status;
#[cfg(test)]
mod tests;
mod timestamp;
pub mod transport_errors;
pub mod v2;

pub use headers::RequestHeaders;
pub use routes::{
    GrpcConfig, HealthSwitch, SetupError, grpc_router, grpc_routes, grpc_routes_with_health, native_router,
};
pub use service::ManagementApi;

/// Generated protobuf types, in a module tree mirroring the protobuf packages.
///
/// prost, tonic and pbjson generate this code from `proto/`, so the lints it trips are expected
/// here rather than fixed: each one listed fires in it. Rustdoc's lints stay a plain allow: none
/// fires today (an expectation would be reported unfulfilled by `cargo doc`), but a comment in a
/// `.proto` file, which becomes a doc comment here (a bare URL, a `[bracket]`), can make one fire.
#[expect(
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    clippy::allow_attributes,
    clippy::allow_attributes_without_reason,
    missing_docs,
    unused_qualifications,
    reason = "generated code, not ours to fix"
)]
#[allow(rustdoc::all, reason = "generated doc comments come from the .proto files")]
pub mod pb {
    /// Standard Google packages.
    pub mod google {
        /// Well-known types: [`pbjson_types`], except [`protobuf::Timestamp`], which is
        /// Persona's own so that JSON timestamps are written with a `Z` suffix.
        pub mod protobuf {
            pub use crate::timestamp::Timestamp;
            pub use ::pbjson_types::*;
        }

        /// `google.rpc`: `Status` and `BadRequest`.
        pub mod rpc {
            include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
            include!(concat!(env!("OUT_DIR"), "/google.rpc.serde.rs"));
        }
    }

    /// ZITADEL packages.
    pub mod zitadel {
        /// `zitadel.v1`: `ObjectDetails`, `LocalizedMessage`, `ErrorDetail`.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/zitadel.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/zitadel.v1.serde.rs"));
        }

        /// `zitadel.object.v2`.
        pub mod object {
            /// `zitadel.object.v2`: `Details`, `Organization`, `ListQuery`, `ListDetails` and
            /// `TextQueryMethod`, shared by the v2 services.
            pub mod v2 {
                include!(concat!(env!("OUT_DIR"), "/zitadel.object.v2.rs"));
                include!(concat!(env!("OUT_DIR"), "/zitadel.object.v2.serde.rs"));
            }
        }

        /// `zitadel.user.v1` and `zitadel.user.v2`.
        pub mod user {
            /// `zitadel.user.v1`: users, profiles and their enums.
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/zitadel.user.v1.rs"));
                include!(concat!(env!("OUT_DIR"), "/zitadel.user.v1.serde.rs"));
            }

            /// `zitadel.user.v2`: `UserService` (the six RPCs Persona serves) with its messages,
            /// enums and search queries, server (`user_service_server`) and client
            /// (`user_service_client`).
            pub mod v2 {
                include!(concat!(env!("OUT_DIR"), "/zitadel.user.v2.rs"));
                include!(concat!(env!("OUT_DIR"), "/zitadel.user.v2.serde.rs"));
            }
        }

        /// `zitadel.org.v1`.
        pub mod org {
            /// `zitadel.org.v1`: organisations.
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/zitadel.org.v1.rs"));
                include!(concat!(env!("OUT_DIR"), "/zitadel.org.v1.serde.rs"));
            }
        }

        /// `zitadel.change.v1`.
        pub mod change {
            /// `zitadel.change.v1`: change history.
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/zitadel.change.v1.rs"));
                include!(concat!(env!("OUT_DIR"), "/zitadel.change.v1.serde.rs"));
            }
        }

        /// `zitadel.management.v1`.
        pub mod management {
            /// `zitadel.management.v1`: `ManagementService` with its messages,
            /// server (`management_service_server`) and client
            /// (`management_service_client`).
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/zitadel.management.v1.rs"));
                include!(concat!(env!("OUT_DIR"), "/zitadel.management.v1.serde.rs"));
            }
        }
    }
}

/// Encoded `google.protobuf.FileDescriptorSet` of every `.proto` file (imports
/// included), for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/persona_descriptor.bin"));
