//! Conversions between the generated protobuf messages and the domain's inputs and outputs.
//!
//! Requests become the domain's plain input structs (no rule is applied here: the domain
//! validates); domain results become messages. Enum fields are always written from domain
//! types, so an encoded message never holds an enum number that proto3 JSON cannot name.

use crate::pb::google::protobuf::Timestamp as PbTimestamp;
use crate::pb::zitadel::change::v1 as change;
use crate::pb::zitadel::management::v1 as management;
use crate::pb::zitadel::org::v1 as org;
use crate::pb::zitadel::user::v1 as user;
use crate::pb::zitadel::v1 as zitadel;
use persona_domain::commands::{
    AddMachineUserRequest, EmailInput, NewHumanRequest, PhoneInput, ProfileInput, UnsupportedHumanFields,
};
use persona_domain::org::Org;
use persona_domain::service::{ChangeEntry, ObjectDetails};
use persona_domain::time::{Timestamp, WireTimestamp};
use persona_domain::user::{Human, Machine, User, UserKind};
use persona_domain::{Profile, UpdateHumanProfileRequest};

/// A domain instant as `google.protobuf.Timestamp`.
#[must_use]
pub fn timestamp(instant: Timestamp) -> PbTimestamp {
    let (seconds, nanos) = instant.seconds_and_nanos();
    PbTimestamp { seconds, nanos }
}

/// A `google.protobuf.Timestamp` as it arrived, for the domain to check (it may be no valid
/// instant: the domain refuses those, after authorisation, naming the field).
#[must_use]
pub fn from_timestamp(timestamp: PbTimestamp) -> WireTimestamp {
    WireTimestamp { seconds: timestamp.seconds, nanos: timestamp.nanos }
}

/// `zitadel.v1.ObjectDetails` of a domain result.
#[must_use]
pub fn object_details(details: &ObjectDetails) -> zitadel::ObjectDetails {
    zitadel::ObjectDetails {
        sequence: details.sequence,
        creation_date: details.creation_date.map(timestamp),
        change_date: details.change_date.map(timestamp),
        resource_owner: details.resource_owner.as_str().to_owned(),
    }
}

/// The domain input of `UpdateHumanProfile`.
#[must_use]
pub fn update_human_profile_request(request: management::UpdateHumanProfileRequest) -> UpdateHumanProfileRequest {
    UpdateHumanProfileRequest {
        user_id: request.user_id,
        first_name: request.first_name,
        last_name: request.last_name,
        nick_name: request.nick_name,
        display_name: request.display_name,
        preferred_language: request.preferred_language,
        gender: request.gender,
    }
}

/// The common part of `AddHumanUserRequest` and `ImportHumanUserRequest`, whose nested
/// `Profile`, `Email` and `Phone` messages are distinct types with the same fields.
macro_rules! new_human_request {
    ($request:expr) => {
        NewHumanRequest {
            user_name: $request.user_name,
            profile: $request.profile.map(|p| ProfileInput {
                first_name: p.first_name,
                last_name: p.last_name,
                nick_name: p.nick_name,
                display_name: p.display_name,
                preferred_language: p.preferred_language,
                gender: p.gender,
            }),
            email: $request.email.map(|e| EmailInput { email: e.email, is_email_verified: e.is_email_verified }),
            phone: $request.phone.map(|p| PhoneInput { phone: p.phone, is_phone_verified: p.is_phone_verified }),
        }
    };
}

/// The domain input of `AddHumanUser`, with the fields Persona cannot store flagged.
#[must_use]
pub fn add_human_user_request(request: management::AddHumanUserRequest) -> (NewHumanRequest, UnsupportedHumanFields) {
    let unsupported =
        UnsupportedHumanFields { password: !request.initial_password.is_empty(), ..UnsupportedHumanFields::default() };
    (new_human_request!(request), unsupported)
}

/// The domain input of `ImportHumanUser`, with the fields Persona cannot store flagged.
#[must_use]
pub fn import_human_user_request(
    request: management::ImportHumanUserRequest,
) -> (NewHumanRequest, UnsupportedHumanFields) {
    let unsupported = UnsupportedHumanFields {
        password: !request.password.is_empty(),
        hashed_password: request.hashed_password.as_ref().is_some_and(|hashed| !hashed.value.is_empty()),
        password_change_required: request.password_change_required,
        passwordless_registration: request.request_passwordless_registration,
        otp_code: !request.otp_code.is_empty(),
        idps: !request.idps.is_empty(),
    };
    (new_human_request!(request), unsupported)
}

/// The domain input of `AddMachineUser`.
#[must_use]
pub fn add_machine_user_request(request: management::AddMachineUserRequest) -> AddMachineUserRequest {
    AddMachineUserRequest {
        user_name: request.user_name,
        name: request.name,
        description: request.description,
        access_token_type: request.access_token_type,
        user_id: request.user_id,
    }
}

