//! Partial updates of a user (ZITADEL's v2 `UpdateHumanUser` and `UpdateUser`, and SCIM's
//! PATCH): only what is present changes, and an update that changes nothing is no change at
//! all. [`UserPatch::validate`] checks the input (every violation, by JSON path), then
//! [`ValidPatch::decide`] turns it into the events that the current user needs.

use crate::commands::{is_valid_email, normalise_phone};
use crate::error::Error;
use crate::events::{
    CodeAdded, EmailChanged, EventPayload, ExternalIdChanged, FieldChange, MachineChanged, PhoneChanged,
    UserNameChanged,
};
use crate::ids::UserId;
use crate::language::{LanguagePolicy, PreferredLanguage};
use crate::profile::{Gender, Profile, check_language};
use crate::rules::{self, Length};
use crate::update::diff;
use crate::user::{User, UserKind, UserState};
use crate::validation::Validator;

/// How a change of address or number is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verification {
    /// Nothing asked: a new value is not verified.
    #[default]
    Unverified,
    /// The caller vouches for the value (`is_verified: true`).
    Verified,
    /// Issue a code and return it to the caller, who delivers it (`return_code`).
    ReturnCode,
    /// Send a code by mail or SMS (`send_code`): Persona has no such channel, so it is refused.
    SendCode,
}

/// Which rules a profile patch follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileRules {
    /// `SetHumanProfile` (`UpdateHumanUser`): first and last name required (1..200), the others
    /// optional (nick and display name ..200, language ..10), any gender number.
    #[default]
    Set,
    /// `UpdateUser`'s profile: every field optional, but a present name is 1..200, a present
    /// language 1..10, and a present gender one of the defined values.
    Optional,
}

/// The profile part of a patch; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    /// First (given) name.
    pub first_name: Option<String>,
    /// Last (family) name.
    pub last_name: Option<String>,
    /// Nick name.
    pub nick_name: Option<String>,
    /// Display name; an empty one becomes "First Last".
    pub display_name: Option<String>,
    /// Preferred language.
    pub preferred_language: Option<String>,
    /// Gender wire number.
    pub gender: Option<i32>,
}

/// A new email address or phone number and how it is verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPatch {
    /// The address or number (an empty phone number removes the phone).
    pub value: String,
    /// How it is verified.
    pub verification: Verification,
}

/// The machine part of a patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachinePatch {
    /// The machine's name.
    pub name: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

/// What kind of user a patch is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindPatch {
    /// Nothing beyond the user name.
    None,
    /// A human's profile, email and phone.
    Human {
        /// The profile, if present.
        profile: Option<ProfilePatch>,
        /// The email, if present.
        email: Option<ContactPatch>,
        /// The phone, if present.
        phone: Option<ContactPatch>,
    },
    /// A machine's name and description.
    Machine(MachinePatch),
}

/// A partial update of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPatch {
    /// The user.
    pub user_id: String,
    /// A new user name.
    pub user_name: Option<String>,
    /// The kind-specific part.
    pub kind: KindPatch,
    /// The profile's rules.
    pub rules: ProfileRules,
    /// A new password was sent, which Persona does not store.
    pub password: bool,
    /// A new external id (SCIM's `externalId`; empty removes it).
    pub external_id: Option<String>,
    /// Active (`true`) or deactivated (`false`), SCIM's `active`.
    pub active: Option<bool>,
}

/// A checked patch: ready to be decided against the current user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPatch {
    user_id: UserId,
    user_name: Option<String>,
    kind: ValidKind,
    external_id: Option<String>,
    active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ValidKind {
    None,
    Human {
        profile: Option<(ProfilePatch, Option<PreferredLanguage>)>,
        email: Option<ContactPatch>,
        phone: Option<ContactPatch>,
    },
    Machine(MachinePatch),
}

/// The codes a patch issued, to be returned to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuedCodes {
    /// The email verification code, under `return_code`.
    pub email: Option<String>,
    /// The phone verification code, under `return_code`.
    pub phone: Option<String>,
}

/// The decision on a patch: its events (none when nothing changes) and the codes it issued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchDecision {
    /// Events to append; empty for an update that changes nothing.
    pub events: Vec<EventPayload>,
    /// Codes to return.
    pub codes: IssuedCodes,
}

/// A code and its hash: the caller gets the code, the event keeps the hash.
pub type CodeSource<'a> = &'a mut dyn FnMut() -> String;

fn check_optional(v: &mut Validator, field: &'static str, value: Option<&String>, rule: Length) {
    if let Some(value) = value {
        v.length(field, value, rule);
    }
}

/// Refuses `send_code`, which needs a mail or SMS channel Persona does not have.
fn refuse_send_code(contact: Option<&ContactPatch>, field: &'static str) -> Result<(), Error> {
    match contact {
        Some(c) if c.verification == Verification::SendCode => Err(Error::import_field_unsupported(field)),
        _ => Ok(()),
    }
}

