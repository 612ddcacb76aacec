//! In-memory implementations of the ports (feature `testing`): a [`Store`] that keeps everything
//! in a mutex, a system clock, a seeded random source and a tiny `block_on`. For tests and for
//! programs that want Persona's rules without a database. Nothing here is durable.

use crate::auth::{Caller, Membership, PersonalAccessToken, TokenHash, TokenRecord};
use crate::events::{AggregateType, Event};
use crate::ids::{OrgId, UserId};
use crate::org::Org;
use crate::ports::{
    AggregateLock, AggregateState, Clock, Commit, Committed, EventPage, INSTANCE_ID, Instance, Random, SideEffect,
    Store, StoreError, UniqueKey,
};
use crate::query::{UserPage, UserSearch};
use crate::time::Timestamp;
use crate::user::User;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake};

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Timestamp::from_unix_micros(micros)
    }
}

/// Deterministic pseudo-random bytes (SHA-256 of a seed and a counter). Not for production
/// secrets: tests and examples only.
#[derive(Debug, Default)]
pub struct SeededRandom {
    seed: u64,
    counter: AtomicU64,
}

impl SeededRandom {
    /// A source seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: AtomicU64::new(0) }
    }
}

impl Random for SeededRandom {
    fn fill(&self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let block = Sha256::new().chain_update(self.seed.to_le_bytes()).chain_update(n.to_le_bytes()).finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

/// Runs a future to completion on the current thread (enough for the in-memory store, whose
/// futures never wait on I/O).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(ThreadWaker(std::thread::current())).into();
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    events: Vec<Event>,
    users: HashMap<UserId, User>,
    orgs: HashMap<OrgId, Org>,
    instance: Option<Instance>,
    memberships: Vec<Membership>,
    tokens: Vec<(PersonalAccessToken, bool)>,
    last_commit: Timestamp,
    /// How many of the next commits land but report [`StoreError::Uncertain`] (a lost
    /// acknowledgement, for tests).
    lost_acknowledgements: u32,
}

/// A [`Store`] in memory. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    state: Arc<Mutex<State>>,
    /// Held by [`InMemoryStore::lock_user`] and [`InMemoryStore::lock_org`] (one lock for the
    /// whole store: coarser than a row, which the port allows); every commit waits for it.
    writers: Arc<async_lock::Mutex<()>>,
}

/// The hold of [`InMemoryStore`]: the store's writer lock until it commits or is dropped.
#[derive(Debug)]
pub struct InMemoryLock {
    store: InMemoryStore,
    _held: async_lock::MutexGuardArc<()>,
}

impl AggregateLock for InMemoryLock {
    async fn commit(self, commit: Commit) -> Result<Committed, StoreError> {
        self.store.commit_now(commit)
    }
}

impl InMemoryStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the next `count` commits land but answer [`StoreError::Uncertain`], as when the
    /// connection breaks during COMMIT (for tests of what callers do then).
    pub fn lose_acknowledgements(&self, count: u32) {
        self.state().lost_acknowledgements = count;
    }

    fn commit_now(&self, commit: Commit) -> Result<Committed, StoreError> {
        let mut state = self.state();
        state.check(&commit)?;
        let now = SystemClock.now();
        let at = if now > state.last_commit {
            now
        } else {
            Timestamp::from_unix_micros(state.last_commit.unix_micros() + 1)
        };
        state.last_commit = at;
        state.apply(commit, at);
        if state.lost_acknowledgements > 0 {
            state.lost_acknowledgements -= 1;
            return Err(StoreError::Uncertain("the acknowledgement was lost".to_owned()));
        }
        Ok(Committed { at })
    }

    /// Every stored event, in commit order (for tests).
    #[must_use]
    pub fn all_events(&self) -> Vec<Event> {
        self.state().events.clone()
    }
}

impl State {
    fn sequence_of(&self, state: &AggregateState) -> u64 {
        match state {
            AggregateState::User(user) => self.users.get(&user.id).map_or(0, |u| u.sequence),
            AggregateState::Org(org) => self.orgs.get(&org.id).map_or(0, |o| o.sequence),
            AggregateState::Instance(_) => self.instance.as_ref().map_or(0, |i| i.sequence),
        }
    }

    fn check(&self, commit: &Commit) -> Result<(), StoreError> {
        let mut names: Vec<String> = Vec::new();
        for change in &commit.changes {
            if self.sequence_of(&change.state) != change.expected_sequence {
                return Err(StoreError::Conflict);
            }
            if let AggregateState::User(user) = &change.state
                && !user.is_removed()
            {
                let key = User::user_name_key(&user.user_name);
                let taken = self
                    .users
                    .values()
                    .any(|u| u.id != user.id && !u.is_removed() && User::user_name_key(&u.user_name) == key);
                if taken || names.contains(&key) {
                    return Err(StoreError::Duplicate(UniqueKey::UserName));
                }
                names.push(key);
            }
        }
        for effect in &commit.side_effects {
            if let SideEffect::PutMembership(m) = effect
                && self.memberships.iter().any(|x| x.user_id == m.user_id && x.org_id == m.org_id)
            {
                return Err(StoreError::Duplicate(UniqueKey::Membership));
            }
        }
        Ok(())
    }

