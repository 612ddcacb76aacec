//! The aggregate model: an aggregate's state is what its events build, and nothing else. Use
//! cases decide events; [`AggregateChange::create`] and [`AggregateChange::update`] derive the
//! next state and sequence from them with [`Aggregate::apply`], so no use case writes a sequence
//! number and replaying an aggregate's stored events gives exactly its read-model row.

use crate::events::{Event, EventPayload};
use crate::ids::{OrgId, UserId};
use crate::language::PreferredLanguage;
use crate::org::{Org, OrgState};
use crate::ports::{AggregateChange, AggregateState, INSTANCE_ID, Instance};
use crate::profile::{Gender, Profile};
use crate::time::Timestamp;
use crate::user::{AccessTokenType, Email, Human, Machine, Phone, User, UserKind, UserState};

/// Events that do not fit the state they are applied to: a bug, or stored data that is corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event_type} cannot apply to {aggregate} {id} (sequence {sequence})")]
pub struct ReplayError {
    event_type: &'static str,
    aggregate: &'static str,
    id: String,
    sequence: u64,
}

/// Where an event lands: its aggregate, owner, place in the stream and commit time.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The aggregate's id.
    pub id: &'a str,
    /// The org that owns it.
    pub owner: &'a OrgId,
    /// The event's sequence.
    pub sequence: u64,
    /// Its commit time.
    pub at: Timestamp,
}

/// A state built from events.
pub trait Aggregate: Sized + Clone {
    /// The aggregate's name in errors.
    const NAME: &'static str;

    /// The state after `payload` (`None` before the first event).
    ///
    /// # Errors
    /// [`ReplayError`] when the event does not fit (a creation of something that exists, a
    /// change of something that does not, another aggregate's event).
    fn apply(state: Option<Self>, payload: &EventPayload, envelope: Envelope<'_>) -> Result<Self, ReplayError>;

    /// The number of events so far.
    fn sequence(&self) -> u64;

    /// When its last event was committed.
    fn changed_at(&self) -> Timestamp;

    /// The aggregate's id and owner.
    fn key(&self) -> (&str, &OrgId);

    /// As the port's state.
    fn into_state(self) -> AggregateState;

    /// The state stored events build, oldest first.
    ///
    /// # Errors
    /// [`ReplayError`] as for [`Aggregate::apply`], and for an empty stream.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Self, ReplayError> {
        let mut state = None;
        let mut last = None;
        for event in events {
            let envelope = Envelope {
                id: &event.aggregate_id,
                owner: &event.resource_owner,
                sequence: event.sequence,
                at: event.created_at,
            };
            state = Some(Self::apply(state, &event.payload, envelope)?);
            last = Some(event.aggregate_id.clone());
        }
        state.ok_or_else(|| ReplayError {
            event_type: "nothing",
            aggregate: Self::NAME,
            id: last.unwrap_or_default(),
            sequence: 0,
        })
    }
}

fn misfit<A: Aggregate>(payload: &EventPayload, envelope: Envelope<'_>) -> ReplayError {
    ReplayError {
        event_type: payload.event_type(),
        aggregate: A::NAME,
        id: envelope.id.to_owned(),
        sequence: envelope.sequence,
    }
}

/// The stamps every applied event leaves: sequence and change time (and creation time once).
fn stamped(sequence: &mut u64, changed_at: &mut Timestamp, envelope: Envelope<'_>) {
    *sequence = envelope.sequence;
    *changed_at = envelope.at;
}

impl Aggregate for User {
    const NAME: &'static str = "user";