/// `zitadel.user.v1.Profile` of a stored profile (Persona keeps no avatars).
#[must_use]
pub fn profile(profile: &Profile) -> user::Profile {
    user::Profile {
        first_name: profile.first_name().to_owned(),
        last_name: profile.last_name().to_owned(),
        nick_name: profile.nick_name().to_owned(),
        display_name: profile.display_name().to_owned(),
        preferred_language: profile.preferred_language().as_str().to_owned(),
        gender: profile.gender().number(),
        avatar_url: String::new(),
    }
}

fn human(human: &Human) -> user::Human {
    user::Human {
        profile: Some(profile(&human.profile)),
        email: Some(user::Email { email: human.email.address.clone(), is_email_verified: human.email.verified }),
        phone: human
            .phone
            .as_ref()
            .map(|phone| user::Phone { phone: phone.number.clone(), is_phone_verified: phone.verified }),
        password_changed: None,
    }
}

fn machine(machine: &Machine) -> user::Machine {
    user::Machine {
        name: machine.name.clone(),
        description: machine.description.clone(),
        has_secret: false,
        access_token_type: machine.access_token_type.number(),
    }
}

/// `zitadel.user.v1.User` of a stored user with its read `details`. Its only login name is its
/// user name.
#[must_use]
pub fn user(stored: &User, details: &ObjectDetails) -> user::User {
    let kind = match &stored.kind {
        UserKind::Human(data) => user::user::Type::Human(human(data)),
        UserKind::Machine(data) => user::user::Type::Machine(machine(data)),
    };
    user::User {
        id: stored.id.as_str().to_owned(),
        details: Some(object_details(details)),
        state: stored.state.number(),
        user_name: stored.user_name.clone(),
        login_names: vec![stored.user_name.clone()],
        preferred_login_name: stored.user_name.clone(),
        r#type: Some(kind),
    }
}

/// `zitadel.org.v1.Org` of a stored org; an org is its own resource owner.
#[must_use]
pub fn org(stored: &Org) -> org::Org {
    org::Org {
        id: stored.id.as_str().to_owned(),
        details: Some(zitadel::ObjectDetails {
            sequence: stored.sequence,
            creation_date: Some(timestamp(stored.created_at)),
            change_date: Some(timestamp(stored.changed_at)),
            resource_owner: stored.id.as_str().to_owned(),
        }),
        state: stored.state.number(),
        name: stored.name.clone(),
        primary_domain: stored.primary_domain.clone(),
    }
}

