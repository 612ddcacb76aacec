//! The one error type of the domain: a gRPC-style kind, ZITADEL's error id and the text.
//!
//! Every protocol adapter maps an [`Error`] once, at its edge: the kind picks the gRPC code or
//! HTTP status, [`Error::message`] is the compat message (`"<text> (<ID>)"`), and the id and text
//! travel as `zitadel.v1.ErrorDetail`.

use std::borrow::Cow;

/// The gRPC-style category of an error. Adapters derive status codes from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// gRPC 3: the request itself is malformed.
    InvalidArgument,
    /// gRPC 5: the object does not exist (or is not visible to the caller).
    NotFound,
    /// gRPC 6: a unique value is taken.
    AlreadyExists,
    /// gRPC 7: the caller may not do this.
    PermissionDenied,
    /// gRPC 8: a limit was hit.
    ResourceExhausted,
    /// gRPC 9: the system is not in the state the command needs.
    FailedPrecondition,
    /// gRPC 10: a concurrency precondition failed.
    Aborted,
    /// gRPC 12: the operation is not offered.
    Unimplemented,
    /// gRPC 13: a bug or corrupt data.
    Internal,
    /// gRPC 14: a dependency (the database) is unreachable; retrying may help.
    Unavailable,
    /// gRPC 16: no valid credentials.
    Unauthenticated,
}

impl ErrorKind {
    /// The numeric gRPC status code of this kind.
    #[must_use]
    pub const fn grpc_code(self) -> i32 {
        match self {
            Self::InvalidArgument => 3,
            Self::NotFound => 5,
            Self::AlreadyExists => 6,
            Self::PermissionDenied => 7,
            Self::ResourceExhausted => 8,
            Self::FailedPrecondition => 9,
            Self::Aborted => 10,
            Self::Unimplemented => 12,
            Self::Internal => 13,
            Self::Unavailable => 14,
            Self::Unauthenticated => 16,
        }
    }
}

/// One violated field of a request, for the "all field errors at once" detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path in lowerCamelCase as it appears in JSON (`firstName`, `profile.lastName`).
    pub field: String,
    /// What is wrong with it, in the compat wording.
    pub description: String,
}

/// A domain error: what went wrong, in the shape every protocol reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Error {
    kind: ErrorKind,
    id: Option<&'static str>,
    text: Cow<'static, str>,
    field_violations: Vec<FieldViolation>,
    current_sequence: Option<u64>,
    cause: Option<String>,
}

