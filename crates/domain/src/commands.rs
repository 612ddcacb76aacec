//! The inputs of the commands other than the profile update, with their rules: add and import a
//! human, add a machine user, an org, a member and a personal access token.

use crate::auth::Role;
use crate::error::Error;
use crate::events::{HumanAdded, MachineAdded};
use crate::ids::UserId;
use crate::language::{LanguagePolicy, PreferredLanguage};
use crate::profile::{Gender, Profile, check_language};
use crate::rules;
use crate::time::{Timestamp, WireTimestamp};
use crate::user::{AccessTokenType, Email, Human, Phone};
use crate::validation::Validator;

/// The profile part of an add or import request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInput {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Nick name.
    pub nick_name: String,
    /// Display name; empty means "First Last".
    pub display_name: String,
    /// Preferred language.
    pub preferred_language: String,
    /// Gender wire number.
    pub gender: i32,
}

/// The email part of an add or import request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailInput {
    /// Address.
    pub email: String,
    /// Whether the caller vouches that it is verified.
    pub is_email_verified: bool,
}

/// The phone part of an add or import request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneInput {
    /// Number.
    pub phone: String,
    /// Whether the caller vouches that it is verified.
    pub is_phone_verified: bool,
}

/// What add and import have in common.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewHumanRequest {
    /// User name, unique in the instance.
    pub user_name: String,
    /// Profile (required).
    pub profile: Option<ProfileInput>,
    /// Email (required).
    pub email: Option<EmailInput>,
    /// Phone (optional).
    pub phone: Option<PhoneInput>,
}

/// Fields of `AddHumanUser` / `ImportHumanUser` that Persona cannot store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsupportedHumanFields {
    /// `initial_password` / `password`.
    pub password: bool,
    /// `hashed_password`.
    pub hashed_password: bool,
    /// `password_change_required`.
    pub password_change_required: bool,
    /// `request_passwordless_registration`.
    pub passwordless_registration: bool,
    /// `otp_code`.
    pub otp_code: bool,
    /// `idps`.
    pub idps: bool,
}

/// A validated new human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHuman {
    /// Trimmed user name.
    pub user_name: String,
    /// Human data.
    pub human: Human,
}

impl NewHumanRequest {
    /// Validates an add (`message` = `AddHumanUserRequest`) or import request: protocol rules
    /// first (all violations collected), then the command's own checks.
    ///
    /// # Errors
    /// InvalidArgument in compat wording (`First name in profile is empty (USER-UCej2)`, ...).
    pub fn validate(
        &self,
        unsupported: &UnsupportedHumanFields,
        languages: &LanguagePolicy,
    ) -> Result<NewHuman, Error> {
        let mut v = Validator::new();
        v.length("userName", &self.user_name, rules::NAME);
        let mut language = None;
        match &self.profile {
            None => v.required("profile"),
            Some(p) => {
                let mut inner = Validator::nested("profile");
                inner.length("firstName", &p.first_name, rules::NAME);
                inner.length("lastName", &p.last_name, rules::NAME);
                inner.length("nickName", &p.nick_name, rules::OPTIONAL_NAME);
                inner.length("displayName", &p.display_name, rules::OPTIONAL_NAME);
                language = check_language(&mut inner, &p.preferred_language, languages);
                v.embed(inner);
            }
        }
        if self.email.is_none() {
            v.required("email");
        }
        v.finish()?;
        reject_unsupported(unsupported)?;

        let user_name = self.user_name.trim();
        if user_name.is_empty() {
            return Err(Error::user_name_empty());
        }
        let input = self.profile.clone().unwrap_or_default();
        let first_name = input.first_name.trim();
        if first_name.is_empty() {
            return Err(Error::first_name_empty());
        }
        let last_name = input.last_name.trim();
        if last_name.is_empty() {
            return Err(Error::last_name_empty());
        }
        let email = self.email.clone().unwrap_or_default();
        let address = email.email.trim();
        if !is_valid_email(address) {
            return Err(Error::email_invalid());
        }
        let phone = match &self.phone {
            Some(p) if !p.phone.trim().is_empty() => Some(Phone {
                number: normalise_phone(&p.phone).ok_or_else(Error::phone_invalid)?,
                verified: p.is_phone_verified,
            }),
            _ => None,
        };
        let display_name = if input.display_name.trim().is_empty() {
            format!("{first_name} {last_name}")
        } else {
            input.display_name.clone()
        };
        Ok(NewHuman {
            user_name: user_name.to_owned(),
            human: Human {
                profile: Profile::new(
                    first_name,
                    last_name,
                    input.nick_name.clone(),
                    display_name,
                    language.unwrap_or_else(PreferredLanguage::undetermined),
                    Gender::from_number(input.gender),
                )?,
                email: Email { address: address.to_owned(), verified: email.is_email_verified },
                phone,
            },
        })
    }
}

