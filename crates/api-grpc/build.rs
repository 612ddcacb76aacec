//! Compiles `proto/` (workspace root) at build time, without a system `protoc`:
//!
//! 1. `protox` parses the `.proto` files (it ships the `google.protobuf` well-known
//!    types) into a `FileDescriptorSet`, which is also written to
//!    `$OUT_DIR/persona_descriptor.bin` for gRPC reflection;
//! 2. `tonic-prost-build` generates the prost messages plus tonic server and client
//!    stubs (`<package>.rs`);
//! 3. `pbjson-build` generates proto3-JSON serde impls (`<package>.serde.rs`).
//!
//! `google.protobuf.*` maps to `::pbjson_types` (prost types with proto3-JSON serde),
//! except `google.protobuf.Timestamp`, which maps to this crate's own type so that JSON
//! timestamps end in `Z` as the contract requires (pbjson-types writes `+00:00`).

use std::error::Error;
use std::path::PathBuf;

use prost::Message as _;

/// Our `.proto` files, relative to the proto root.
const PROTOS: &[&str] = &[
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
    "zitadel/v1.proto",
    "zitadel/user.proto",
    "zitadel/org.proto",
    "zitadel/change.proto",
    "zitadel/management.proto",
    "zitadel/object/v2/object.proto",
    "zitadel/user/v2/email.proto",
    "zitadel/user/v2/phone.proto",
    "zitadel/user/v2/password.proto",
    "zitadel/user/v2/idp.proto",
    "zitadel/user/v2/user.proto",
    "zitadel/user/v2/query.proto",
    "zitadel/user/v2/user_service.proto",
];

/// Packages to generate JSON (serde) impls for.
const JSON_PACKAGES: &[&str] = &[".zitadel", ".google.rpc"];

const WKT_RUST: &str = "::pbjson_types";
const TIMESTAMP_RUST: &str = "crate::pb::google::protobuf::Timestamp";

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    println!("cargo:rerun-if-changed={}", proto_root.display());
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", proto_root.join(proto).display());
    }

    let fds = protox::compile(PROTOS, [&proto_root])?;
    let encoded = fds.encode_to_vec();
    std::fs::write(out_dir.join("persona_descriptor.bin"), &encoded)?;

    let mut prost_config = prost_build::Config::new();
    prost_config.enable_type_names().type_name_domain(["."], "type.googleapis.com");

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(true)
        // Stop prost's default `.google.protobuf` -> `::prost_types` mapping so ours applies.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", WKT_RUST)
        .extern_path(".google.protobuf.Timestamp", TIMESTAMP_RUST)
        .compile_fds_with_config(fds, prost_config)?;

    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .extern_path(".google.protobuf", WKT_RUST)
        .extern_path(".google.protobuf.Timestamp", TIMESTAMP_RUST)
        .ignore_unknown_fields()
        .ignore_unknown_enum_variants()
        .build(JSON_PACKAGES)?;

    Ok(())
}