impl UserPatch {
    /// Checks every field (all violations at once, by JSON path: `userId`, `userName`,
    /// `profile.firstName`, `email.email`, `phone.phone`, `machine.name`), then what Persona
    /// cannot do (a password, `send_code`), by name.
    ///
    /// # Errors
    /// InvalidArgument.
    pub fn validate(&self, languages: &LanguagePolicy) -> Result<ValidPatch, Error> {
        let mut v = Validator::new();
        v.length("userId", &self.user_id, rules::NAME);
        check_optional(&mut v, "userName", self.user_name.as_ref(), rules::NAME);
        check_optional(&mut v, "externalId", self.external_id.as_ref(), rules::OPTIONAL_NAME);
        let kind = match &self.kind {
            KindPatch::None => ValidKind::None,
            KindPatch::Human { profile, email, phone } => {
                let profile = profile.as_ref().map(|p| {
                    let mut inner = Validator::nested("profile");
                    let language = self.check_profile(&mut inner, p, languages);
                    v.embed(inner);
                    (p.clone(), language)
                });
                if let Some(email) = email {
                    let mut inner = Validator::nested("email");
                    inner.length("email", &email.value, rules::NAME);
                    v.embed(inner);
                }
                if let Some(phone) = phone {
                    let mut inner = Validator::nested("phone");
                    inner.length("phone", &phone.value, rules::OPTIONAL_NAME);
                    v.embed(inner);
                }
                ValidKind::Human { profile, email: email.clone(), phone: phone.clone() }
            }
            KindPatch::Machine(machine) => {
                let mut inner = Validator::nested("machine");
                check_optional(&mut inner, "name", machine.name.as_ref(), rules::NAME);
                check_optional(&mut inner, "description", machine.description.as_ref(), rules::DESCRIPTION);
                v.embed(inner);
                ValidKind::Machine(machine.clone())
            }
        };
        v.finish()?;
        if self.password {
            return Err(Error::import_field_unsupported("password"));
        }
        if let ValidKind::Human { email, phone, .. } = &kind {
            refuse_send_code(email.as_ref(), "email.send_code")?;
            refuse_send_code(phone.as_ref(), "phone.send_code")?;
            if let Some(email) = email
                && !is_valid_email(email.value.trim())
            {
                return Err(Error::email_invalid());
            }
            if let Some(phone) = phone
                && !phone.value.trim().is_empty()
                && normalise_phone(&phone.value).is_none()
            {
                return Err(Error::phone_invalid());
            }
        }
        if let Some(name) = &self.user_name
            && name.trim().is_empty()
        {
            return Err(Error::user_name_empty());
        }
        Ok(ValidPatch {
            user_id: UserId::new(self.user_id.clone()),
            user_name: self.user_name.clone(),
            kind,
            external_id: self.external_id.clone(),
            active: self.active,
        })
    }

    fn check_profile(
        &self,
        v: &mut Validator,
        p: &ProfilePatch,
        languages: &LanguagePolicy,
    ) -> Option<PreferredLanguage> {
        match self.rules {
            ProfileRules::Set => {
                v.length("firstName", p.first_name.as_deref().unwrap_or_default(), rules::NAME);
                v.length("lastName", p.last_name.as_deref().unwrap_or_default(), rules::NAME);
                check_optional(v, "nickName", p.nick_name.as_ref(), rules::OPTIONAL_NAME);
                check_optional(v, "displayName", p.display_name.as_ref(), rules::OPTIONAL_NAME);
            }
            ProfileRules::Optional => {
                check_optional(v, "firstName", p.first_name.as_ref(), rules::NAME);
                check_optional(v, "lastName", p.last_name.as_ref(), rules::NAME);
                check_optional(v, "nickName", p.nick_name.as_ref(), rules::NAME);
                check_optional(v, "displayName", p.display_name.as_ref(), rules::NAME);
                if p.preferred_language.as_ref().is_some_and(String::is_empty) {
                    v.length("preferredLanguage", "", Length { min: 1, max: rules::LANGUAGE_MAX });
                }
                if p.gender.is_some_and(|g| !(0..=3).contains(&g)) {
                    v.violation("gender", "value must be one of the defined enum values".to_owned());
                }
            }
        }
        p.preferred_language.as_ref().and_then(|raw| check_language(v, raw, languages))
    }
}