    fn apply(state: Option<Self>, payload: &EventPayload, envelope: Envelope<'_>) -> Result<Self, ReplayError> {
        let new_user = |user_name: &str, state: UserState, kind: UserKind| Self {
            id: UserId::new(envelope.id),
            org_id: envelope.owner.clone(),
            user_name: user_name.to_owned(),
            state,
            external_id: String::new(),
            kind,
            sequence: envelope.sequence,
            created_at: envelope.at,
            changed_at: envelope.at,
        };
        let mut user = match (state, payload) {
            (None, EventPayload::HumanAdded(added)) => {
                let profile = Profile::new(
                    added.first_name.clone(),
                    added.last_name.clone(),
                    added.nick_name.clone(),
                    added.display_name.clone(),
                    PreferredLanguage::from_stored(added.preferred_language.clone()),
                    Gender::from_number(added.gender),
                )
                .map_err(|_| misfit::<Self>(payload, envelope))?;
                let human = Human {
                    profile,
                    email: Email { address: added.email.clone(), verified: added.email_verified },
                    phone: added.phone.clone().map(|number| Phone { number, verified: added.phone_verified }),
                };
                let state = if added.email_verified || added.active { UserState::Active } else { UserState::Initial };
                return Ok(new_user(&added.user_name, state, UserKind::Human(human)));
            }
            (None, EventPayload::MachineAdded(added)) => {
                let machine = Machine {
                    name: added.name.clone(),
                    description: added.description.clone(),
                    access_token_type: AccessTokenType::from_number(added.access_token_type),
                };
                return Ok(new_user(&added.user_name, UserState::Active, UserKind::Machine(machine)));
            }
            (Some(user), EventPayload::ProfileChanged(changed)) if user.human().is_some() => {
                let mut user = user;
                if let UserKind::Human(human) = &mut user.kind {
                    human.profile = human.profile.changed(changed).map_err(|_| misfit::<Self>(payload, envelope))?;
                }
                user
            }
            (Some(mut user), EventPayload::UserNameChanged(changed)) => {
                user.user_name.clone_from(&changed.user_name.new);
                user
            }
            (
                Some(mut user),
                payload @ (EventPayload::EmailChanged(_)
                | EventPayload::EmailVerified
                | EventPayload::EmailCodeAdded(_)),
            ) if user.human().is_some() => {
                let initial = user.state == UserState::Initial;
                if let UserKind::Human(human) = &mut user.kind {
                    match payload {
                        EventPayload::EmailChanged(changed) => {
                            human.email = Email { address: changed.email.new.clone(), verified: false };
                        }
                        EventPayload::EmailVerified => human.email.verified = true,
                        _ => human.email.verified = false,
                    }
                }
                // Verifying the address is what ends the initial state.
                if initial && matches!(payload, EventPayload::EmailVerified) {
                    user.state = UserState::Active;
                }
                user
            }
            (
                Some(mut user),
                payload @ (EventPayload::PhoneChanged(_)
                | EventPayload::PhoneRemoved
                | EventPayload::PhoneVerified
                | EventPayload::PhoneCodeAdded(_)),
            ) if user.human().is_some() => {
                if let UserKind::Human(human) = &mut user.kind {
                    match payload {
                        EventPayload::PhoneChanged(changed) => {
                            human.phone = Some(Phone { number: changed.phone.new.clone(), verified: false });
                        }
                        EventPayload::PhoneRemoved => human.phone = None,
                        EventPayload::PhoneVerified | EventPayload::PhoneCodeAdded(_) => {
                            let verified = matches!(payload, EventPayload::PhoneVerified);
                            let phone = human.phone.as_mut().ok_or_else(|| misfit::<Self>(payload, envelope))?;
                            phone.verified = verified;
                        }
                        _ => {}
                    }
                }
                user
            }
            (Some(mut user), EventPayload::MachineChanged(changed)) if user.human().is_none() => {
                if let UserKind::Machine(machine) = &mut user.kind {
                    if let Some(name) = &changed.name {
                        machine.name.clone_from(&name.new);
                    }
                    if let Some(description) = &changed.description {
                        machine.description.clone_from(&description.new);
                    }
                }
                user
            }
            (Some(user), EventPayload::TokenAdded(_)) => user,
            (Some(mut user), EventPayload::UserDeactivated)
                if !matches!(user.state, UserState::Inactive | UserState::Deleted) =>
            {
                user.state = UserState::Inactive;
                user
            }
            (Some(mut user), EventPayload::UserReactivated) if user.state == UserState::Inactive => {
                user.state = UserState::Active;
                user
            }
            (Some(mut user), EventPayload::ExternalIdChanged(changed)) => {
                user.external_id.clone_from(&changed.external_id.new);
                user
            }
            (Some(mut user), EventPayload::UserRemoved) => {
                user.state = UserState::Deleted;
                user
            }
            _ => return Err(misfit::<Self>(payload, envelope)),
        };
        stamped(&mut user.sequence, &mut user.changed_at, envelope);
        Ok(user)
    }

    fn sequence(&self) -> u64 {
        self.sequence
    }

    fn changed_at(&self) -> Timestamp {
        self.changed_at
    }

    fn key(&self) -> (&str, &OrgId) {
        (self.id.as_str(), &self.org_id)
    }

    fn into_state(self) -> AggregateState {
        AggregateState::User(self)
    }
}

impl Aggregate for Org {
    const NAME: &'static str = "org";