    fn apply(&mut self, commit: Commit, at: Timestamp) {
        for change in commit.changes.into_iter().filter(|change| !change.is_guard()) {
            let (aggregate_type, aggregate_id, owner) = match &change.state {
                AggregateState::User(u) => (AggregateType::User, u.id.as_str().to_owned(), u.org_id.clone()),
                AggregateState::Org(o) => (AggregateType::Org, o.id.as_str().to_owned(), o.id.clone()),
                AggregateState::Instance(i) => {
                    (AggregateType::Instance, INSTANCE_ID.to_owned(), i.default_org_id.clone())
                }
            };
            for (offset, payload) in (1..).zip(change.events) {
                self.events.push(Event {
                    aggregate_type,
                    aggregate_id: aggregate_id.clone(),
                    sequence: change.expected_sequence + offset,
                    payload,
                    editor: commit.editor.clone(),
                    resource_owner: owner.clone(),
                    created_at: at,
                });
            }
            let created = |existing: Option<Timestamp>| existing.unwrap_or(at);
            match change.state {
                AggregateState::User(mut user) => {
                    user.created_at = created(self.users.get(&user.id).map(|u| u.created_at));
                    user.changed_at = at;
                    self.users.insert(user.id.clone(), user);
                }
                AggregateState::Org(mut org) => {
                    org.created_at = created(self.orgs.get(&org.id).map(|o| o.created_at));
                    org.changed_at = at;
                    self.orgs.insert(org.id.clone(), org);
                }
                AggregateState::Instance(mut instance) => {
                    instance.created_at = created(self.instance.as_ref().map(|i| i.created_at));
                    instance.changed_at = at;
                    self.instance = Some(instance);
                }
            }
        }
        for effect in commit.side_effects {
            match effect {
                SideEffect::PutMembership(m) => self.memberships.push(m),
                SideEffect::PutToken(t) => self.tokens.push((t, false)),
                SideEffect::RevokeTokensOf(user) => {
                    for (token, revoked) in &mut self.tokens {
                        if token.user_id == user {
                            *revoked = true;
                        }
                    }
                }
                SideEffect::RemoveMembershipsOf(user) => self.memberships.retain(|m| m.user_id != user),
            }
        }
    }
}

impl Store for InMemoryStore {
    type Lock = InMemoryLock;

    async fn token(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let state = self.state();
        let Some((record, revoked)) = state.tokens.iter().find(|(t, _)| &t.hash == token) else {
            return Ok(None);
        };
        let Some(user) = state.users.get(&record.user_id) else {
            return Ok(None);
        };
        let memberships = state.memberships.iter().filter(|m| m.user_id == user.id).cloned().collect();
        Ok(Some(TokenRecord {
            caller: Caller { user_id: user.id.clone(), org_id: user.org_id.clone(), memberships },
            expires_at: record.expires_at,
            revoked: *revoked,
            user_removed: user.is_removed(),
        }))
    }

    async fn org(&self, id: &OrgId) -> Result<Option<Org>, StoreError> {
        Ok(self.state().orgs.get(id).cloned())
    }

    async fn org_by_domain(&self, domain: &str) -> Result<Option<Org>, StoreError> {
        Ok(self.state().orgs.values().find(|org| org.primary_domain == domain).cloned())
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(id).cloned())
    }

    async fn list_users(&self, search: &UserSearch) -> Result<UserPage, StoreError> {
        Ok(crate::query::search_in(self.state().users.values(), search))
    }

    async fn memberships(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        Ok(self.state().memberships.iter().filter(|m| &m.user_id == user).cloned().collect())
    }

    async fn instance_memberships(&self) -> Result<Vec<Membership>, StoreError> {
        Ok(self.state().memberships.iter().filter(|m| m.org_id.is_none()).cloned().collect())
    }

    async fn events(&self, aggregate: AggregateType, id: &str, page: EventPage) -> Result<Vec<Event>, StoreError> {
        let state = self.state();
        let mine = state.events.iter().filter(|e| e.aggregate_type == aggregate && e.aggregate_id == id);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let mut events: Vec<Event> = if page.ascending {
            mine.filter(|e| e.sequence > page.cursor).cloned().collect()
        } else {
            mine.filter(|e| page.cursor == 0 || e.sequence < page.cursor).cloned().collect()
        };
        events.sort_by_key(|e| e.sequence);
        if !page.ascending {
            events.reverse();
        }
        events.truncate(limit);
        Ok(events)
    }

    async fn instance(&self) -> Result<Option<Instance>, StoreError> {
        Ok(self.state().instance.clone())
    }

    async fn commit(&self, commit: Commit) -> Result<Committed, StoreError> {
        let _turn = self.writers.lock().await;
        self.commit_now(commit)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn lock_user(&self, id: &UserId) -> Result<(Option<User>, InMemoryLock), StoreError> {
        let held = self.writers.lock_arc().await;
        let user = self.state().users.get(id).cloned();
        Ok((user, InMemoryLock { store: self.clone(), _held: held }))
    }

    async fn lock_org(&self, id: &OrgId) -> Result<(Option<Org>, InMemoryLock), StoreError> {
        let held = self.writers.lock_arc().await;
        let org = self.state().orgs.get(id).cloned();
        Ok((org, InMemoryLock { store: self.clone(), _held: held }))
    }
}
