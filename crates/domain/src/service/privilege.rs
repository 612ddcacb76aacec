//! No way up: commands that act on another user's credentials or memberships (minting a token,
//! removing the user, granting roles) need every permission that user holds, and the instance
//! always keeps an `IAM_OWNER`. The checks return guards so that they still hold when the
//! commit lands: the target's memberships are granted in its org, so the org's sequence is
//! checked; removing an instance member appends to the instance, so two removals race there.

use super::{Service, replay_error, store_error};
use crate::auth::{Authorized, Role, ensure_covers};
use crate::error::Error;
use crate::events::{EventPayload, MemberRemoved};
use crate::ports::{AggregateChange, AggregateState, Store};
use crate::user::User;

/// How far a command on a user reaches beyond the user's own row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// Its profile: the contract's permission is enough (a profile grants nothing).
    Profile,
    /// Its credentials (a new token): the caller must hold every permission the user holds.
    Credentials,
    /// The user itself (removal): as for credentials, and the last `IAM_OWNER` stays.
    Removal,
}

impl<S: Store> Service<S> {
    /// Checks `reach` for `auth` acting on `target` and returns the guards that keep the checks
    /// true until the commit.
    ///
    /// # Errors
    /// `No matching permissions found (AUTH-5mWD2)` when the target holds a permission the
    /// caller lacks; `PERSONA-OWN01` when removal would leave the instance without an owner.
    pub(super) async fn reach_guards(
        &self,
        auth: &Authorized,
        target: &User,
        reach: Reach,
    ) -> Result<Vec<AggregateChange>, Error> {
        if reach == Reach::Profile {
            return Ok(Vec::new());
        }
        let store = &self.inner.store;
        let held = store.memberships(&target.id).await.map_err(store_error)?;
        ensure_covers(&auth.memberships, &held)?;
        let org = store.org(&target.org_id).await.map_err(store_error)?.ok_or_else(Error::org_not_found)?;
        let mut guards = vec![AggregateChange::guard(AggregateState::Org(org))];
        let instance_member = held.iter().any(|m| m.org_id.is_none());
        if reach == Reach::Removal && instance_member {
            guards.push(self.instance_member_removal(target, &held).await?);
        }
        Ok(guards)
    }

    /// The instance's record of `target` losing its instance-wide roles, refused when it is the
    /// last `IAM_OWNER`.
    async fn instance_member_removal(
        &self,
        target: &User,
        held: &[crate::auth::Membership],
    ) -> Result<AggregateChange, Error> {
        let store = &self.inner.store;
        let is_owner = |roles: &[Role]| roles.contains(&Role::IamOwner);
        if held.iter().any(|m| m.org_id.is_none() && is_owner(&m.roles)) {
            let others = store.instance_memberships().await.map_err(store_error)?;
            if !others.iter().any(|m| m.user_id != target.id && is_owner(&m.roles)) {
                return Err(Error::last_instance_owner());
            }
        }
        let instance = store.instance().await.map_err(store_error)?.ok_or_else(Error::instance_not_set_up)?;
        let event = EventPayload::InstanceMemberRemoved(MemberRemoved { user_id: target.id.as_str().to_owned() });
        Ok(AggregateChange::update(&instance, vec![event], self.now()).map_err(replay_error)?.0)
    }
}