impl ValidPatch {
    /// The user the patch is for.
    #[must_use]
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The events that bring `current` to what the patch asks, and the codes it issues
    /// (`code` makes each). Values equal to the stored ones change nothing.
    ///
    /// # Errors
    /// FailedPrecondition when the patch is for another kind of user; InvalidArgument when a
    /// first or last name would be empty after trimming.
    pub fn decide(&self, current: &User, code: CodeSource<'_>) -> Result<PatchDecision, Error> {
        let mut decision = PatchDecision::default();
        if let Some(name) = &self.user_name {
            let name = name.trim();
            if name != current.user_name {
                let user_name = FieldChange { old: current.user_name.clone(), new: name.to_owned() };
                decision.events.push(EventPayload::UserNameChanged(UserNameChanged { user_name }));
            }
        }
        match (&self.kind, &current.kind) {
            (ValidKind::None, _) => {}
            (ValidKind::Human { profile, email, phone }, UserKind::Human(human)) => {
                if let Some((patch, language)) = profile {
                    let next = patched_profile(&human.profile, patch, language.clone())?;
                    let changed = diff(&human.profile, &next);
                    if !changed.is_empty() {
                        decision.events.push(EventPayload::ProfileChanged(changed));
                    }
                }
                if let Some(email) = email {
                    decide_email(&mut decision, human, email, code);
                }
                if let Some(phone) = phone {
                    decide_phone(&mut decision, human, phone, code);
                }
            }
            (ValidKind::Machine(patch), UserKind::Machine(machine)) => {
                let field = |old: &String, new: Option<&String>| {
                    new.filter(|new| *new != old).map(|new| FieldChange { old: old.clone(), new: new.clone() })
                };
                let changed = MachineChanged {
                    name: field(&machine.name, patch.name.as_ref()),
                    description: field(&machine.description, patch.description.as_ref()),
                };
                if changed.name.is_some() || changed.description.is_some() {
                    decision.events.push(EventPayload::MachineChanged(changed));
                }
            }
            (ValidKind::Human { .. }, UserKind::Machine(_)) => return Err(Error::user_must_be_personal()),
            (ValidKind::Machine(_), UserKind::Human(_)) => return Err(Error::user_must_be_machine()),
        }
        if let Some(external_id) = &self.external_id
            && *external_id != current.external_id
        {
            let external_id = FieldChange { old: current.external_id.clone(), new: external_id.clone() };
            decision.events.push(EventPayload::ExternalIdChanged(ExternalIdChanged { external_id }));
        }
        match (self.active, current.state) {
            (Some(false), state) if state != UserState::Inactive => decision.events.push(EventPayload::UserDeactivated),
            (Some(true), UserState::Inactive) => decision.events.push(EventPayload::UserReactivated),
            _ => {}
        }
        Ok(decision)
    }
}

/// `current` with the present fields of `patch`: names trimmed must not be empty, an empty
/// display name becomes "First Last".
fn patched_profile(
    current: &Profile,
    patch: &ProfilePatch,
    language: Option<PreferredLanguage>,
) -> Result<Profile, Error> {
    let first = patch.first_name.as_deref().unwrap_or(current.first_name());
    if first.trim().is_empty() {
        return Err(Error::first_name_empty());
    }
    let last = patch.last_name.as_deref().unwrap_or(current.last_name());
    if last.trim().is_empty() {
        return Err(Error::last_name_empty());
    }
    let display = match patch.display_name.as_deref() {
        Some(display) if display.trim().is_empty() => format!("{} {}", first.trim(), last.trim()),
        Some(display) => display.to_owned(),
        None => current.display_name().to_owned(),
    };
    Profile::new(
        first,
        last,
        patch.nick_name.as_deref().unwrap_or(current.nick_name()),
        display,
        language.unwrap_or_else(|| current.preferred_language().clone()),
        patch.gender.map_or(current.gender(), Gender::from_number),
    )
}

fn decide_email(decision: &mut PatchDecision, human: &crate::user::Human, email: &ContactPatch, code: CodeSource<'_>) {
    let address = email.value.trim();
    let changed = address != human.email.address;
    if changed {
        let email = FieldChange { old: human.email.address.clone(), new: address.to_owned() };
        decision.events.push(EventPayload::EmailChanged(EmailChanged { email }));
    }
    match email.verification {
        Verification::Verified if changed || !human.email.verified => decision.events.push(EventPayload::EmailVerified),
        Verification::ReturnCode => {
            let (code, hash) = issued(code);
            decision.events.push(EventPayload::EmailCodeAdded(CodeAdded { code_hash: hash }));
            decision.codes.email = Some(code);
        }
        _ => {}
    }
}

fn decide_phone(decision: &mut PatchDecision, human: &crate::user::Human, phone: &ContactPatch, code: CodeSource<'_>) {
    let Some(number) = normalise_phone(&phone.value) else {
        // An empty number (the only other value validation lets through) removes the phone.
        if human.phone.is_some() {
            decision.events.push(EventPayload::PhoneRemoved);
        }
        return;
    };
    let current = human.phone.as_ref();
    let changed = current.is_none_or(|p| p.number != number);
    if changed {
        let old = current.map(|p| p.number.clone()).unwrap_or_default();
        decision.events.push(EventPayload::PhoneChanged(PhoneChanged { phone: FieldChange { old, new: number } }));
    }
    let verified = !changed && current.is_some_and(|p| p.verified);
    match phone.verification {
        Verification::Verified if !verified => decision.events.push(EventPayload::PhoneVerified),
        Verification::ReturnCode => {
            let (code, hash) = issued(code);
            decision.events.push(EventPayload::PhoneCodeAdded(CodeAdded { code_hash: hash }));
            decision.codes.phone = Some(code);
        }
        _ => {}
    }
}

/// A fresh code and the hex SHA-256 the event keeps.
pub(crate) fn issued(code: CodeSource<'_>) -> (String, String) {
    let code = code();
    let hash = crate::auth::TokenHash::of(&code).to_hex();
    (code, hash)
}
