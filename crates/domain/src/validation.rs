//! The request-validation rules of the wire contract (protoc-gen-validate wording), collected so
//! that the first violation gives the compat message and all of them give Persona's detail.

use crate::error::{Error, ErrorKind, FieldViolation};
use crate::rules::Length;

/// One broken rule: where (Go-cased path for the message, JSON path for the detail) and what.
#[derive(Debug, Clone)]
struct Violation {
    message: String,
    field: String,
    description: String,
}

/// Collects the violations of one request message, in field order.
#[derive(Debug)]
pub(crate) struct Validator {
    message_name: &'static str,
    json_prefix: &'static str,
    violations: Vec<Violation>,
}

impl Validator {
    /// A validator for the message named `message_name` (`UpdateHumanProfileRequest`).
    pub(crate) fn new(message_name: &'static str) -> Self {
        Self { message_name, json_prefix: "", violations: Vec::new() }
    }

    /// A validator for a message nested in a field whose JSON name is `json_prefix`.
    pub(crate) fn nested(message_name: &'static str, json_prefix: &'static str) -> Self {
        Self { message_name, json_prefix, violations: Vec::new() }
    }

    /// Checks `min..=max` Unicode scalar values ([`crate::rules`]); `min == 0` is the "at most"
    /// rule. A value of a fitting length that holds U+0000 is rejected too.
    pub(crate) fn length(&mut self, go_name: &'static str, json_name: &'static str, value: &str, rule: Length) {
        let Length { min, max } = rule;
        let length = value.chars().count();
        if length < min || length > max {
            let rule = if min == 0 {
                format!("value length must be at most {max} runes")
            } else {
                format!("value length must be between {min} and {max} runes, inclusive")
            };
            self.violation(go_name, json_name, rule);
        } else if value.contains('\0') {
            // Ours: PostgreSQL cannot store U+0000 in text, so no backend accepts it.
            self.violation(go_name, json_name, "value must not contain NUL characters".to_owned());
        }
    }

    /// Records a violation with its own wording.
    pub(crate) fn violation(&mut self, go_name: &'static str, json_name: &'static str, rule: String) {
        let field = if self.json_prefix.is_empty() {
            json_name.to_owned()
        } else {
            format!("{}.{json_name}", self.json_prefix)
        };
        self.violations.push(Violation {
            message: format!("invalid {}.{go_name}: {rule}", self.message_name),
            field,
            description: rule,
        });
    }

    /// A required embedded message is absent.
    pub(crate) fn required(&mut self, go_name: &'static str, json_name: &'static str) {
        self.violation(go_name, json_name, "value is required".to_owned());
    }

    /// Folds the violations of an embedded message in, worded as protoc-gen-validate does.
    pub(crate) fn embed(&mut self, go_name: &'static str, inner: Self) {
        for violation in inner.violations {
            self.violations.push(Violation {
                message: format!(
                    "invalid {}.{go_name}: embedded message failed validation | caused by: {}",
                    self.message_name, violation.message
                ),
                field: violation.field,
                description: violation.description,
            });
        }
    }

    /// `Ok` when nothing was violated; otherwise InvalidArgument with the first violation's
    /// message and every violation as a field detail.
    pub(crate) fn finish(self) -> Result<(), Error> {
        let Some(first) = self.violations.first() else {
            return Ok(());
        };
        let message = first.message.clone();
        let details = self
            .violations
            .into_iter()
            .map(|v| FieldViolation { field: v.field, description: v.description })
            .collect();
        Err(Error::without_id(ErrorKind::InvalidArgument, message).with_field_violations(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str, min: usize) -> Result<(), Error> {
        let mut v = Validator::new("UpdateHumanProfileRequest");
        v.length("FirstName", "firstName", value, Length { min, max: 200 });
        v.finish()
    }

    #[test]
    fn nul_characters_are_rejected_after_the_length_rule() {
        let error = check("Ada\0Lovelace", 1).expect_err("NUL");
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            error.message(),
            "invalid UpdateHumanProfileRequest.FirstName: value must not contain NUL characters"
        );
        let error = check(&"\0".repeat(201), 1).expect_err("too long");
        assert_eq!(
            error.message(),
            "invalid UpdateHumanProfileRequest.FirstName: value length must be between 1 and 200 runes, inclusive"
        );
        assert!(check("Ada \u{1}\u{7f} Lovelace", 1).is_ok(), "other control characters are stored as given");
        assert!(check("", 0).is_ok());
    }
}
