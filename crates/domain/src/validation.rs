//! The request-validation rules of the wire contract (protoc-gen-validate wording), collected so
//! that the first violation gives the message and all of them give Persona's detail.
//!
//! The domain names fields by their own JSON path (`firstName`, `profile.lastName`) and states
//! the rule; it knows no request message. Each protocol adapter phrases the violations as its
//! messages name them (`invalid UpdateHumanProfileRequest.FirstName: …` for v1), so v1, v2 and
//! SCIM can word the same violation their own way.

use crate::error::{Error, FieldViolation};
use crate::rules::Length;

/// Collects the violations of one command's input, in field order.
#[derive(Debug, Default)]
pub(crate) struct Validator {
    prefix: &'static str,
    violations: Vec<FieldViolation>,
}

impl Validator {
    /// A validator of a command's top-level fields.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A validator of the fields of an embedded part (`profile`).
    pub(crate) fn nested(prefix: &'static str) -> Self {
        Self { prefix, violations: Vec::new() }
    }

    /// Checks `min..=max` Unicode scalar values; `min == 0` is the "at most" rule. A value of a
    /// fitting length that holds U+0000 is rejected too.
    pub(crate) fn length(&mut self, field: &'static str, value: &str, rule: Length) {
        let Length { min, max } = rule;
        let length = value.chars().count();
        if length < min || length > max {
            let rule = if min == 0 {
                format!("value length must be at most {max} runes")
            } else {
                format!("value length must be between {min} and {max} runes, inclusive")
            };
            self.violation(field, rule);
        } else if value.contains('\0') {
            // Ours: PostgreSQL cannot store U+0000 in text, so no backend accepts it.
            self.violation(field, "value must not contain NUL characters".to_owned());
        }
    }

    /// Records a violation with its own wording.
    pub(crate) fn violation(&mut self, field: &'static str, rule: String) {
        let field = if self.prefix.is_empty() { field.to_owned() } else { format!("{}.{field}", self.prefix) };
        self.violations.push(FieldViolation { field, description: rule });
    }

    /// A required embedded part is absent.
    pub(crate) fn required(&mut self, field: &'static str) {
        self.violation(field, "value is required".to_owned());
    }

    /// Folds the violations of an embedded part in.
    pub(crate) fn embed(&mut self, inner: Self) {
        self.violations.extend(inner.violations);
    }

    /// `Ok` when nothing was violated; otherwise InvalidArgument listing every violation.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.violations.is_empty() { Ok(()) } else { Err(Error::invalid(self.violations)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn check(value: &str, min: usize) -> Result<(), Error> {
        let mut v = Validator::new();
        v.length("firstName", value, Length { min, max: 200 });
        v.finish()
    }

    #[test]
    fn nul_characters_are_rejected_after_the_length_rule() {
        let error = check("Ada\0Lovelace", 1).expect_err("NUL");
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(error.message(), "invalid firstName: value must not contain NUL characters");
        let error = check(&"\0".repeat(201), 1).expect_err("too long");
        assert_eq!(error.message(), "invalid firstName: value length must be between 1 and 200 runes, inclusive");
        assert!(check("Ada \u{1}\u{7f} Lovelace", 1).is_ok(), "other control characters are stored as given");
        assert!(check("", 0).is_ok());
    }
}
