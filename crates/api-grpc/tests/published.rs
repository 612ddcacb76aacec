//! Persona's v2 `.proto` files against the descriptors ZITADEL publishes (CONTRACT.md
//! section 7): `@zitadel/proto` 1.3.1 on npm, installed in `tests/sdk/node` (`npm ci --prefix
//! tests/sdk/node`), whose `descriptors.mjs` writes them as one `FileDescriptorSet`.
//!
//! For every message, enum and service that Persona declares in `zitadel.user.v2` and
//! `zitadel.object.v2`, the published descriptor must have the same fields (name, number,
//! label, type, type name, JSON name, oneof, proto3 `optional`), enum values and methods.
//! Where node or the npm install is missing the test says so and passes, except in CI (`CI`
//! set), where `.ci/run` installs them and their absence is a failure.

#![expect(
    clippy::expect_used,
    reason = "a test crate: a failed step is a failed test, also in the helpers outside #[test] functions"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use persona_api_grpc::FILE_DESCRIPTOR_SET;
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet, ServiceDescriptorProto};

/// The packages whose declarations are compared.
const PACKAGES: &[&str] = &["zitadel.user.v2", "zitadel.object.v2"];

/// The RPCs Persona declares in `zitadel.user.v2.UserService`, no more and no fewer.
const USER_SERVICE_RPCS: &[&str] =
    &["AddHumanUser", "GetUserByID", "UpdateHumanUser", "UpdateUser", "DeleteUser", "ListUsers"];

/// Messages, enums and services of one descriptor set, by fully qualified name (`.pkg.Name`).
#[derive(Default)]
struct Declarations<'a> {
    messages: BTreeMap<String, &'a DescriptorProto>,
    enums: BTreeMap<String, &'a EnumDescriptorProto>,
    services: BTreeMap<String, &'a ServiceDescriptorProto>,
}

impl<'a> Declarations<'a> {
    /// Everything `set` declares in `packages`, nested messages and enums included.
    fn of(set: &'a FileDescriptorSet, packages: &[&str]) -> Self {
        let mut found = Self::default();
        for file in set.file.iter().filter(|file| packages.contains(&file.package())) {
            let scope = format!(".{}", file.package());
            for message in &file.message_type {
                found.add_message(&scope, message);
            }
            for enumeration in &file.enum_type {
                found.enums.insert(format!("{scope}.{}", enumeration.name()), enumeration);
            }
            for service in &file.service {
                found.services.insert(format!("{scope}.{}", service.name()), service);
            }
        }
        found
    }

    fn add_message(&mut self, scope: &str, message: &'a DescriptorProto) {
        let name = format!("{scope}.{}", message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for enumeration in &message.enum_type {
            self.enums.insert(format!("{name}.{}", enumeration.name()), enumeration);
        }
        self.messages.insert(name, message);
    }
}

/// One field as the wire and proto3 JSON see it.
#[derive(Debug, PartialEq, Eq)]
struct FieldFacts<'a> {
    number: i32,
    label: Label,
    kind: Type,
    type_name: &'a str,
    json_name: &'a str,
    /// The oneof the field belongs to, by name (synthetic `_x` oneofs included).
    oneof: Option<&'a str>,
    proto3_optional: bool,
}

fn fields(message: &DescriptorProto) -> BTreeMap<&str, FieldFacts<'_>> {
    message
        .field
        .iter()
        .map(|field| {
            let oneof = field.oneof_index.map(|index| {
                let index = usize::try_from(index).expect("a oneof index is not negative");
                message.oneof_decl.get(index).map_or("<missing oneof>", |oneof| oneof.name())
            });
            let facts = FieldFacts {
                number: field.number(),
                label: field.label(),
                kind: field.r#type(),
                type_name: field.type_name(),
                json_name: field.json_name(),
                oneof,
                proto3_optional: field.proto3_optional(),
            };
            (field.name(), facts)
        })
        .collect()
}

fn keys<K: Ord + Clone, V>(map: &BTreeMap<K, V>) -> BTreeSet<K> {
    map.keys().cloned().collect()
}

