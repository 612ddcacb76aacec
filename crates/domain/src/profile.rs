//! What makes a profile valid: the profile of a human user and the rules an
//! `UpdateHumanProfile` request must pass (CONTRACT section 3), in field order.

use crate::error::Error;
use crate::ids::UserId;
use crate::language::{LanguagePolicy, PreferredLanguage};
use crate::rules::{self, Length};
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

/// The profile of a human user. A `Profile` that exists is valid: its fields are private and
/// [`Profile::new`] is the only way to one, so every profile in the system (from a request, a
/// replayed event or a stored row) keeps the rules below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    first_name: String,
    last_name: String,
    nick_name: String,
    display_name: String,
    preferred_language: PreferredLanguage,
    gender: Gender,
}

/// The longest display name a profile can hold: one computed as "First Last" from two
/// 200-character names (ZITADEL computes it the same way, without a limit of its own).
const DISPLAY_MAX: usize = 2 * rules::NAME_MAX + 1;

impl Profile {
    /// A profile of these values: first and last name 1..200 characters, nick name at most 200,
    /// display name 1..401, none holding U+0000; the language is a parsed tag already.
    ///
    /// # Errors
    /// InvalidArgument naming every field that breaks its rule.
    pub fn new(
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        nick_name: impl Into<String>,
        display_name: impl Into<String>,
        preferred_language: PreferredLanguage,
        gender: Gender,
    ) -> Result<Self, Error> {
        let profile = Self {
            first_name: first_name.into(),
            last_name: last_name.into(),
            nick_name: nick_name.into(),
            display_name: display_name.into(),
            preferred_language,
            gender,
        };
        let mut v = Validator::new();
        v.length("firstName", &profile.first_name, rules::NAME);
        v.length("lastName", &profile.last_name, rules::NAME);
        v.length("nickName", &profile.nick_name, rules::OPTIONAL_NAME);
        v.length("displayName", &profile.display_name, Length { min: 1, max: DISPLAY_MAX });
        v.finish()?;
        Ok(profile)
    }

    /// First name.
    #[must_use]
    pub fn first_name(&self) -> &str {
        &self.first_name
    }

    /// Last name.
    #[must_use]
    pub fn last_name(&self) -> &str {
        &self.last_name
    }

    /// Nick name (may be empty).
    #[must_use]
    pub fn nick_name(&self) -> &str {
        &self.nick_name
    }

    /// Display name.
    #[must_use]
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Preferred language: a canonical BCP 47 tag, `und` when none.
    #[must_use]
    pub fn preferred_language(&self) -> &PreferredLanguage {
        &self.preferred_language
    }

    /// Gender.
    #[must_use]
    pub fn gender(&self) -> Gender {
        self.gender
    }

    /// This profile with the new values of `changed`.
    ///
    /// # Errors
    /// InvalidArgument when a new value breaks a rule (a corrupt event).
    pub fn changed(&self, changed: &crate::events::ProfileChanged) -> Result<Self, Error> {
        let pick = |field: &Option<crate::events::FieldChange<String>>, current: &str| {
            field.as_ref().map_or_else(|| current.to_owned(), |change| change.new.clone())
        };
        Self::new(
            pick(&changed.first_name, &self.first_name),
            pick(&changed.last_name, &self.last_name),
            pick(&changed.nick_name, &self.nick_name),
            pick(&changed.display_name, &self.display_name),
            changed
                .preferred_language
                .as_ref()
                .map_or_else(|| self.preferred_language.clone(), |c| PreferredLanguage::from_stored(c.new.clone())),
            changed.gender.as_ref().map_or(self.gender, |c| Gender::from_number(c.new)),
        )
    }
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
        let mut v = Validator::new();
        v.length("userId", &self.user_id, rules::NAME);
        v.length("firstName", &self.first_name, rules::NAME);
        v.length("lastName", &self.last_name, rules::NAME);
        v.length("nickName", &self.nick_name, rules::OPTIONAL_NAME);
        v.length("displayName", &self.display_name, rules::NAME);
        let language = check_language(&mut v, &self.preferred_language, languages);
        v.finish()?;
        let profile = Profile::new(
            self.first_name.clone(),
            self.last_name.clone(),
            self.nick_name.clone(),
            self.display_name.clone(),
            language.unwrap_or_else(PreferredLanguage::undetermined),
            Gender::from_number(self.gender),
        )?;
        Ok((UserId::new(self.user_id.clone()), profile))
    }
}