    fn apply(state: Option<Self>, payload: &EventPayload, envelope: Envelope<'_>) -> Result<Self, ReplayError> {
        let mut org = match (state, payload) {
            (None, EventPayload::OrgAdded(added)) => {
                return Ok(Self {
                    id: envelope.owner.clone(),
                    name: added.name.clone(),
                    state: OrgState::Active,
                    primary_domain: added.primary_domain.clone(),
                    sequence: envelope.sequence,
                    created_at: envelope.at,
                    changed_at: envelope.at,
                });
            }
            (Some(org), EventPayload::OrgMemberAdded(_)) => org,
            _ => return Err(misfit::<Self>(payload, envelope)),
        };
        stamped(&mut org.sequence, &mut org.changed_at, envelope);
        Ok(org)
    }

    fn sequence(&self) -> u64 {
        self.sequence
    }

    fn changed_at(&self) -> Timestamp {
        self.changed_at
    }

    fn key(&self) -> (&str, &OrgId) {
        (self.id.as_str(), &self.id)
    }

    fn into_state(self) -> AggregateState {
        AggregateState::Org(self)
    }
}

impl Aggregate for Instance {
    const NAME: &'static str = "instance";

    fn apply(state: Option<Self>, payload: &EventPayload, envelope: Envelope<'_>) -> Result<Self, ReplayError> {
        let mut instance = match (state, payload) {
            (None, EventPayload::InstanceAdded(added)) => {
                return Ok(Self {
                    default_org_id: OrgId::new(added.default_org_id.clone()),
                    sequence: envelope.sequence,
                    created_at: envelope.at,
                    changed_at: envelope.at,
                });
            }
            (Some(instance), EventPayload::InstanceMemberAdded(_) | EventPayload::InstanceMemberRemoved(_)) => instance,
            _ => return Err(misfit::<Self>(payload, envelope)),
        };
        stamped(&mut instance.sequence, &mut instance.changed_at, envelope);
        Ok(instance)
    }

    fn sequence(&self) -> u64 {
        self.sequence
    }

    fn changed_at(&self) -> Timestamp {
        self.changed_at
    }

    fn key(&self) -> (&str, &OrgId) {
        (INSTANCE_ID, &self.default_org_id)
    }

    fn into_state(self) -> AggregateState {
        AggregateState::Instance(self)
    }
}

impl AggregateChange {
    /// A new aggregate `id`, owned by `owner` (for an org, its own id), made by `events`
    /// (`at`: the provisional time; storage stamps the commit time).
    ///
    /// # Errors
    /// [`ReplayError`] when the events do not build an aggregate of kind `A`.
    pub fn create<A: Aggregate>(
        id: &str,
        owner: &OrgId,
        events: Vec<EventPayload>,
        at: Timestamp,
    ) -> Result<(Self, A), ReplayError> {
        Self::build::<A>(None, id, owner, events, at)
    }

    /// `current` changed by `events`.
    ///
    /// # Errors
    /// [`ReplayError`] when an event does not fit the state.
    pub fn update<A: Aggregate>(
        current: &A,
        events: Vec<EventPayload>,
        at: Timestamp,
    ) -> Result<(Self, A), ReplayError> {
        let (id, owner) = current.key();
        let (id, owner) = (id.to_owned(), owner.clone());
        Self::build(Some(current.clone()), &id, &owner, events, at)
    }