/// `zitadel.change.v1.Change` of one history entry, with Persona's changed fields (field 1000)
/// for profile changes.
#[must_use]
pub fn change(entry: &ChangeEntry) -> change::Change {
    let event = &entry.event;
    let changed_fields = event
        .payload
        .field_changes()
        .into_iter()
        .map(|(field, old_value, new_value)| change::FieldChange { field: field.to_owned(), old_value, new_value })
        .collect();
    change::Change {
        change_date: Some(timestamp(event.created_at)),
        event_type: Some(zitadel::LocalizedMessage {
            key: format!("EventTypes.{}", event.payload.event_type()),
            localized_message: event.payload.localized().to_owned(),
        }),
        sequence: event.sequence,
        editor_id: event.editor.as_str().to_owned(),
        editor_display_name: entry.editor_display_name.clone(),
        resource_owner_id: event.resource_owner.as_str().to_owned(),
        editor_preferred_login_name: entry.editor_login_name.clone(),
        editor_avatar_url: String::new(),
        changed_fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::zitadel::management::v1::import_human_user_request::{HashedPassword, Idp};
    use persona_domain::events::{AggregateType, Event, EventPayload, FieldChange, ProfileChanged};
    use persona_domain::ids::{OrgId, UserId};
    use persona_domain::language::PreferredLanguage;
    use persona_domain::profile::Gender;
    use persona_domain::user::{AccessTokenType, Email, UserState};

    const AT: Timestamp = Timestamp::from_unix_micros(1_795_874_879_123_456);

    #[test]
    fn timestamps_keep_microseconds_both_ways() {
        let pb = timestamp(AT);
        assert_eq!((pb.seconds, pb.nanos), (1_795_874_879, 123_456_000));
        assert_eq!(from_timestamp(pb).to_timestamp(), Some(AT));
    }

    #[test]
    fn import_flags_every_field_persona_cannot_store() {
        type Mutation = fn(&mut management::ImportHumanUserRequest);
        let table: [(&str, Mutation, UnsupportedHumanFields); 6] = [
            (
                "password",
                |r| r.password = "secret".into(),
                UnsupportedHumanFields { password: true, ..Default::default() },
            ),
            (
                "hashed password",
                |r| r.hashed_password = Some(HashedPassword { value: "$2a$".into() }),
                UnsupportedHumanFields { hashed_password: true, ..Default::default() },
            ),
            (
                "password change",
                |r| r.password_change_required = true,
                UnsupportedHumanFields { password_change_required: true, ..Default::default() },
            ),
            (
                "passwordless",
                |r| r.request_passwordless_registration = true,
                UnsupportedHumanFields { passwordless_registration: true, ..Default::default() },
            ),
            ("otp", |r| r.otp_code = "123".into(), UnsupportedHumanFields { otp_code: true, ..Default::default() }),
            ("idps", |r| r.idps = vec![Idp::default()], UnsupportedHumanFields { idps: true, ..Default::default() }),
        ];
        for (case, mutate, expected) in table {
            let mut request = management::ImportHumanUserRequest::default();
            mutate(&mut request);
            assert_eq!(import_human_user_request(request).1, expected, "{case}");
        }
        let empty_hash = management::ImportHumanUserRequest {
            hashed_password: Some(HashedPassword::default()),
            ..Default::default()
        };
        assert_eq!(import_human_user_request(empty_hash).1, UnsupportedHumanFields::default());
    }

    #[test]
    fn add_flags_an_initial_password_and_keeps_the_rest() {
        let request = management::AddHumanUserRequest {
            user_name: "ada".into(),
            profile: Some(management::add_human_user_request::Profile {
                first_name: "Ada".into(),
                gender: 7,
                ..Default::default()
            }),
            email: Some(management::add_human_user_request::Email {
                email: "ada@example.com".into(),
                is_email_verified: true,
            }),
            phone: None,
            initial_password: "pw".into(),
        };
        let (human, unsupported) = add_human_user_request(request);
        assert!(unsupported.password);
        assert_eq!(human.user_name, "ada");
        assert_eq!(human.profile.as_ref().map(|p| (p.first_name.as_str(), p.gender)), Some(("Ada", 7)));
        assert_eq!(human.email, Some(EmailInput { email: "ada@example.com".into(), is_email_verified: true }));
        assert_eq!(human.phone, None);
    }

    fn stored_human() -> User {
        User {
            id: UserId::new("42"),
            org_id: OrgId::new("7"),
            user_name: "ada".into(),
            state: UserState::Active,
            external_id: String::new(),
            kind: UserKind::Human(Human {
                profile: Profile::new(
                    "Ada",
                    "Lovelace",
                    "",
                    "Ada Lovelace",
                    PreferredLanguage::undetermined(),
                    Gender::Female,
                )
                .expect("a valid profile"),
                email: Email { address: "ada@example.com".into(), verified: true },
                phone: None,
            }),
            sequence: 3,
            created_at: AT,
            changed_at: AT,
        }
    }

    #[test]
    fn users_carry_their_user_name_as_login_name_and_their_kind() {
        let details = ObjectDetails {
            sequence: 3,
            creation_date: Some(AT),
            change_date: Some(AT),
            resource_owner: OrgId::new("7"),
        };
        let pb = user(&stored_human(), &details);
        assert_eq!(pb.login_names, ["ada"]);
        assert_eq!(pb.preferred_login_name, "ada");
        assert_eq!(pb.state, 1);
        let Some(user::user::Type::Human(human)) = pb.r#type else { panic!("a human") };
        assert_eq!(human.profile.map(|p| (p.gender, p.preferred_language)), Some((1, "und".to_owned())));

        let mut robot = stored_human();
        robot.kind = UserKind::Machine(Machine {
            name: "Robot".into(),
            description: String::new(),
            access_token_type: AccessTokenType::Jwt,
        });
        let Some(user::user::Type::Machine(machine)) = user(&robot, &details).r#type else { panic!("a machine") };
        assert_eq!((machine.name.as_str(), machine.access_token_type), ("Robot", 1));
    }

    #[test]
    fn profile_changes_list_old_and_new_values_under_the_event_type_key() {
        let entry = ChangeEntry {
            event: Event {
                aggregate_type: AggregateType::User,
                aggregate_id: "42".into(),
                sequence: 2,
                payload: EventPayload::ProfileChanged(ProfileChanged {
                    last_name: Some(FieldChange { old: "Lovelace".into(), new: "King".into() }),
                    ..ProfileChanged::default()
                }),
                editor: UserId::new("1"),
                resource_owner: OrgId::new("7"),
                created_at: AT,
            },
            editor_display_name: "Admin".into(),
            editor_login_name: "admin".into(),
        };
        let pb = change(&entry);
        let event_type = pb.event_type.expect("event type");
        assert_eq!(event_type.key, "EventTypes.user.human.profile.changed");
        assert_eq!(event_type.localized_message, "Profile changed");
        assert_eq!((pb.sequence, pb.editor_id.as_str(), pb.resource_owner_id.as_str()), (2, "1", "7"));
        assert_eq!(pb.editor_preferred_login_name, "admin");
        assert_eq!(
            pb.changed_fields,
            [change::FieldChange { field: "lastName".into(), old_value: "Lovelace".into(), new_value: "King".into() }]
        );
    }
}