impl Error {
    /// An error with a ZITADEL error id (`COMMAND-2M0fs`) and its text (`Profile not changed`).
    #[must_use]
    pub fn new(kind: ErrorKind, id: &'static str, text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            id: Some(id),
            text: text.into(),
            field_violations: Vec::new(),
            current_sequence: None,
            cause: None,
        }
    }

    /// An error without an id (request validation, `auth header missing`): no detail travels.
    #[must_use]
    pub fn without_id(kind: ErrorKind, text: impl Into<Cow<'static, str>>) -> Self {
        Self { kind, id: None, text: text.into(), field_violations: Vec::new(), current_sequence: None, cause: None }
    }

    /// Keeps the internal cause (a storage failure's text, a broken rule): logged once at the
    /// edge, never shown to the client.
    #[must_use]
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The internal cause, for the edge's log line.
    #[must_use]
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Invalid input: every violated field with its rule. The domain's own message names the
    /// first (`invalid firstName: …`); protocol adapters phrase it as their messages name it.
    #[must_use]
    pub fn invalid(violations: Vec<FieldViolation>) -> Self {
        let text = violations.first().map_or_else(
            || "invalid request".to_owned(),
            |first| format!("invalid {}: {}", first.field, first.description),
        );
        Self::without_id(ErrorKind::InvalidArgument, text).with_field_violations(violations)
    }

    /// Whether this is a validation error ([`Error::invalid`]) that adapters phrase themselves.
    #[must_use]
    pub fn is_validation(&self) -> bool {
        self.kind == ErrorKind::InvalidArgument && self.id.is_none() && !self.field_violations.is_empty()
    }

    /// Adds the list of every violated field (Persona's `google.rpc.BadRequest` detail).
    #[must_use]
    pub fn with_field_violations(mut self, violations: Vec<FieldViolation>) -> Self {
        self.field_violations = violations;
        self
    }

    /// The category, from which adapters pick status codes.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// ZITADEL's error id, when the error has one.
    #[must_use]
    pub fn id(&self) -> Option<&'static str> {
        self.id
    }

    /// The text without the id.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The compat message: `"<text> (<ID>)"`, or the bare text when there is no id.
    #[must_use]
    pub fn message(&self) -> String {
        match self.id {
            Some(id) => format!("{} ({id})", self.text),
            None => self.text.to_string(),
        }
    }

    /// Every violated field, when this is a validation error (empty otherwise).
    #[must_use]
    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.field_violations
    }

    /// The object's current sequence, when a conditional update was stale.
    #[must_use]
    pub fn current_sequence(&self) -> Option<u64> {
        self.current_sequence
    }

    // ---- the catalogue: every error a client of the contract can see, in one place ----

    /// No `authorization` header.
    #[must_use]
    pub fn auth_header_missing() -> Self {
        Self::without_id(ErrorKind::Unauthenticated, "auth header missing")
    }

    /// An `authorization` header that is not `Bearer <token>`.
    #[must_use]
    pub fn invalid_auth_header() -> Self {
        Self::new(ErrorKind::Unauthenticated, "AUTH-toLo1", "invalid auth header")
    }

    /// An unknown, expired or revoked token.
    #[must_use]
    pub fn token_invalid() -> Self {
        Self::new(ErrorKind::Unauthenticated, "AUTH-7fs1e", "Errors.Token.Invalid")
    }

    /// `x-zitadel-orgid` names an org that does not exist.
    #[must_use]
    pub fn org_not_found_for_header() -> Self {
        Self::new(ErrorKind::PermissionDenied, "AUTH-Bs7Ds", "Organisation doesn't exist")
    }

    /// The caller has no membership in the resolved org nor instance-wide.
    #[must_use]
    pub fn membership_not_found() -> Self {
        Self::new(ErrorKind::NotFound, "AUTHZ-cdgFk", "membership not found")
    }

    /// The caller's memberships do not grant the permission.
    #[must_use]
    pub fn permission_missing() -> Self {
        Self::new(ErrorKind::PermissionDenied, "AUTH-5mWD2", "No matching permissions found")
    }

    /// UpdateHumanProfile on a missing, foreign, machine or removed user.
    #[must_use]
    pub fn profile_not_found() -> Self {
        Self::new(ErrorKind::FailedPrecondition, "COMMAND-3M9sd", "Profile not found")
    }

    /// UpdateHumanProfile with the values already stored.
    #[must_use]
    pub fn profile_not_changed() -> Self {
        Self::new(ErrorKind::FailedPrecondition, "COMMAND-2M0fs", "Profile not changed")
    }

    /// A read of a missing, foreign or removed user.
    #[must_use]
    pub fn user_not_found_query() -> Self {
        Self::new(ErrorKind::NotFound, "QUERY-HNhb3", "User could not be found")
    }

    /// A command on a missing, foreign or removed user.
    #[must_use]
    pub fn user_not_found_command() -> Self {
        Self::new(ErrorKind::NotFound, "COMMAND-m9od", "User could not be found")
    }

    /// GetHumanProfile of a machine user.
    #[must_use]
    pub fn user_must_be_personal() -> Self {
        Self::new(ErrorKind::FailedPrecondition, "QUERY-WLTce", "The User must be personal")
    }

    /// A machine's change (v2 `UpdateUser.machine`) for a human user.
    #[must_use]
    pub fn user_must_be_machine() -> Self {
        Self::new(ErrorKind::FailedPrecondition, "PERSONA-USR02", "The User must be a machine")
    }

    /// A list query asking for more results than one page may hold.
    #[must_use]
    pub fn query_limit_exceeded(max: u32) -> Self {
        Self::new(ErrorKind::InvalidArgument, "PERSONA-QRY01", format!("A page holds at most {max} results"))
    }

    /// A search whose filter nests too deep or holds too many conditions.
    #[must_use]
    pub fn query_too_complex() -> Self {
        Self::new(ErrorKind::InvalidArgument, "PERSONA-QRY02", "The search nests too deep or holds too many conditions")
    }

    /// A user name that is already taken in the instance.
    #[must_use]
    pub fn user_already_exists() -> Self {
        Self::new(ErrorKind::AlreadyExists, "V3-DKcYh", "User already exists")
    }

    /// Add/import with a first name that is blank after trimming.
    #[must_use]
    pub fn first_name_empty() -> Self {
        Self::new(ErrorKind::InvalidArgument, "USER-UCej2", "First name in profile is empty")
    }

    /// Add/import with a last name that is blank after trimming.
    #[must_use]
    pub fn last_name_empty() -> Self {
        Self::new(ErrorKind::InvalidArgument, "USER-4hB7d", "Last name in profile is empty")
    }

    /// Add/import with a missing or malformed email address.
    #[must_use]
    pub fn email_invalid() -> Self {
        Self::new(ErrorKind::InvalidArgument, "EMAIL-599BI", "Email is invalid")
    }

    /// Add/import with a malformed phone number.
    #[must_use]
    pub fn phone_invalid() -> Self {
        Self::new(ErrorKind::InvalidArgument, "PHONE-so0wa", "Phone is invalid")
    }

    /// A user name that is blank after trimming.
    #[must_use]
    pub fn user_name_empty() -> Self {
        Self::new(ErrorKind::InvalidArgument, "USER-zDtpk", "Username is empty")
    }

    /// The org of the caller (GetMyOrg) or of a command does not exist.
    #[must_use]
    pub fn org_not_found() -> Self {
        Self::new(ErrorKind::NotFound, "QUERY-iTTGJ", "Organisation not found")
    }

    /// AddOrgMember for a user that already is a member of the org.
    #[must_use]
    pub fn member_already_exists() -> Self {
        Self::new(ErrorKind::AlreadyExists, "ORG-poWwe", "Member already exists")
    }

    /// AddOrgMember with no roles, or roles that are not org roles.
    #[must_use]
    pub fn member_roles_invalid() -> Self {
        Self::new(ErrorKind::InvalidArgument, "ORG-4N8es", "Member roles are invalid")
    }

    /// AddOrgMember for a user that is not in the org.
    #[must_use]
    pub fn member_user_not_found() -> Self {
        Self::new(ErrorKind::NotFound, "ORG-GoXOn", "User could not be found")
    }

    /// A personal access token for a user that is not a machine user.
    #[must_use]
    pub fn pat_needs_machine_user() -> Self {
        Self::new(
            ErrorKind::FailedPrecondition,
            "COMMAND-Dv2cg",
            "Personal access tokens are only allowed for machine users",
        )
    }

    /// A personal access token whose expiration date is not in the future.
    #[must_use]
    pub fn pat_expiration_in_past() -> Self {
        Self::new(ErrorKind::InvalidArgument, "COMMAND-dv3t5", "Expiration date must be in the future")
    }

    /// A field the import cannot store (passwords, OTP, IdP links) was set.
    #[must_use]
    pub fn import_field_unsupported(field: &'static str) -> Self {
        Self::new(
            ErrorKind::InvalidArgument,
            "PERSONA-IMP01",
            format!("{field} is not supported by Persona; leave it empty"),
        )
    }

    /// Removing the user would leave the instance without an `IAM_OWNER`, and so without anyone
    /// who can manage it.
    #[must_use]
    pub fn last_instance_owner() -> Self {
        Self::new(
            ErrorKind::FailedPrecondition,
            "PERSONA-OWN01",
            "The last IAM_OWNER of the instance cannot be removed; create another one first (persona admin token)",
        )
    }

    /// `persona admin token` asked for a role that is not instance-wide.
    #[must_use]
    pub fn instance_role_required() -> Self {
        Self::new(ErrorKind::InvalidArgument, "PERSONA-OWN02", "Only instance roles (IAM_*) can be granted here")
    }

    /// Nothing is set up yet: the first `persona serve` creates the instance and its admin.
    #[must_use]
    pub fn instance_not_set_up() -> Self {
        Self::new(
            ErrorKind::FailedPrecondition,
            "PERSONA-OWN03",
            "The instance is not set up yet; the first start of the server creates it with an admin and its token",
        )
    }

    /// A conditional update whose `If-Match` sequence is stale.
    #[must_use]
    pub fn precondition_failed(current: u64) -> Self {
        let mut error = Self::new(
            ErrorKind::Aborted,
            "PERSONA-PRE01",
            format!("The object was changed concurrently, its current sequence is {current}"),
        );
        error.current_sequence = Some(current);
        error
    }

    /// A malformed `If-Match` value.
    #[must_use]
    pub fn if_match_invalid() -> Self {
        Self::new(ErrorKind::InvalidArgument, "PERSONA-PRE02", "If-Match must be a quoted sequence like \"7\"")
    }

    /// Concurrent writers kept winning: the command gave up after its bounded retries.
    #[must_use]
    pub fn too_much_contention() -> Self {
        Self::new(
            ErrorKind::Aborted,
            "PERSONA-CON01",
            "The object is being changed concurrently and nothing was written: it is safe to retry",
        )
    }

    /// The database is unreachable or failed; nothing was written.
    #[must_use]
    pub fn storage_unavailable() -> Self {
        Self::new(ErrorKind::Unavailable, "PERSONA-DB001", "The database is not available")
    }

    /// The database failed while committing: the change may have been applied. Read the object
    /// to know before trying again.
    #[must_use]
    pub fn commit_uncertain() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "PERSONA-DB003",
            "The database failed while committing; the change may have been applied, read it before retrying",
        )
    }

    /// Stored data could not be read back: a bug or a corrupt row.
    #[must_use]
    pub fn storage_corrupt() -> Self {
        Self::new(ErrorKind::Internal, "PERSONA-DB002", "Stored data could not be read")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_appends_the_id_in_parentheses() {
        assert_eq!(Error::profile_not_changed().message(), "Profile not changed (COMMAND-2M0fs)");
        assert_eq!(Error::token_invalid().message(), "Errors.Token.Invalid (AUTH-7fs1e)");
    }

    #[test]
    fn message_without_id_is_the_bare_text() {
        let error = Error::auth_header_missing();
        assert_eq!(error.message(), "auth header missing");
        assert_eq!(error.id(), None);
    }

    #[test]
    fn kinds_map_to_grpc_codes() {
        let table = [
            (ErrorKind::InvalidArgument, 3),
            (ErrorKind::NotFound, 5),
            (ErrorKind::AlreadyExists, 6),
            (ErrorKind::PermissionDenied, 7),
            (ErrorKind::ResourceExhausted, 8),
            (ErrorKind::FailedPrecondition, 9),
            (ErrorKind::Aborted, 10),
            (ErrorKind::Unimplemented, 12),
            (ErrorKind::Internal, 13),
            (ErrorKind::Unavailable, 14),
            (ErrorKind::Unauthenticated, 16),
        ];
        for (kind, code) in table {
            assert_eq!(kind.grpc_code(), code, "{kind:?}");
        }
    }

    #[test]
    fn stale_precondition_names_the_current_sequence() {
        let error = Error::precondition_failed(42);
        assert_eq!(error.kind(), ErrorKind::Aborted);
        assert_eq!(error.current_sequence(), Some(42));
        assert!(error.message().contains("42"));
    }
}
