//! Ports: what the application service needs from the outside world. Storage adapters implement
//! [`Store`]; the server supplies a [`Clock`] and a [`Random`] source.

use crate::auth::{Caller, Membership, PersonalAccessToken, TokenHash, TokenRecord};
use crate::events::{AggregateType, Event, EventPayload};
use crate::ids::{OrgId, UserId};
use crate::org::Org;
use crate::query::{UserPage, UserSearch};
use crate::time::Timestamp;
use crate::user::User;
use std::future::Future;

/// The singleton instance record: created once, by the first start on an empty database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The org created at set-up.
    pub default_org_id: OrgId,
    /// Events of the instance aggregate so far.
    pub sequence: u64,
    /// When it was set up.
    pub created_at: Timestamp,
    /// When it last changed.
    pub changed_at: Timestamp,
}

/// The id of the instance aggregate (there is one instance per database).
pub const INSTANCE_ID: &str = "instance";

/// The state of one aggregate after a change: what the read model must hold afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived state per change of a commit; boxing the user would cost an allocation per write for no gain"
)]
pub enum AggregateState {
    /// A user's row.
    User(User),
    /// An org's row.
    Org(Org),
    /// The instance row.
    Instance(Instance),
}

impl AggregateState {
    /// The aggregate's id (the user's, the org's, or [`INSTANCE_ID`]).
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::User(user) => user.id.as_str(),
            Self::Org(org) => org.id.as_str(),
            Self::Instance(_) => INSTANCE_ID,
        }
    }
}

/// Events appended to one aggregate, guarded by the sequence the decision was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateChange {
    /// The sequence the aggregate must still have (0: it must not exist yet).
    pub expected_sequence: u64,
    /// The new state; its sequence is `expected_sequence + events.len()`.
    pub state: AggregateState,
    /// The events, numbered from `expected_sequence + 1`.
    pub events: Vec<EventPayload>,
}

impl AggregateChange {
    /// A guard: the aggregate must still be at `state`'s sequence when the commit lands, and
    /// nothing of it is written. A commit that decided on another aggregate's state (a user's
    /// memberships live on its org) carries one so that a concurrent change of it is a conflict.
    #[must_use]
    pub fn guard(state: AggregateState) -> Self {
        let expected_sequence = match &state {
            AggregateState::User(user) => user.sequence,
            AggregateState::Org(org) => org.sequence,
            AggregateState::Instance(instance) => instance.sequence,
        };
        Self { expected_sequence, state, events: Vec::new() }
    }

    /// Whether this change only guards (it has no events and writes nothing).
    #[must_use]
    pub fn is_guard(&self) -> bool {
        self.events.is_empty()
    }
}

/// Read-model writes that belong to no aggregate row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideEffect {
    /// Store a membership (unique per user and org, or per user instance-wide).
    PutMembership(Membership),
    /// Store a personal access token (its hash).
    PutToken(PersonalAccessToken),
    /// Revoke every token of the user.
    RevokeTokensOf(UserId),
    /// Remove every membership of the user.
    RemoveMembershipsOf(UserId),
}

/// Everything one command writes: committed all together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Who caused it.
    pub editor: UserId,
    /// Event appends with their read-model rows.
    pub changes: Vec<AggregateChange>,
    /// Further read-model writes.
    pub side_effects: Vec<SideEffect>,
}

/// What a successful commit reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The commit time, stamped on every event and on the rows' change (and creation) dates.
    pub at: Timestamp,
}

/// Values that must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    /// A user name (compared without case) among users that are not removed.
    UserName,
    /// A user id.
    UserId,
    /// A membership of a user in an org.
    Membership,
}

/// Why the store could not do what was asked. No SQL error crosses the port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// An aggregate's sequence was not the expected one: someone else wrote first. Retryable.
    #[error("the aggregate changed concurrently")]
    Conflict,
    /// A unique value is taken.
    #[error("duplicate {0:?}")]
    Duplicate(UniqueKey),
    /// The database could not be reached or failed; nothing was written.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed while committing (the connection broke during COMMIT, say): the
    /// commit may or may not have landed. Never to be retried blindly, nor read as a conflict.
    #[error("the outcome of the commit is unknown: {0}")]
    Uncertain(String),
}

/// One page of an aggregate's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPage {
    /// Cursor: events strictly after it (ascending) or strictly before it (descending);
    /// 0 starts at the beginning (ascending) or the newest (descending).
    pub cursor: u64,
    /// At most this many events (already capped by the service).
    pub limit: u32,
    /// Oldest first when true.
    pub ascending: bool,
}

