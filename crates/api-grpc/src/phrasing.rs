//! v1's wording of validation errors. The domain names a violated field by its JSON path
//! (`firstName`, `profile.lastName`) and states the rule; ZITADEL's clients expect
//! protoc-gen-validate's message, which names the request message and the field in Go case:
//! `invalid UpdateHumanProfileRequest.FirstName: <rule>`, and for an embedded part
//! `invalid AddHumanUserRequest.Profile: embedded message failed validation | caused by:
//! invalid AddHumanUserRequest_Profile.FirstName: <rule>`. Each RPC has one [`Phrasing`].

use persona_domain::error::FieldViolation;
use persona_domain::{Error, ErrorKind};

/// How one request message names the fields of its command.
#[derive(Debug, Clone, Copy)]
pub struct Phrasing {
    /// The request message (`UpdateHumanProfileRequest`).
    pub message: &'static str,
    /// Embedded parts: (JSON path, message name), e.g. `("profile", "AddHumanUserRequest_Profile")`
    /// or, a level deeper, `("human.profile", "UpdateUserRequest_Human_Profile")`.
    pub nested: &'static [(&'static str, &'static str)],
    /// Fields this message names otherwise than the domain: (domain JSON name, wire JSON name).
    pub renamed: &'static [(&'static str, &'static str)],
}

impl Phrasing {
    /// The phrasing of `message`, whose fields carry the domain's names.
    #[must_use]
    pub const fn of(message: &'static str) -> Self {
        Self { message, nested: &[], renamed: &[] }
    }

    /// `error` in this message's words when it is a validation error; any other error as it is.
    #[must_use]
    pub fn phrase(&self, error: Error) -> Error {
        if !error.is_validation() {
            return error;
        }
        let violations: Vec<FieldViolation> = error
            .field_violations()
            .iter()
            .map(|v| FieldViolation { field: self.wire_path(&v.field), description: v.description.clone() })
            .collect();
        let message = violations.first().map_or_else(String::new, |first| self.describe(first));
        Error::without_id(ErrorKind::InvalidArgument, message).with_field_violations(violations)
    }

    fn wire_path(&self, path: &str) -> String {
        self.renamed
            .iter()
            .find(|(domain, _)| *domain == path)
            .map_or_else(|| path.to_owned(), |(_, wire)| (*wire).to_owned())
    }

    fn describe(&self, violation: &FieldViolation) -> String {
        // Each embedded level names its own message: `invalid Outer.Part: embedded message
        // failed validation | caused by: invalid Part.Field: <rule>`, as deep as the path goes.
        let segments: Vec<&str> = violation.field.split('.').collect();
        let mut message = self.message;
        let mut text = String::new();
        for (depth, segment) in segments.iter().enumerate() {
            if depth + 1 == segments.len() {
                text.push_str(&format!("invalid {message}.{}: {}", go_case(segment), violation.description));
                break;
            }
            text.push_str(&format!(
                "invalid {message}.{}: embedded message failed validation | caused by: ",
                go_case(segment)
            ));
            let prefix = segments[..=depth].join(".");
            message = self.nested.iter().find(|(path, _)| *path == prefix).map_or(message, |(_, name)| name);
        }
        text
    }
}

/// A lowerCamelCase JSON name in Go case (`firstName` → `FirstName`).
fn go_case(json: &str) -> String {
    let mut chars = json.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(field: &str, description: &str) -> FieldViolation {
        FieldViolation { field: field.into(), description: description.into() }
    }

    #[test]
    fn violations_are_phrased_as_the_request_message_names_them() {
        const RULE: &str = "value length must be between 1 and 200 runes, inclusive";
        let table = [
            (Phrasing::of("UpdateHumanProfileRequest"), "firstName", "invalid UpdateHumanProfileRequest.FirstName: "),
            (
                Phrasing { message: "GetUserByIDRequest", nested: &[], renamed: &[("userId", "id")] },
                "userId",
                "invalid GetUserByIDRequest.Id: ",
            ),
            (
                Phrasing {
                    message: "ImportHumanUserRequest",
                    nested: &[("profile", "ImportHumanUserRequest_Profile")],
                    renamed: &[],
                },
                "profile.lastName",
                "invalid ImportHumanUserRequest.Profile: embedded message failed validation | caused by: invalid ImportHumanUserRequest_Profile.LastName: ",
            ),
        ];
        for (phrasing, field, prefix) in table {
            let error = phrasing.phrase(Error::invalid(vec![violation(field, RULE), violation("other", "x")]));
            assert_eq!(error.message(), format!("{prefix}{RULE}"));
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert_eq!(error.field_violations().len(), 2, "every violation stays listed");
        }
        let renamed = Phrasing { message: "RemoveUserRequest", nested: &[], renamed: &[("userId", "id")] };
        let error = renamed.phrase(Error::invalid(vec![violation("userId", RULE)]));
        assert_eq!(error.field_violations()[0].field, "id", "the detail uses the wire name too");
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let error = Error::profile_not_found();
        assert_eq!(Phrasing::of("UpdateHumanProfileRequest").phrase(error.clone()), error);
    }
}