fn reject_unsupported(fields: &UnsupportedHumanFields) -> Result<(), Error> {
    let table = [
        (fields.password, "password"),
        (fields.hashed_password, "hashed_password"),
        (fields.password_change_required, "password_change_required"),
        (fields.passwordless_registration, "request_passwordless_registration"),
        (fields.otp_code, "otp_code"),
        (fields.idps, "idps"),
    ];
    match table.into_iter().find(|(set, _)| *set) {
        Some((_, name)) => Err(Error::import_field_unsupported(name)),
        None => Ok(()),
    }
}

/// ZITADEL's email rule: a local part of `[a-zA-Z0-9.!#$%&'*+/=?^_\`{|}~-]`, `@`, and a domain of
/// dot-separated labels of letters, digits and inner hyphens, each 1..63 long.
#[must_use]
pub fn is_valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok =
        !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        (1..=63).contains(&bytes.len())
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    local_ok && address.len() <= 254 && domain.split('.').all(label_ok)
}

/// E.164: `+` and 6..15 digits; spaces, hyphens, dots and parentheses are dropped first.
pub(crate) fn normalise_phone(raw: &str) -> Option<String> {
    let compact: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = compact.strip_prefix('+')?;
    ((6..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())).then_some(compact)
}

impl NewHuman {
    /// The event that creates the user (its state follows from it: [`crate::aggregate`]).
    #[must_use]
    pub fn into_event(self) -> HumanAdded {
        let p = &self.human.profile;
        HumanAdded {
            user_name: self.user_name.clone(),
            first_name: p.first_name().to_owned(),
            last_name: p.last_name().to_owned(),
            nick_name: p.nick_name().to_owned(),
            display_name: p.display_name().to_owned(),
            preferred_language: p.preferred_language().as_str().to_owned(),
            gender: p.gender().number(),
            email: self.human.email.address.clone(),
            email_verified: self.human.email.verified,
            phone: self.human.phone.as_ref().map(|phone| phone.number.clone()),
            phone_verified: self.human.phone.as_ref().is_some_and(|phone| phone.verified),
            active: false,
        }
    }
}

/// An `AddMachineUser` request as it arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddMachineUserRequest {
    /// User name.
    pub user_name: String,
    /// Display name of the machine.
    pub name: String,
    /// Description.
    pub description: String,
    /// Access token type wire number.
    pub access_token_type: i32,
    /// An id chosen by the caller.
    pub user_id: Option<String>,
}

impl AddMachineUserRequest {
    /// Validates and builds the new user's id and its first event; `generated_id` is used
    /// unless the caller chose one.
    ///
    /// # Errors
    /// InvalidArgument in protoc-gen-validate wording.
    pub fn into_event(self, generated_id: String) -> Result<(UserId, MachineAdded), Error> {
        let mut v = Validator::new();
        v.length("userName", &self.user_name, rules::NAME);
        v.length("name", &self.name, rules::NAME);
        v.length("description", &self.description, rules::DESCRIPTION);
        if let Some(id) = &self.user_id {
            v.length("userId", id, rules::OPTIONAL_NAME);
        }
        v.finish()?;
        let user_name = self.user_name.trim().to_owned();
        if user_name.is_empty() {
            return Err(Error::user_name_empty());
        }
        let id = self.user_id.filter(|id| !id.is_empty()).unwrap_or(generated_id);
        let access_token_type = AccessTokenType::from_number(self.access_token_type);
        let event = MachineAdded {
            user_name,
            name: self.name,
            description: self.description,
            access_token_type: access_token_type.number(),
        };
        Ok((UserId::new(id), event))
    }
}

/// Validates an `AddOrg` name.
///
/// # Errors
/// InvalidArgument: `invalid AddOrgRequest.Name: ...`, or `Org name is empty (ORG-mruNY)`.
pub fn validate_org_name(name: &str) -> Result<String, Error> {
    let mut v = Validator::new();
    v.length("name", name, rules::NAME);
    v.finish()?;
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::new(crate::error::ErrorKind::InvalidArgument, "ORG-mruNY", "Org name is empty"));
    }
    Ok(trimmed.to_owned())
}

/// Validates an `AddOrgMember` request: a user id and at least one known `ORG_*` role.
///
/// # Errors
/// InvalidArgument: `invalid AddOrgMemberRequest.UserId: ...` or `Member roles are invalid`.
pub fn validate_member(user_id: &str, roles: &[String]) -> Result<(UserId, Vec<Role>), Error> {
    let mut v = Validator::new();
    v.length("userId", user_id, rules::NAME);
    v.finish()?;
    let parsed: Option<Vec<Role>> =
        roles.iter().map(|name| Role::from_name(name).filter(|role| !role.is_instance_role())).collect();
    match parsed {
        Some(mut roles) if !roles.is_empty() => {
            roles.dedup();
            Ok((UserId::new(user_id), roles))
        }
        _ => Err(Error::member_roles_invalid()),
    }
}

