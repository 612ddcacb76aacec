//! What makes a profile valid: the profile of a human user and the rules an
//! `UpdateHumanProfile` request must pass (CONTRACT section 3), in field order.

use crate::error::Error;
use crate::ids::UserId;
use crate::language::{LanguagePolicy, PreferredLanguage};
use crate::rules;
use crate::validation::Validator;

/// `zitadel.user.v1.Gender`. Unknown numbers read as [`Gender::Unspecified`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gender {
    /// 0
    #[default]
    Unspecified,
    /// 1
    Female,
    /// 2
    Male,
    /// 3
    Diverse,
}

impl Gender {
    /// The gender with wire number `number`; unknown numbers are unspecified.
    #[must_use]
    pub const fn from_number(number: i32) -> Self {
        match number {
            1 => Self::Female,
            2 => Self::Male,
            3 => Self::Diverse,
            _ => Self::Unspecified,
        }
    }

    /// The wire number.
    #[must_use]
    pub const fn number(self) -> i32 {
        match self {
            Self::Unspecified => 0,
            Self::Female => 1,
            Self::Male => 2,
            Self::Diverse => 3,
        }
    }

    /// The protobuf enum value name (`GENDER_FEMALE`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "GENDER_UNSPECIFIED",
            Self::Female => "GENDER_FEMALE",
            Self::Male => "GENDER_MALE",
            Self::Diverse => "GENDER_DIVERSE",
        }
    }
}

/// The profile of a human user, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// 1..200 characters.
    pub first_name: String,
    /// 1..200 characters.
    pub last_name: String,
    /// 0..200 characters.
    pub nick_name: String,
    /// 1..200 characters.
    pub display_name: String,
    /// Canonical BCP 47 tag, `und` when none.
    pub preferred_language: PreferredLanguage,
    /// Gender.
    pub gender: Gender,
}

/// An `UpdateHumanProfile` request as it arrives, before any rule is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateHumanProfileRequest {
    /// The user to update.
    pub user_id: String,
    /// New first name.
    pub first_name: String,
    /// New last name.
    pub last_name: String,
    /// New nick name (may be empty).
    pub nick_name: String,
    /// New display name (required; never computed on update).
    pub display_name: String,
    /// New preferred language (may be empty).
    pub preferred_language: String,
    /// Wire number of the new gender.
    pub gender: i32,
}

impl UpdateHumanProfileRequest {
    /// Applies CONTRACT section 3's rules in field order. The first violation gives the message;
    /// all of them are listed as field violations. A malformed language tag (or one outside the
    /// policy) is rejected too.
    ///
    /// # Errors
    /// InvalidArgument, worded `invalid UpdateHumanProfileRequest.<Field>: <rule>`.
    pub fn validate(&self, languages: &LanguagePolicy) -> Result<(UserId, Profile), Error> {
        let mut v = Validator::new("UpdateHumanProfileRequest");
        v.length("UserId", "userId", &self.user_id, rules::NAME);
        v.length("FirstName", "firstName", &self.first_name, rules::NAME);
        v.length("LastName", "lastName", &self.last_name, rules::NAME);
        v.length("NickName", "nickName", &self.nick_name, rules::OPTIONAL_NAME);
        v.length("DisplayName", "displayName", &self.display_name, rules::NAME);
        let language = check_language(&mut v, &self.preferred_language, languages);
        v.finish()?;
        let profile = Profile {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            nick_name: self.nick_name.clone(),
            display_name: self.display_name.clone(),
            preferred_language: language.unwrap_or_else(PreferredLanguage::undetermined),
            gender: Gender::from_number(self.gender),
        };
        Ok((UserId::new(self.user_id.clone()), profile))
    }
}