/// Every way `ours` differs from `published` in what `ours` declares in `packages`, one line
/// each; empty when they agree.
fn differences(ours: &FileDescriptorSet, published: &FileDescriptorSet, packages: &[&str]) -> Vec<String> {
    let ours = Declarations::of(ours, packages);
    let published = Declarations::of(published, packages);
    let mut found = Vec::new();

    for (name, message) in &ours.messages {
        let Some(theirs) = published.messages.get(name) else {
            found.push(format!("message {name} is not published"));
            continue;
        };
        let (our_fields, their_fields) = (fields(message), fields(theirs));
        if keys(&our_fields) != keys(&their_fields) {
            found.push(format!("message {name}: fields {:?}, published {:?}", keys(&our_fields), keys(&their_fields)));
        }
        for (field, facts) in &our_fields {
            match their_fields.get(field) {
                Some(theirs) if theirs == facts => {}
                Some(theirs) => found.push(format!("field {name}.{field}: ours {facts:?}, published {theirs:?}")),
                None => {}
            }
        }
    }

    for (name, enumeration) in &ours.enums {
        let Some(theirs) = published.enums.get(name) else {
            found.push(format!("enum {name} is not published"));
            continue;
        };
        let values = |e: &EnumDescriptorProto| -> BTreeMap<String, i32> {
            e.value.iter().map(|value| (value.name().to_owned(), value.number())).collect()
        };
        let (our_values, their_values) = (values(enumeration), values(theirs));
        if our_values != their_values {
            found.push(format!("enum {name}: values {our_values:?}, published {their_values:?}"));
        }
    }

    for (name, service) in &ours.services {
        let Some(theirs) = published.services.get(name) else {
            found.push(format!("service {name} is not published"));
            continue;
        };
        for method in &service.method {
            let Some(their_method) = theirs.method.iter().find(|m| m.name() == method.name()) else {
                found.push(format!("method {name}/{} is not published", method.name()));
                continue;
            };
            let signature = |m: &prost_types::MethodDescriptorProto| {
                (m.input_type().to_owned(), m.output_type().to_owned(), m.client_streaming(), m.server_streaming())
            };
            if signature(method) != signature(their_method) {
                found.push(format!(
                    "method {name}/{}: ours {:?}, published {:?}",
                    method.name(),
                    signature(method),
                    signature(their_method)
                ));
            }
        }
    }
    found
}

fn ours() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("our descriptor set decodes")
}

/// The published descriptor set, or `None` (after saying why) where node or the npm install
/// is missing outside CI.
fn published() -> Option<FileDescriptorSet> {
    let project = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk/node");
    let installed = project.join("node_modules/@zitadel/proto/package.json").is_file();
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !(installed && node) {
        let missing = if node { "@zitadel/proto (npm ci --prefix tests/sdk/node)" } else { "node" };
        assert!(std::env::var_os("CI").is_none(), "{missing} must be installed in CI (.ci/run does it)");
        eprintln!("{missing} is not installed: skipping the comparison with the published descriptors");
        return None;
    }
    let output = Command::new("node").arg("descriptors.mjs").current_dir(&project).output().expect("node runs");
    assert!(output.status.success(), "descriptors.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(FileDescriptorSet::decode(output.stdout.as_slice()).expect("descriptors.mjs writes a FileDescriptorSet"))
}

#[test]
fn v2_declarations_match_the_published_descriptors() {
    let Some(published) = published() else { return };
    let ours = ours();
    let declared = Declarations::of(&ours, PACKAGES);
    // Guard against comparing nothing: the packages are there, with the messages clients send.
    for name in [
        ".zitadel.object.v2.Details",
        ".zitadel.user.v2.AddHumanUserRequest",
        ".zitadel.user.v2.UpdateUserRequest.Human.Profile",
        ".zitadel.user.v2.SearchQuery",
    ] {
        assert!(declared.messages.contains_key(name), "we declare {name}");
    }
    assert!(declared.enums.contains_key(".zitadel.user.v2.UserState"), "we declare UserState");
    let published_declared = Declarations::of(&published, PACKAGES);
    assert!(published_declared.messages.contains_key(".zitadel.user.v2.AddHumanUserRequest"), "published set is read");

    let found = differences(&ours, &published, PACKAGES);
    assert!(found.is_empty(), "Persona's v2 descriptors differ from the published ones:\n{}", found.join("\n"));
}

#[test]
fn user_service_declares_exactly_the_six_rpcs() {
    let ours = ours();
    let declared = Declarations::of(&ours, PACKAGES);
    let services: Vec<&String> = declared.services.keys().collect();
    assert_eq!(services, [".zitadel.user.v2.UserService"]);
    let service = declared.services[".zitadel.user.v2.UserService"];
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(methods, USER_SERVICE_RPCS);
}

#[test]
fn the_comparison_reports_a_changed_field_number() {
    let ours = ours();
    assert!(differences(&ours, &ours, PACKAGES).is_empty());

    let mut changed = ours.clone();
    let file = changed
        .file
        .iter_mut()
        .find(|file| file.name() == "zitadel/user/v2/user.proto")
        .expect("user.proto is in the set");
    let profile = file.message_type.iter_mut().find(|m| m.name() == "SetHumanProfile").expect("SetHumanProfile");
    let given_name = profile.field.iter_mut().find(|f| f.name() == "given_name").expect("given_name");
    given_name.number = Some(9);

    let found = differences(&changed, &ours, PACKAGES);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("field .zitadel.user.v2.SetHumanProfile.given_name:"), "{found:?}");
}