/// Validates `AddPersonalAccessTokenRequest`: the user id, and an expiration that is a real
/// instant (a malformed one must never mean "never expires").
///
/// # Errors
/// InvalidArgument naming `UserId` or `ExpirationDate`, every violation in the detail.
pub fn validate_token_request(
    user_id: &str,
    expiration: Option<WireTimestamp>,
) -> Result<(UserId, Option<Timestamp>), Error> {
    let mut v = Validator::new();
    v.length("userId", user_id, rules::NAME);
    let expires_at = match expiration.map(WireTimestamp::to_timestamp) {
        Some(Some(at)) => Some(at),
        Some(None) => {
            let rule = "value must be a valid timestamp: years 0001 to 9999, nanos 0 to 999999999".to_owned();
            v.violation("expirationDate", rule);
            None
        }
        None => None,
    };
    v.finish()?;
    Ok((UserId::new(user_id), expires_at))
}

/// Validates the id of the user a command acts on (field `userId`): 1..200 characters.
///
/// # Errors
/// InvalidArgument: `value length must be between 1 and 200 runes, inclusive` for `userId`.
pub fn validate_user_id(id: &str) -> Result<UserId, Error> {
    UserId::parse("userId", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> NewHumanRequest {
        NewHumanRequest {
            user_name: "ada".into(),
            profile: Some(ProfileInput {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                ..ProfileInput::default()
            }),
            email: Some(EmailInput { email: "ada@example.com".into(), is_email_verified: false }),
            phone: None,
        }
    }

    fn add(request: &NewHumanRequest) -> Result<NewHuman, Error> {
        request.validate(&UnsupportedHumanFields::default(), &LanguagePolicy::any())
    }

    #[test]
    fn display_name_defaults_to_first_and_last() {
        let human = add(&request()).expect("valid");
        assert_eq!(human.human.profile.display_name(), "Ada Lovelace");
        assert_eq!(human.human.profile.preferred_language().as_str(), "und");
    }

    #[test]
    fn rejected_additions_answer_in_compat_wording() {
        type Mutation = Box<dyn Fn(&mut NewHumanRequest)>;
        let table: Vec<(&str, Mutation, &str)> = vec![
            (
                "blank first",
                Box::new(|r| r.profile.as_mut().expect("p").first_name = "  ".into()),
                "First name in profile is empty (USER-UCej2)",
            ),
            (
                "blank last",
                Box::new(|r| r.profile.as_mut().expect("p").last_name = " ".into()),
                "Last name in profile is empty (USER-4hB7d)",
            ),
            (
                "bad email",
                Box::new(|r| r.email.as_mut().expect("e").email = "ada@".into()),
                "Email is invalid (EMAIL-599BI)",
            ),
            (
                "empty first",
                Box::new(|r| r.profile.as_mut().expect("p").first_name.clear()),
                "invalid profile.firstName: value length must be between 1 and 200 runes, inclusive",
            ),
            (
                "empty user name",
                Box::new(|r| r.user_name.clear()),
                "invalid userName: value length must be between 1 and 200 runes, inclusive",
            ),
            ("no profile", Box::new(|r| r.profile = None), "invalid profile: value is required"),
            ("no email", Box::new(|r| r.email = None), "invalid email: value is required"),
            (
                "bad phone",
                Box::new(|r| r.phone = Some(PhoneInput { phone: "call me".into(), is_phone_verified: false })),
                "Phone is invalid (PHONE-so0wa)",
            ),
        ];
        for (case, mutate, message) in table {
            let mut r = request();
            mutate(&mut r);
            assert_eq!(add(&r).expect_err(case).message(), message, "{case}");
        }
    }

    #[test]
    fn unsupported_import_fields_are_rejected_not_dropped() {
        let unsupported = UnsupportedHumanFields { otp_code: true, ..UnsupportedHumanFields::default() };
        let error = request().validate(&unsupported, &LanguagePolicy::any()).expect_err("otp");
        assert_eq!(error.kind(), crate::error::ErrorKind::InvalidArgument);
        assert!(error.message().contains("otp_code"));
    }

    #[test]
    fn emails_follow_zitadels_rule() {
        for ok in ["a@b", "first.last+tag@example.co.uk", "x@a-b.ch"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in ["", "a", "@b", "a@", "a@-b.ch", "a b@c.ch", "a@b..ch", "ä@b.ch"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn phones_are_stored_in_e164() {
        assert_eq!(normalise_phone("+41 79 123 45 67").as_deref(), Some("+41791234567"));
        assert_eq!(normalise_phone("079 123 45 67"), None);
        assert_eq!(normalise_phone("+12"), None);
    }

    #[test]
    fn members_need_known_org_roles() {
        assert!(validate_member("1", &["ORG_OWNER".into()]).is_ok());
        for roles in [vec![], vec!["IAM_OWNER".to_owned()], vec!["ORG_NOPE".to_owned()]] {
            let error = validate_member("1", &roles).expect_err("invalid roles");
            assert_eq!(error.message(), "Member roles are invalid (ORG-4N8es)");
        }
    }

    #[test]
    fn machine_users_may_bring_their_own_id() {
        let request = AddMachineUserRequest {
            user_name: "ci".into(),
            name: "CI".into(),
            user_id: Some("my-id".into()),
            ..AddMachineUserRequest::default()
        };
        let (id, _) = request.into_event("gen".into()).expect("valid");
        assert_eq!(id.as_str(), "my-id");
    }
}
