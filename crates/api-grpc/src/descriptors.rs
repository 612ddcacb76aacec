//! The protobuf descriptors compiled into this crate ([`FILE_DESCRIPTOR_SET`]), indexed by full
//! name: what REST's OpenAPI document is generated from, and what the proto3 JSON decoder
//! ([`crate::proto_json`], REST and Connect) reads to know which JSON members are enums.

use crate::FILE_DESCRIPTOR_SET;
use prost::Message as _;
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use std::collections::HashMap;
use std::sync::OnceLock;

/// v1's management service, whose methods [`Descriptors::method`] knows (with v2's).
pub const SERVICE: &str = "zitadel.management.v1.ManagementService";
/// v2's user service.
pub const USER_V2: &str = "zitadel.user.v2.UserService";

/// Messages, enums and the service's methods, by full name without the leading dot.
#[derive(Debug)]
pub struct Descriptors {
    messages: HashMap<String, DescriptorProto>,
    /// Enums, by full name.
    pub enums: HashMap<String, EnumDescriptorProto>,
    /// (service, RPC name) → (input type, output type), for [`SERVICE`] and [`USER_V2`].
    methods: HashMap<(String, String), (String, String)>,
}

impl Descriptors {
    /// The compiled-in descriptors, decoded once per process.
    ///
    /// # Errors
    /// The decoder's text when the set does not decode (a build defect).
    pub fn shared() -> Result<&'static Self, String> {
        static SHARED: OnceLock<Result<Descriptors, String>> = OnceLock::new();
        SHARED.get_or_init(Self::load).as_ref().map_err(Clone::clone)
    }

    fn load() -> Result<Self, String> {
        let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
        let mut descriptors = Self { messages: HashMap::new(), enums: HashMap::new(), methods: HashMap::new() };
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                descriptors.add_message(package, message);
            }
            for enumeration in &file.enum_type {
                descriptors.enums.insert(join(package, enumeration.name()), enumeration.clone());
            }
            for service in &file.service {
                let name = join(package, service.name());
                if ![SERVICE, USER_V2].contains(&name.as_str()) {
                    continue;
                }
                for method in &service.method {
                    let types = (strip(method.input_type()).to_owned(), strip(method.output_type()).to_owned());
                    descriptors.methods.insert((name.clone(), method.name().to_owned()), types);
                }
            }
        }
        Ok(descriptors)
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = join(scope, message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for enumeration in &message.enum_type {
            self.enums.insert(join(&name, enumeration.name()), enumeration.clone());
        }
        self.messages.insert(name, message.clone());
    }

    /// Input and output message of `rpc` of `service`.
    pub fn method(&self, service: &str, rpc: &str) -> Option<&(String, String)> {
        self.methods.get(&(service.to_owned(), rpc.to_owned()))
    }

    /// The message called `name` (`zitadel.v1.ObjectDetails`).
    pub fn message(&self, name: &str) -> Option<&DescriptorProto> {
        self.messages.get(name)
    }

    /// The map-entry message of a `map<..>` field, if `field` is one.
    pub fn map_entry(&self, field: &FieldDescriptorProto) -> Option<&DescriptorProto> {
        self.message(strip(field.type_name())).filter(|entry| entry.options.as_ref().is_some_and(|o| o.map_entry()))
    }
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() { name.to_owned() } else { format!("{scope}.{name}") }
}

/// A type reference without its leading dot: `.zitadel.v1.ObjectDetails` → `zitadel.v1.ObjectDetails`.
pub fn strip(type_name: &str) -> &str {
    type_name.strip_prefix('.').unwrap_or(type_name)
}

/// The proto3 JSON name of a field: its `json_name`, or the lowerCamelCase of its name.
pub fn json_name(field: &FieldDescriptorProto) -> String {
    if !field.json_name().is_empty() {
        return field.json_name().to_owned();
    }
    let mut out = String::with_capacity(field.name().len());
    let mut upper = false;
    for c in field.name().chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
