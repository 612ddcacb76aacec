//! When is an update a change: the decision of `UpdateHumanProfile` (CONTRACT section 3).

use crate::error::Error;
use crate::events::{FieldChange, ProfileChanged};
use crate::ids::OrgId;
use crate::profile::Profile;
use crate::user::User;

/// Decides an update of `current`'s profile to `requested`, for a caller acting in `org`.
///
/// # Errors
/// `Profile not found (COMMAND-3M9sd)` when the user is absent, in another org, a machine, or
/// removed; `Profile not changed (COMMAND-2M0fs)` when all six values equal the stored ones
/// exactly (case matters). Locked and inactive users can be updated.
pub fn decide_profile_update(
    current: Option<&User>,
    org: &OrgId,
    requested: &Profile,
) -> Result<ProfileChanged, Error> {
    let human =
        current.filter(|user| user.is_visible_in(org)).and_then(User::human).ok_or_else(Error::profile_not_found)?;
    let changed = diff(&human.profile, requested);
    if changed.is_empty() { Err(Error::profile_not_changed()) } else { Ok(changed) }
}

/// The fields of `new` that differ from `old`, with both values.
#[must_use]
pub fn diff(old: &Profile, new: &Profile) -> ProfileChanged {
    fn field<T: PartialEq + Clone>(old: &T, new: &T) -> Option<FieldChange<T>> {
        (old != new).then(|| FieldChange { old: old.clone(), new: new.clone() })
    }
    ProfileChanged {
        first_name: field(&old.first_name().to_owned(), &new.first_name().to_owned()),
        last_name: field(&old.last_name().to_owned(), &new.last_name().to_owned()),
        nick_name: field(&old.nick_name().to_owned(), &new.nick_name().to_owned()),
        display_name: field(&old.display_name().to_owned(), &new.display_name().to_owned()),
        preferred_language: field(
            &old.preferred_language().as_str().to_owned(),
            &new.preferred_language().as_str().to_owned(),
        ),
        gender: field(&old.gender().number(), &new.gender().number()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::language::PreferredLanguage;
    use crate::profile::Gender;
    use crate::time::Timestamp;
    use crate::user::UserKind;
    use crate::user::{Email, Human, Machine, UserState};
    use proptest::prelude::*;

    fn ada(first: &str, last: &str, nick: &str, gender: Gender) -> Profile {
        let language = PreferredLanguage::parse("en").expect("tag");
        Profile::new(first, last, nick, "Ada Lovelace", language, gender).expect("a valid profile")
    }

    fn profile() -> Profile {
        ada("Ada", "Lovelace", "", Gender::Female)
    }

    fn human(state: UserState) -> User {
        User {
            id: UserId::new("1"),
            org_id: OrgId::new("org"),
            user_name: "ada".into(),
            state,
            external_id: String::new(),
            kind: UserKind::Human(Human {
                profile: profile(),
                email: Email { address: "ada@example.com".into(), verified: true },
                phone: None,
            }),
            sequence: 3,
            created_at: Timestamp::default(),
            changed_at: Timestamp::default(),
        }
    }

    fn org() -> OrgId {
        OrgId::new("org")
    }

    #[test]
    fn update_with_identical_values_is_rejected_as_not_changed() {
        let error = decide_profile_update(Some(&human(UserState::Active)), &org(), &profile()).expect_err("same");
        assert_eq!(error.message(), "Profile not changed (COMMAND-2M0fs)");
    }

    #[test]
    fn a_difference_in_case_is_a_change() {
        let requested = ada("ada", "Lovelace", "", Gender::Female);
        let changed = decide_profile_update(Some(&human(UserState::Active)), &org(), &requested).expect("changed");
        assert_eq!(changed.first_name, Some(FieldChange { old: "Ada".into(), new: "ada".into() }));
        assert_eq!(changed.field_changes().len(), 1, "only the changed field is carried");
    }

    #[test]
    fn missing_foreign_machine_and_removed_users_have_no_profile() {
        let mut foreign = human(UserState::Active);
        foreign.org_id = OrgId::new("other");
        let mut machine = human(UserState::Active);
        machine.kind = UserKind::Machine(Machine {
            name: "m".into(),
            description: String::new(),
            access_token_type: crate::user::AccessTokenType::Bearer,
        });
        let removed = human(UserState::Deleted);
        let requested = ada("Ada", "Byron", "", Gender::Female);
        for (case, user) in
            [("missing", None), ("foreign", Some(&foreign)), ("machine", Some(&machine)), ("removed", Some(&removed))]
        {
            let error = decide_profile_update(user, &org(), &requested).expect_err(case);
            assert_eq!(error.message(), "Profile not found (COMMAND-3M9sd)", "{case}");
        }
    }

    #[test]
    fn locked_and_inactive_users_can_be_updated() {
        let requested = ada("Ada", "Lovelace", "Countess", Gender::Female);
        for state in [UserState::Locked, UserState::Inactive, UserState::Initial] {
            assert!(decide_profile_update(Some(&human(state)), &org(), &requested).is_ok(), "{state:?}");
        }
    }

    /// The user after the decided change, as the aggregate model applies it.
    fn applied(user: &User, changed: ProfileChanged) -> User {
        let events = vec![crate::events::EventPayload::ProfileChanged(changed)];
        crate::ports::AggregateChange::update(user, events, Timestamp::default()).expect("applies").1
    }

    #[test]
    fn applying_a_change_bumps_the_sequence_and_replaces_the_profile() {
        let requested = ada("Ada", "Lovelace", "", Gender::Diverse);
        let user = human(UserState::Active);
        let changed = decide_profile_update(Some(&user), &org(), &requested).expect("a change");
        let next = applied(&user, changed);
        assert_eq!(next.sequence, 4);
        assert_eq!(next.human().map(|h| &h.profile), Some(&requested));
    }

    fn arbitrary_profile() -> impl Strategy<Value = Profile> {
        (
            prop::sample::select(vec!["Ada", "ada", "Grace"]),
            prop::sample::select(vec!["Lovelace", "Hopper"]),
            prop::sample::select(vec!["", "Countess"]),
            prop::sample::select(vec!["Ada L.", "G. Hopper"]),
            prop::sample::select(vec!["en", "de-CH", "und"]),
            0..4i32,
        )
            .prop_map(|(first, last, nick, display, language, gender)| {
                let language = PreferredLanguage::parse(language).expect("tag");
                Profile::new(first, last, nick, display, language, Gender::from_number(gender)).expect("valid")
            })
    }

    proptest! {
        #[test]
        fn an_update_is_a_change_iff_some_field_differs(old in arbitrary_profile(), new in arbitrary_profile()) {
            let mut user = human(UserState::Active);
            if let UserKind::Human(h) = &mut user.kind { h.profile = old.clone(); }
            let decision = decide_profile_update(Some(&user), &org(), &new);
            prop_assert_eq!(decision.is_ok(), old != new);
            if let Ok(changed) = decision {
                prop_assert!(!changed.is_empty());
                let next = applied(&user, changed);
                prop_assert_eq!(&next.human().expect("human").profile, &new);
            }
        }
    }
}