/// An exclusive hold on one aggregate, taken in a write transaction
/// ([`Store::lock_user`], [`Store::lock_org`]): every other writer of that aggregate — in this
/// process or another one on the same database — waits until the hold ends. It ends when
/// [`AggregateLock::commit`] returns, or when the lock is dropped, which writes nothing.
///
/// The service decides under a lock only after losing a race, so that the writer that lost
/// once cannot lose again, however busy the other writers are.
pub trait AggregateLock: Send + 'static {
    /// Commits atomically and durably in the locked transaction.
    ///
    /// # Errors
    /// As [`Store::commit`]; [`StoreError::Conflict`] only when the commit guards an aggregate
    /// other than the locked one, or guards it with another sequence than the one read.
    fn commit(self, commit: Commit) -> impl Future<Output = Result<Committed, StoreError>> + Send;
}

/// Storage of events and of the read model.
///
/// Implementations commit a [`Commit`] atomically and durably before they return `Ok`, check
/// every [`AggregateChange::expected_sequence`] inside the same transaction, and stamp the rows'
/// `changed_at` (and `created_at` of new aggregates) and every event with [`Committed::at`]. A
/// change without events ([`AggregateChange::guard`]) is only checked: its row stays as it is.
pub trait Store: Clone + Send + Sync + 'static {
    /// The hold [`Store::lock_user`] and [`Store::lock_org`] give.
    type Lock: AggregateLock;

    /// The token with hash `token`, whatever its state: [`TokenRecord::caller_at`] decides
    /// whether it counts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn token(&self, token: &TokenHash) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// The caller a token authenticates at `now`: the token as [`Store::token`] finds it, under
    /// the domain's rule.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn caller(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Caller>, StoreError>> + Send {
        let record = self.token(token);
        async move { Ok(record.await?.and_then(|record| record.caller_at(now))) }
    }

    /// An org by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn org(&self, id: &OrgId) -> impl Future<Output = Result<Option<Org>, StoreError>> + Send;

    /// An org by its primary domain.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn org_by_domain(&self, domain: &str) -> impl Future<Output = Result<Option<Org>, StoreError>> + Send;

    /// A user by id, removed users included (their state says so).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn user(&self, id: &UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The users `search` finds, one page of them and how many in all: exactly those
    /// [`crate::query::search_in`] finds, in its order, answered from indexes where the filter
    /// allows (an exact or case-ignoring user name or email, an org).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn list_users(&self, search: &UserSearch) -> impl Future<Output = Result<UserPage, StoreError>> + Send;

    /// Every membership of a user: in orgs and instance-wide.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn memberships(&self, user: &UserId) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;

    /// Every instance-wide membership (of users that are not removed: removal deletes them).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn instance_memberships(&self) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;

    /// A page of one aggregate's events, ordered by sequence.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn events(
        &self,
        aggregate: AggregateType,
        id: &str,
        page: EventPage,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// A page of a user's events, ordered by sequence.
    ///
    /// # Errors
    /// As [`Store::events`].
    fn user_events(&self, id: &UserId, page: EventPage) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send {
        self.events(AggregateType::User, id.as_str(), page)
    }

    /// The instance record, once set up.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn instance(&self) -> impl Future<Output = Result<Option<Instance>, StoreError>> + Send;

    /// Commits atomically and durably.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when an expected sequence no longer holds (or a new aggregate
    /// exists already); [`StoreError::Duplicate`] when a unique value is taken;
    /// [`StoreError::Unavailable`] when nothing could be written; [`StoreError::Uncertain`] when
    /// the database failed during the commit itself. On any error but the last nothing of the
    /// commit is visible.
    fn commit(&self, commit: Commit) -> impl Future<Output = Result<Committed, StoreError>> + Send;

    /// Whether the database is reachable and migrated.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it is not.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Locks user `id` for writing (waiting while another writer holds it) and reads it under
    /// the lock. Commit through the lock; a [`Store::commit`] of the same task while it holds
    /// the lock would wait for itself.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn lock_user(&self, id: &UserId) -> impl Future<Output = Result<(Option<User>, Self::Lock), StoreError>> + Send;

    /// Locks org `id` for writing and reads it under the lock, like [`Store::lock_user`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn lock_org(&self, id: &OrgId) -> impl Future<Output = Result<(Option<Org>, Self::Lock), StoreError>> + Send;
}

/// The current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// A source of cryptographically secure random bytes (token secrets, id node numbers).
pub trait Random: Send + Sync + 'static {
    /// Fills `bytes` with random data.
    fn fill(&self, bytes: &mut [u8]);
}
