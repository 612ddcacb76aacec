//! How a command tries again after losing a race to another writer — another instance on the
//! same database; within one process the per-aggregate locks make writers take turns.
//!
//! The first attempt is optimistic: it reads, decides and commits through the store's shared
//! commit queue (group commit), guarded by the sequence it read. Each later attempt reads the
//! aggregate under the store's exclusive lock ([`AggregateLock`]) and commits in that locked
//! transaction, so the other writers wait for it and it cannot lose again. Re-reading
//! optimistically, at once or after a jittered backoff, kept losing to an instance that always
//! has the next update of the same user in flight (README, "Several instances").

use super::{ObjectDetails, RequestMeta, Service, parse_if_match, replay_error, store_error};
use crate::aggregate::Aggregate;
use crate::error::Error;
use crate::events::EventPayload;
use crate::ids::{OrgId, UserId};
use crate::org::Org;
use crate::ports::{
    AggregateChange, AggregateLock, Commit, Committed, INSTANCE_ID, Instance, SideEffect, Store, StoreError,
};
use crate::time::Timestamp;
use crate::user::User;
use std::future::Future;

impl<S: Store> Service<S> {
    /// User `id` as attempt `attempt` (0 is the first) reads it: plainly, or under its lock.
    pub(super) async fn read_user(&self, attempt: u32, id: &UserId) -> Result<(Option<User>, Option<S::Lock>), Error> {
        if attempt == 0 {
            return Ok((self.inner.store.user(id).await.map_err(store_error)?, None));
        }
        let (user, lock) = self.inner.store.lock_user(id).await.map_err(store_error)?;
        Ok((user, Some(lock)))
    }

    /// Org `id` as attempt `attempt` reads it, like [`Service::read_user`].
    pub(super) async fn read_org(&self, attempt: u32, id: &OrgId) -> Result<(Option<Org>, Option<S::Lock>), Error> {
        if attempt == 0 {
            return Ok((self.inner.store.org(id).await.map_err(store_error)?, None));
        }
        let (org, lock) = self.inner.store.lock_org(id).await.map_err(store_error)?;
        Ok((org, Some(lock)))
    }

    /// Commits through the lock the attempt read under, or through the shared queue.
    pub(super) async fn commit_attempt(&self, lock: Option<S::Lock>, commit: Commit) -> Result<Committed, StoreError> {
        match lock {
            Some(lock) => lock.commit(commit).await,
            None => self.inner.store.commit(commit).await,
        }
    }
}

/// An aggregate a command can act on: how each attempt reads it.
pub(super) trait Loadable: Aggregate + Send + Sync {
    /// Its id.
    type Id: Sync + ?Sized;

    /// The in-process lock key of `id`.
    fn lock_key(id: &Self::Id) -> &str;

    /// The aggregate as attempt `attempt` reads it (under the store's lock after a lost race,
    /// where the store offers one).
    fn read<S: Store>(
        service: &Service<S>,
        attempt: u32,
        id: &Self::Id,
    ) -> impl Future<Output = Result<(Option<Self>, Option<S::Lock>), Error>> + Send;
}

impl Loadable for User {
    type Id = UserId;

    fn lock_key(id: &UserId) -> &str {
        id.as_str()
    }

    async fn read<S: Store>(
        service: &Service<S>,
        attempt: u32,
        id: &UserId,
    ) -> Result<(Option<Self>, Option<S::Lock>), Error> {
        service.read_user(attempt, id).await
    }
}

impl Loadable for Org {
    type Id = OrgId;

    fn lock_key(id: &OrgId) -> &str {
        id.as_str()
    }

    async fn read<S: Store>(
        service: &Service<S>,
        attempt: u32,
        id: &OrgId,
    ) -> Result<(Option<Self>, Option<S::Lock>), Error> {
        service.read_org(attempt, id).await
    }
}

impl Loadable for Instance {
    type Id = str;

    fn lock_key(_: &str) -> &str {
        INSTANCE_ID
    }

    async fn read<S: Store>(service: &Service<S>, _: u32, _: &str) -> Result<(Option<Self>, Option<S::Lock>), Error> {
        Ok((service.inner.store.instance().await.map_err(store_error)?, None))
    }
}

