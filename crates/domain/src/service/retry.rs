//! How a command tries again after losing a race to another writer — another instance on the
//! same database; within one process the per-aggregate locks make writers take turns.
//!
//! The first attempt is optimistic: it reads, decides and commits through the store's shared
//! commit queue (group commit), guarded by the sequence it read. Each later attempt reads the
//! aggregate under the store's exclusive lock ([`AggregateLock`]) and commits in that locked
//! transaction, so the other writers wait for it and it cannot lose again. Re-reading
//! optimistically, at once or after a jittered backoff, kept losing to an instance that always
//! has the next update of the same user in flight (README, "Several instances").

use super::{Service, store_error};
use crate::error::Error;
use crate::ids::{OrgId, UserId};
use crate::org::Org;
use crate::ports::{AggregateLock, Commit, Committed, Store, StoreError};
use crate::user::User;

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
