//! Conversions between table rows and domain types. Rows that do not decode are reported as
//! corrupt, never guessed at.

use crate::entities::{events, instance, memberships, orgs, users};
use crate::keys::SearchKeys;
use persona_domain::auth::{Membership, Role};
use persona_domain::events::{AggregateType, Event, EventPayload};
use persona_domain::ids::{OrgId, UserId};
use persona_domain::language::PreferredLanguage;
use persona_domain::org::{Org, OrgState};
use persona_domain::ports::{Instance, StoreError};
use persona_domain::time::Timestamp;
use persona_domain::user::{AccessTokenType, Email, Human, Machine, Phone, User, UserKind, UserState};
use persona_domain::{Gender, Profile};

fn corrupt(what: &str, id: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} of {id}"))
}

fn corrupt_because(what: &str, id: &str, why: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} of {id}: {why}"))
}

fn sequence(value: i64, id: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt("negative sequence", id))
}

/// Sequences are far below `i64::MAX`; larger values would be a bug, stored as the maximum.
pub(crate) fn db_sequence(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A user row as a domain user.
pub(crate) fn user_from_row(row: users::Model) -> Result<User, StoreError> {
    let state = UserState::from_number(row.state).ok_or_else(|| corrupt("user state", &row.id))?;
    let kind = match row.kind.as_str() {
        "human" => UserKind::Human(Human {
            profile: Profile::new(
                row.first_name,
                row.last_name,
                row.nick_name,
                row.display_name,
                PreferredLanguage::from_stored(row.preferred_language),
                Gender::from_number(row.gender),
            )
            .map_err(|e| corrupt_because("user profile", &row.id, &e.to_string()))?,
            email: Email { address: row.email, verified: row.email_verified },
            phone: row.phone.map(|number| Phone { number, verified: row.phone_verified }),
        }),
        "machine" => UserKind::Machine(Machine {
            name: row.machine_name,
            description: row.machine_description,
            access_token_type: AccessTokenType::from_number(row.access_token_type),
        }),
        _ => return Err(corrupt("user kind", &row.id)),
    };
    Ok(User {
        sequence: sequence(row.sequence, &row.id)?,
        id: UserId::new(row.id),
        org_id: OrgId::new(row.org_id),
        user_name: row.user_name,
        state,
        external_id: row.external_id,
        kind,
        created_at: Timestamp::from_unix_micros(row.created_at),
        changed_at: Timestamp::from_unix_micros(row.changed_at),
    })
}

/// A domain user as a full row with its search keys, stamped with `created_at` / `changed_at`.
pub(crate) fn user_to_row(user: &User, created_at: Timestamp, changed_at: Timestamp) -> users::Model {
    let mut row = users::Model {
        id: user.id.as_str().to_owned(),
        org_id: user.org_id.as_str().to_owned(),
        user_name: user.user_name.clone(),
        user_name_key: (!user.is_removed()).then(|| User::user_name_key(&user.user_name)),
        kind: String::new(),
        state: user.state.number(),
        first_name: String::new(),
        last_name: String::new(),
        nick_name: String::new(),
        display_name: String::new(),
        preferred_language: String::new(),
        gender: 0,
        email: String::new(),
        email_verified: false,
        phone: None,
        phone_verified: false,
        machine_name: String::new(),
        machine_description: String::new(),
        access_token_type: 0,
        external_id_key: crate::keys::search_key(&user.external_id),
        external_id: user.external_id.clone(),
        first_name_key: String::new(),
        last_name_key: String::new(),
        nick_name_key: String::new(),
        display_name_key: String::new(),
        email_key: String::new(),
        phone_key: String::new(),
        sequence: db_sequence(user.sequence),
        created_at: created_at.unix_micros(),
        changed_at: changed_at.unix_micros(),
    };
    match &user.kind {
        UserKind::Human(human) => {
            let p = &human.profile;
            row.kind = "human".to_owned();
            p.first_name().clone_into(&mut row.first_name);
            p.last_name().clone_into(&mut row.last_name);
            p.nick_name().clone_into(&mut row.nick_name);
            p.display_name().clone_into(&mut row.display_name);
            row.preferred_language = p.preferred_language().as_str().to_owned();
            row.gender = p.gender().number();
            row.email.clone_from(&human.email.address);
            row.email_verified = human.email.verified;
            row.phone = human.phone.as_ref().map(|phone| phone.number.clone());
            row.phone_verified = human.phone.as_ref().is_some_and(|phone| phone.verified);
        }
        UserKind::Machine(machine) => {
            row.kind = "machine".to_owned();
            row.machine_name.clone_from(&machine.name);
            row.machine_description.clone_from(&machine.description);
            row.access_token_type = machine.access_token_type.number();
        }
    }
    SearchKeys::of_user(user).write_to(&mut row);
    row
}

/// An org row as a domain org.
pub(crate) fn org_from_row(row: orgs::Model) -> Result<Org, StoreError> {
    Ok(Org {
        state: OrgState::from_number(row.state).ok_or_else(|| corrupt("org state", &row.id))?,
        sequence: sequence(row.sequence, &row.id)?,
        id: OrgId::new(row.id),
        name: row.name,
        primary_domain: row.primary_domain,
        created_at: Timestamp::from_unix_micros(row.created_at),
        changed_at: Timestamp::from_unix_micros(row.changed_at),
    })
}

/// A domain org as a row.
pub(crate) fn org_to_row(org: &Org, created_at: Timestamp, changed_at: Timestamp) -> orgs::Model {
    orgs::Model {
        id: org.id.as_str().to_owned(),
        name: org.name.clone(),
        state: org.state.number(),
        primary_domain: org.primary_domain.clone(),
        sequence: db_sequence(org.sequence),
        created_at: created_at.unix_micros(),
        changed_at: changed_at.unix_micros(),
    }
}

/// The instance row as the domain's instance.
pub(crate) fn instance_from_row(row: instance::Model) -> Result<Instance, StoreError> {
    Ok(Instance {
        default_org_id: OrgId::new(row.default_org_id),
        sequence: sequence(row.sequence, &row.id)?,
        created_at: Timestamp::from_unix_micros(row.created_at),
        changed_at: Timestamp::from_unix_micros(row.changed_at),
    })
}

/// A membership row as the domain's membership.
pub(crate) fn membership_from_row(row: memberships::Model) -> Result<Membership, StoreError> {
    let roles = row
        .roles
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| Role::from_name(name).ok_or_else(|| corrupt("role", &row.user_id)))
        .collect::<Result<Vec<_>, _>>()?;
    let org_id = (!row.org_id.is_empty()).then(|| OrgId::new(row.org_id));
    Ok(Membership { user_id: UserId::new(row.user_id), org_id, roles })
}

/// A domain membership as a row.
pub(crate) fn membership_to_row(membership: &Membership) -> memberships::Model {
    memberships::Model {
        user_id: membership.user_id.as_str().to_owned(),
        org_id: membership.org_id.as_ref().map_or_else(String::new, |org| org.as_str().to_owned()),
        roles: membership.roles.iter().map(|role| role.name()).collect::<Vec<_>>().join(","),
    }
}

/// An event row as a domain event.
pub(crate) fn event_from_row(row: events::Model) -> Result<Event, StoreError> {
    let id = format!("{}:{}", row.aggregate_id, row.sequence);
    let aggregate_type = AggregateType::parse(&row.aggregate_type).ok_or_else(|| corrupt("aggregate type", &id))?;
    let payload =
        EventPayload::from_json(&row.event_type, &row.payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Event {
        aggregate_type,
        sequence: sequence(row.sequence, &id)?,
        aggregate_id: row.aggregate_id,
        payload,
        editor: UserId::new(row.editor_id),
        resource_owner: OrgId::new(row.resource_owner),
        created_at: Timestamp::from_unix_micros(row.created_at),
    })
}