/// A decision in progress: it may read more (a target's memberships) before it is made.
pub(super) type Deciding<'s> = std::pin::Pin<Box<dyn Future<Output = Result<Decision, Error>> + Send + 's>>;

/// What a command decided on the current state of its aggregate.
#[derive(Debug, Default)]
pub(super) struct Decision {
    /// Its events (the next state and sequence follow from them).
    pub(super) events: Vec<EventPayload>,
    /// Read-model writes beside the aggregate's row.
    pub(super) side_effects: Vec<SideEffect>,
    /// Changes of other aggregates in the same commit: guards of what the decision read, or an
    /// aggregate it creates.
    pub(super) others: Vec<AggregateChange>,
}

/// A command's result: the state after it, and the commit time
/// (`None` under validate-only, which writes nothing).
#[derive(Debug)]
pub(super) struct Executed<A> {
    pub(super) after: A,
    pub(super) committed_at: Option<Timestamp>,
    /// The decision had no events: nothing was written (v2's update that changes nothing).
    pub(super) unchanged: bool,
}

impl<A: Aggregate> Executed<A> {
    /// `ObjectDetails` of a change (no creation date).
    pub(super) fn details(&self, now: Timestamp) -> ObjectDetails {
        ObjectDetails {
            sequence: self.after.sequence(),
            creation_date: None,
            change_date: Some(if self.unchanged { self.after.changed_at() } else { self.committed_at.unwrap_or(now) }),
            resource_owner: self.after.key().1.clone(),
        }
    }
}

impl<S: Store> Service<S> {
    /// The one loop of every command on an existing aggregate: read it (under the in-process lock
    /// of its id), check it is `visible` and still at the `If-Match` sequence, `decide`, derive
    /// the next state from the events, commit guarded by the sequence read, and when another
    /// writer won, read and decide again (under the store's lock, see above). Validate-only stops
    /// before the commit.
    ///
    /// # Errors
    /// `missing()` for an absent or invisible aggregate, a stale precondition, whatever `decide`
    /// refuses, storage failures, and too much contention after the last attempt.
    pub(super) async fn execute<'s, A: Loadable>(
        &'s self,
        meta: &RequestMeta<'_>,
        editor: &UserId,
        id: &A::Id,
        visible: impl Fn(&A) -> bool + Send,
        missing: fn() -> Error,
        mut decide: impl FnMut(A) -> Deciding<'s> + Send,
    ) -> Result<Executed<A>, Error> {
        let precondition = meta.if_match.map(parse_if_match).transpose()?.flatten();
        let _turn = self.inner.locks.lock(A::lock_key(id)).await;
        for attempt in 0..self.attempts(precondition) {
            let (current, lock) = A::read(self, attempt, id).await?;
            let current = current.filter(|a| visible(a)).ok_or_else(missing)?;
            if let Some(expected) = precondition
                && expected != current.sequence()
            {
                return Err(Error::precondition_failed(current.sequence()));
            }
            let decision = decide(current.clone()).await?;
            if decision.events.is_empty() && decision.side_effects.is_empty() && decision.others.is_empty() {
                return Ok(Executed { after: current, committed_at: None, unchanged: true });
            }
            let (change, after) =
                AggregateChange::update(&current, decision.events, self.now()).map_err(replay_error)?;
            if meta.validate_only {
                return Ok(Executed { after, committed_at: None, unchanged: false });
            }
            let mut changes = vec![change];
            changes.extend(decision.others);
            let commit = Commit { editor: editor.clone(), changes, side_effects: decision.side_effects };
            match self.commit_attempt(lock, commit).await {
                Ok(committed) => return Ok(Executed { after, committed_at: Some(committed.at), unchanged: false }),
                Err(StoreError::Conflict) if precondition.is_none() => {}
                Err(StoreError::Conflict) => {
                    let (now, _) = A::read(self, 0, id).await?;
                    return Err(Error::precondition_failed(now.map_or(0, |a| a.sequence())));
                }
                Err(other) => return Err(store_error(other)),
            }
        }
        Err(Error::too_much_contention())
    }
}
