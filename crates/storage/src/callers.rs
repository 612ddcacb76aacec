//! A short-lived cache of authenticated callers, keyed by token hash, so a busy client's token
//! is not looked up (token, user, memberships) on every request. It keeps what the store read;
//! the domain's rule ([`TokenRecord::caller_at`]) decides on every request whether it counts.
//!
//! Correctness with several processes on one database: an entry lives at most `ttl` (1 s by
//! default), so a token revoked, a user removed or a membership changed through another
//! process stops counting here within that bound. In this process the bound is zero: every
//! commit that carries side effects (tokens, memberships) or removes a user empties the cache
//! before it is acknowledged, and a lookup that raced with such a commit does not store what
//! it read. A token's own expiry is checked by the domain on every request. Unknown tokens are
//! never cached.

use persona_domain::auth::{TokenHash, TokenRecord};
use persona_domain::ports::{AggregateState, Commit};
use persona_domain::user::UserState;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most tokens remembered at once; a full cache drops its stale entries, then everything.
const MAX_ENTRIES: usize = 4096;

struct Entry {
    record: TokenRecord,
    /// When this entry stops being trusted.
    stale_at: Instant,
}

#[derive(Default)]
struct State {
    entries: HashMap<TokenHash, Entry>,
    /// Bumped by every invalidation; a lookup stores its result only if it saw no bump.
    generation: u64,
}

/// The cache; `ttl` zero turns it off.
pub(crate) struct CallerCache {
    ttl: Duration,
    state: Mutex<State>,
}

/// A lookup in progress: remembers the generation it started in.
#[derive(Debug)]
pub(crate) struct Miss {
    generation: u64,
}

impl CallerCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached record of `token` if it is fresh; otherwise a [`Miss`] to hand to
    /// [`CallerCache::store`] after reading the database.
    pub(crate) fn get(&self, token: &TokenHash) -> Result<TokenRecord, Miss> {
        let mut state = self.lock();
        if self.ttl.is_zero() {
            return Err(Miss { generation: state.generation });
        }
        if let Some(entry) = state.entries.get(token) {
            if entry.stale_at > Instant::now() {
                return Ok(entry.record.clone());
            } else {
                state.entries.remove(token);
            }
        }
        Err(Miss { generation: state.generation })
    }

    /// Remembers what a lookup read, unless an invalidation happened since it began.
    pub(crate) fn store(&self, miss: Miss, token: &TokenHash, record: &TokenRecord) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        if state.generation != miss.generation {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.retain(|_, entry| entry.stale_at > now);
            if state.entries.len() >= MAX_ENTRIES {
                state.entries.clear();
            }
        }
        let entry = Entry { record: record.clone(), stale_at: now + self.ttl };
        state.entries.insert(token.clone(), entry);
    }

    /// Forgets everything, and voids the lookups in flight.
    pub(crate) fn invalidate(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.generation += 1;
    }
}

/// Whether `commit` can change who a token authenticates: tokens and memberships change only
/// through side effects, and a caller also ends with its user.
pub(crate) fn affects_callers(commit: &Commit) -> bool {
    !commit.side_effects.is_empty()
        || commit.changes.iter().any(|change| match &change.state {
            AggregateState::User(user) => user.state == UserState::Deleted,
            AggregateState::Org(_) | AggregateState::Instance(_) => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_domain::auth::Caller;
    use persona_domain::ids::{OrgId, UserId};
    use persona_domain::ports::SideEffect;
    use persona_domain::time::Timestamp;

    fn record(expires_at: Option<i64>) -> TokenRecord {
        TokenRecord {
            caller: Caller { user_id: UserId::new("u"), org_id: OrgId::new("o"), memberships: Vec::new() },
            expires_at: expires_at.map(Timestamp::from_unix_micros),
            revoked: false,
            user_removed: false,
        }
    }

    #[test]
    fn a_stored_record_is_served_and_the_domain_still_sees_its_expiry() {
        let cache = CallerCache::new(Duration::from_secs(60));
        let token = TokenHash::of("t");
        let miss = cache.get(&token).expect_err("empty");
        cache.store(miss, &token, &record(Some(2_000)));
        let cached = cache.get(&token).expect("cached");
        assert_eq!(cached, record(Some(2_000)));
        assert!(cached.clone().caller_at(Timestamp::from_unix_micros(1_000)).is_some());
        assert!(cached.caller_at(Timestamp::from_unix_micros(2_000)).is_none(), "expired token");
    }

    #[test]
    fn entries_go_stale_after_the_ttl() {
        let cache = CallerCache::new(Duration::from_millis(20));
        let token = TokenHash::of("t");
        let miss = cache.get(&token).expect_err("empty");
        cache.store(miss, &token, &record(None));
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get(&token).is_err());
    }

    #[test]
    fn a_commit_with_side_effects_empties_the_cache_and_voids_lookups_in_flight() {
        let cache = CallerCache::new(Duration::from_secs(60));
        let (a, b) = (TokenHash::of("a"), TokenHash::of("b"));
        let miss = cache.get(&a).expect_err("empty");
        cache.store(miss, &a, &record(None));
        let in_flight = cache.get(&b).expect_err("empty");
        let revoke = Commit {
            editor: UserId::new("admin"),
            changes: Vec::new(),
            side_effects: vec![SideEffect::RevokeTokensOf(UserId::new("u"))],
        };
        assert!(affects_callers(&revoke));
        cache.invalidate();
        assert!(cache.get(&a).is_err(), "emptied");
        cache.store(in_flight, &b, &record(None));
        assert!(cache.get(&b).is_err(), "a lookup that raced with the commit is not stored");
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = CallerCache::new(Duration::ZERO);
        let token = TokenHash::of("t");
        let miss = cache.get(&token).expect_err("empty");
        cache.store(miss, &token, &record(None));
        assert!(cache.get(&token).is_err());
    }
}