    fn build<A: Aggregate>(
        current: Option<A>,
        id: &str,
        owner: &OrgId,
        events: Vec<EventPayload>,
        at: Timestamp,
    ) -> Result<(Self, A), ReplayError> {
        let expected_sequence = current.as_ref().map_or(0, A::sequence);
        let mut state = current;
        for (offset, payload) in (1..).zip(&events) {
            let envelope = Envelope { id, owner, sequence: expected_sequence + offset, at };
            state = Some(A::apply(state, payload, envelope)?);
        }
        let next = state.ok_or_else(|| ReplayError {
            event_type: "nothing",
            aggregate: A::NAME,
            id: id.to_owned(),
            sequence: expected_sequence,
        })?;
        Ok((Self { expected_sequence, state: next.clone().into_state(), events }, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{
        FieldChange, HumanAdded, MachineAdded, MemberAdded, MemberRemoved, OrgAdded, ProfileChanged, TokenAdded,
    };

    const AT: Timestamp = Timestamp::from_unix_micros(1_000);
    const LATER: Timestamp = Timestamp::from_unix_micros(2_000);

    fn ada() -> HumanAdded {
        HumanAdded {
            user_name: "ada".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            nick_name: String::new(),
            display_name: "Ada Lovelace".into(),
            preferred_language: "en".into(),
            gender: 1,
            email: "ada@example.com".into(),
            email_verified: false,
            phone: Some("+4411".into()),
            phone_verified: true,
            active: false,
        }
    }

    #[test]
    fn changes_derive_the_next_sequence_and_state_from_the_events() {
        let owner = OrgId::new("o");
        let (created, user) = AggregateChange::create::<User>("u", &owner, vec![EventPayload::HumanAdded(ada())], AT)
            .expect("a human is created");
        assert_eq!((created.expected_sequence, user.sequence, user.state), (0, 1, UserState::Initial));
        let renamed = ProfileChanged {
            first_name: Some(FieldChange { old: "Ada".into(), new: "Grace".into() }),
            ..ProfileChanged::default()
        };
        let events = vec![EventPayload::ProfileChanged(renamed), EventPayload::UserRemoved];
        let (change, next) = AggregateChange::update(&user, events, LATER).expect("changes apply");
        assert_eq!((change.expected_sequence, next.sequence, next.state), (1, 3, UserState::Deleted));
        assert_eq!(next.human().map(|h| h.profile.first_name()), Some("Grace"));
        assert_eq!((next.created_at, next.changed_at), (AT, LATER));
        assert_eq!(change.state, AggregateState::User(next));
    }

    #[test]
    fn events_that_do_not_fit_are_refused() {
        let owner = OrgId::new("o");
        let (_, user) =
            AggregateChange::create::<User>("u", &owner, vec![EventPayload::HumanAdded(ada())], AT).expect("created");
        let twice = AggregateChange::update(&user, vec![EventPayload::HumanAdded(ada())], AT);
        assert!(twice.is_err(), "a user is created once");
        assert!(AggregateChange::create::<User>("u", &owner, vec![EventPayload::UserRemoved], AT).is_err());
        assert!(AggregateChange::create::<User>("u", &owner, Vec::new(), AT).is_err(), "no events, no user");
        let member = MemberAdded { user_id: "u".into(), roles: vec!["ORG_OWNER".into()] };
        assert!(AggregateChange::update(&user, vec![EventPayload::OrgMemberAdded(member)], AT).is_err());
    }

    #[test]
    fn every_event_type_replays() {
        let owner = OrgId::new("o");
        let event = |id: &str, sequence: u64, payload: EventPayload| Event {
            aggregate_type: crate::events::AggregateType::User,
            aggregate_id: id.into(),
            sequence,
            payload,
            editor: UserId::new("e"),
            resource_owner: owner.clone(),
            created_at: Timestamp::from_unix_micros(i64::try_from(sequence).unwrap_or(0)),
        };
        let machine =
            MachineAdded { user_name: "m".into(), name: "M".into(), description: "d".into(), access_token_type: 1 };
        let token = TokenAdded { token_id: "t".into(), expiration: None };
        let user = User::replay(&[
            event("m", 1, EventPayload::MachineAdded(machine)),
            event("m", 2, EventPayload::TokenAdded(token)),
            event("m", 3, EventPayload::UserRemoved),
        ])
        .expect("a machine user replays");
        assert_eq!((user.sequence, user.state, user.user_name.as_str()), (3, UserState::Deleted, "m"));
        let org = Org::replay(&[
            event("o", 1, EventPayload::OrgAdded(OrgAdded { name: "O".into(), primary_domain: "o.localhost".into() })),
            event("o", 2, EventPayload::OrgMemberAdded(MemberAdded { user_id: "m".into(), roles: Vec::new() })),
        ])
        .expect("an org replays");
        assert_eq!((org.sequence, org.id.as_str(), org.changed_at), (2, "o", Timestamp::from_unix_micros(2)));
        let instance = Instance::replay(&[
            event(
                INSTANCE_ID,
                1,
                EventPayload::InstanceAdded(crate::events::InstanceAdded { default_org_id: "o".into() }),
            ),
            event(
                INSTANCE_ID,
                2,
                EventPayload::InstanceMemberAdded(MemberAdded { user_id: "m".into(), roles: Vec::new() }),
            ),
            event(INSTANCE_ID, 3, EventPayload::InstanceMemberRemoved(MemberRemoved { user_id: "m".into() })),
        ])
        .expect("the instance replays");
        assert_eq!((instance.sequence, instance.default_org_id.as_str()), (3, "o"));
    }
}