/// The language rules: at most 10 characters, then well-formed and allowed. Returns the tag when
/// it passed.
pub(crate) fn check_language(v: &mut Validator, raw: &str, policy: &LanguagePolicy) -> Option<PreferredLanguage> {
    let before = raw.chars().count();
    if before > rules::LANGUAGE.max {
        v.length("PreferredLanguage", "preferredLanguage", raw, rules::LANGUAGE);
        return None;
    }
    match policy.parse(raw) {
        Ok(tag) => Some(tag),
        Err(error) => {
            v.violation("PreferredLanguage", "preferredLanguage", error.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn valid() -> UpdateHumanProfileRequest {
        UpdateHumanProfileRequest {
            user_id: "259242039378444290".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            nick_name: String::new(),
            display_name: "Ada Lovelace".into(),
            preferred_language: "en".into(),
            gender: 1,
        }
    }

    fn message_of(request: &UpdateHumanProfileRequest) -> Option<String> {
        request.validate(&LanguagePolicy::any()).err().map(|e| {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert_eq!(e.id(), None, "validation errors carry no id");
            e.message()
        })
    }

    const BETWEEN: &str = "value length must be between 1 and 200 runes, inclusive";

    #[test]
    fn rejected_inputs_name_the_first_bad_field_in_compat_wording() {
        let long = "x".repeat(201);
        type Mutation = Box<dyn Fn(&mut UpdateHumanProfileRequest)>;
        let table: Vec<(&str, Mutation, String)> = vec![
            (
                "empty user id",
                Box::new(|r| r.user_id.clear()),
                format!("invalid UpdateHumanProfileRequest.UserId: {BETWEEN}"),
            ),
            (
                "long user id",
                Box::new({
                    let l = long.clone();
                    move |r| r.user_id = l.clone()
                }),
                format!("invalid UpdateHumanProfileRequest.UserId: {BETWEEN}"),
            ),
            (
                "empty first",
                Box::new(|r| r.first_name.clear()),
                format!("invalid UpdateHumanProfileRequest.FirstName: {BETWEEN}"),
            ),
            (
                "long first",
                Box::new({
                    let l = long.clone();
                    move |r| r.first_name = l.clone()
                }),
                format!("invalid UpdateHumanProfileRequest.FirstName: {BETWEEN}"),
            ),
            (
                "empty last",
                Box::new(|r| r.last_name.clear()),
                format!("invalid UpdateHumanProfileRequest.LastName: {BETWEEN}"),
            ),
            (
                "long nick",
                Box::new({
                    let l = long.clone();
                    move |r| r.nick_name = l.clone()
                }),
                "invalid UpdateHumanProfileRequest.NickName: value length must be at most 200 runes".into(),
            ),
            (
                "empty display",
                Box::new(|r| r.display_name.clear()),
                format!("invalid UpdateHumanProfileRequest.DisplayName: {BETWEEN}"),
            ),
            (
                "long language",
                Box::new(|r| r.preferred_language = "en-US-x-abcd".into()),
                "invalid UpdateHumanProfileRequest.PreferredLanguage: value length must be at most 10 runes".into(),
            ),
            (
                "malformed language",
                Box::new(|r| r.preferred_language = "english".into()),
                "invalid UpdateHumanProfileRequest.PreferredLanguage: value must be a well-formed BCP 47 language tag"
                    .into(),
            ),
            (
                "first and last bad: first wins",
                Box::new(|r| {
                    r.first_name.clear();
                    r.last_name.clear();
                }),
                format!("invalid UpdateHumanProfileRequest.FirstName: {BETWEEN}"),
            ),
            (
                "user id wins over everything",
                Box::new(|r| {
                    r.user_id.clear();
                    r.display_name.clear();
                }),
                format!("invalid UpdateHumanProfileRequest.UserId: {BETWEEN}"),
            ),
        ];
        for (case, mutate, expected) in table {
            let mut request = valid();
            mutate(&mut request);
            assert_eq!(message_of(&request).as_deref(), Some(expected.as_str()), "{case}");
        }
    }

    #[test]
    fn every_violated_field_is_listed_in_field_order() {
        let mut request = valid();
        request.first_name.clear();
        request.display_name.clear();
        request.preferred_language = "nope!".into();
        let error = request.validate(&LanguagePolicy::any()).expect_err("invalid");
        let fields: Vec<_> = error.field_violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["firstName", "displayName", "preferredLanguage"]);
    }

    #[test]
    fn lengths_count_unicode_scalar_values_not_bytes() {
        let mut request = valid();
        request.first_name = "😀".repeat(200);
        request.last_name = "e\u{301}".repeat(100);
        assert_eq!(message_of(&request), None);
        request.first_name.push('😀');
        assert_eq!(message_of(&request), Some(format!("invalid UpdateHumanProfileRequest.FirstName: {BETWEEN}")));
    }

    #[test]
    fn values_are_not_trimmed() {
        let mut request = valid();
        request.first_name = "  Ada ".into();
        let (_, profile) = request.validate(&LanguagePolicy::any()).expect("valid");
        assert_eq!(profile.first_name, "  Ada ");
    }

    #[test]
    fn unknown_gender_numbers_are_unspecified() {
        let mut request = valid();
        request.gender = 99;
        let (_, profile) = request.validate(&LanguagePolicy::any()).expect("valid");
        assert_eq!(profile.gender, Gender::Unspecified);
    }

    #[test]
    fn language_is_canonicalised_and_empty_means_und() {
        let mut request = valid();
        request.preferred_language = "EN_us".into();
        assert_eq!(request.validate(&LanguagePolicy::any()).expect("valid").1.preferred_language.as_str(), "en-US");
        request.preferred_language.clear();
        assert_eq!(request.validate(&LanguagePolicy::any()).expect("valid").1.preferred_language.as_str(), "und");
    }

    #[test]
    fn a_language_outside_the_allow_list_is_rejected() {
        let mut request = valid();
        request.preferred_language = "fr".into();
        let policy = LanguagePolicy::allow_list(["en"]).expect("valid list");
        let error = request.validate(&policy).expect_err("not allowed");
        assert!(error.message().starts_with("invalid UpdateHumanProfileRequest.PreferredLanguage:"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_names_within_the_limits_are_accepted(
                first in "\\PC{1,200}", last in "\\PC{1,200}", nick in "\\PC{0,200}", display in "\\PC{1,200}",
            ) {
                let request = UpdateHumanProfileRequest {
                    first_name: first.clone(), last_name: last, nick_name: nick, display_name: display,
                    ..valid()
                };
                let (_, profile) = request.validate(&LanguagePolicy::any()).expect("within limits");
                prop_assert_eq!(profile.first_name, first);
            }

            #[test]
            fn names_over_200_characters_are_rejected(extra in "\\PC{201,260}") {
                let request = UpdateHumanProfileRequest { last_name: extra, ..valid() };
                let message = request.validate(&LanguagePolicy::any()).expect_err("too long").message();
                prop_assert!(message.starts_with("invalid UpdateHumanProfileRequest.LastName:"));
            }
        }
    }
}