/// The language rules: at most 10 characters, then well-formed and allowed. Returns the tag when
/// it passed.
pub(crate) fn check_language(v: &mut Validator, raw: &str, policy: &LanguagePolicy) -> Option<PreferredLanguage> {
    let before = raw.chars().count();
    if before > rules::LANGUAGE_MAX {
        v.length("preferredLanguage", raw, rules::LANGUAGE);
        return None;
    }
    match policy.parse(raw) {
        Ok(tag) => Some(tag),
        Err(error) => {
            v.violation("preferredLanguage", error.to_string());
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
            ("empty user id", Box::new(|r| r.user_id.clear()), format!("invalid userId: {BETWEEN}")),
            (
                "long user id",
                Box::new({
                    let l = long.clone();
                    move |r| r.user_id = l.clone()
                }),
                format!("invalid userId: {BETWEEN}"),
            ),
            ("empty first", Box::new(|r| r.first_name.clear()), format!("invalid firstName: {BETWEEN}")),
            (
                "long first",
                Box::new({
                    let l = long.clone();
                    move |r| r.first_name = l.clone()
                }),
                format!("invalid firstName: {BETWEEN}"),
            ),
            ("empty last", Box::new(|r| r.last_name.clear()), format!("invalid lastName: {BETWEEN}")),
            (
                "long nick",
                Box::new({
                    let l = long.clone();
                    move |r| r.nick_name = l.clone()
                }),
                "invalid nickName: value length must be at most 200 runes".into(),
            ),
            ("empty display", Box::new(|r| r.display_name.clear()), format!("invalid displayName: {BETWEEN}")),
            (
                "long language",
                Box::new(|r| r.preferred_language = "en-US-x-abcd".into()),
                "invalid preferredLanguage: value length must be at most 10 runes".into(),
            ),
            (
                "malformed language",
                Box::new(|r| r.preferred_language = "english".into()),
                "invalid preferredLanguage: value must be a well-formed BCP 47 language tag".into(),
            ),
            (
                "first and last bad: first wins",
                Box::new(|r| {
                    r.first_name.clear();
                    r.last_name.clear();
                }),
                format!("invalid firstName: {BETWEEN}"),
            ),
            (
                "user id wins over everything",
                Box::new(|r| {
                    r.user_id.clear();
                    r.display_name.clear();
                }),
                format!("invalid userId: {BETWEEN}"),
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
        assert_eq!(message_of(&request), Some(format!("invalid firstName: {BETWEEN}")));
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
        assert!(error.message().starts_with("invalid preferredLanguage:"));
    }

    #[test]
    fn a_profile_cannot_be_made_of_values_that_break_the_rules() {
        let und = PreferredLanguage::undetermined;
        let long = "x".repeat(201);
        let display = "x".repeat(402);
        let table: [(&str, &str, &str, &str, &str); 8] = [
            ("empty first name", "", "Lovelace", "", "Ada"),
            ("long first name", &long, "Lovelace", "", "Ada"),
            ("empty last name", "Ada", "", "", "Ada"),
            ("long last name", "Ada", &long, "", "Ada"),
            ("long nick name", "Ada", "Lovelace", &long, "Ada"),
            ("empty display name", "Ada", "Lovelace", "", ""),
            ("display name over 401", "Ada", "Lovelace", "", &display),
            ("NUL in a name", "Ada\0", "Lovelace", "", "Ada"),
        ];
        for (case, first, last, nick, display) in table {
            let error = Profile::new(first, last, nick, display, und(), Gender::Female).expect_err(case);
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{case}");
        }
        let computed = format!("{} {}", "a".repeat(200), "b".repeat(200));
        assert!(Profile::new("a", "b", "", computed, und(), Gender::Female).is_ok(), "a computed display name fits");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn profiles_of_values_within_the_rules_are_made_and_keep_them(
                first in "[^\\x00]{1,200}", last in "[^\\x00]{1,200}", nick in "[^\\x00]{0,200}",
                display in "[^\\x00]{1,401}", gender in 0..4i32,
            ) {
                let language = PreferredLanguage::undetermined();
                let profile = Profile::new(&*first, &*last, &*nick, &*display, language, Gender::from_number(gender))
                    .expect("within the rules");
                prop_assert_eq!((profile.first_name(), profile.last_name()), (first.as_str(), last.as_str()));
                prop_assert_eq!((profile.nick_name(), profile.display_name()), (nick.as_str(), display.as_str()));
            }

            #[test]
            fn any_names_within_the_limits_are_accepted(
                first in "\\PC{1,200}", last in "\\PC{1,200}", nick in "\\PC{0,200}", display in "\\PC{1,200}",
            ) {
                let request = UpdateHumanProfileRequest {
                    first_name: first.clone(), last_name: last, nick_name: nick, display_name: display,
                    ..valid()
                };
                let (_, profile) = request.validate(&LanguagePolicy::any()).expect("within limits");
                prop_assert_eq!(profile.first_name(), first.as_str());
            }

            #[test]
            fn names_over_200_characters_are_rejected(extra in "\\PC{201,260}") {
                let request = UpdateHumanProfileRequest { last_name: extra, ..valid() };
                let message = request.validate(&LanguagePolicy::any()).expect_err("too long").message();
                prop_assert!(message.starts_with("invalid lastName:"));
            }
        }
    }
}
