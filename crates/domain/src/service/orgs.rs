//! The org use cases: `AddOrg`, `GetMyOrg`, `AddOrgMember`.

use super::retry::{Deciding, Decision};
use super::{Created, ObjectDetails, RequestMeta, Service, read_details, replay_error, store_error};
use crate::auth::{Membership, Permission, Role, covers, ensure_covers};
use crate::commands::{validate_member, validate_org_name};
use crate::error::Error;
use crate::events::{EventPayload, MemberAdded, OrgAdded};
use crate::ids::OrgId;
use crate::org::{Org, primary_domain};
use crate::ports::{AggregateChange, AggregateState, Commit, SideEffect, Store};

impl<S: Store> Service<S> {
    /// `AddOrg`: a new org with the caller as its `ORG_OWNER`.
    ///
    /// # Errors
    /// Validation, authorisation (`org.create`), storage.
    pub async fn add_org(&self, meta: &RequestMeta<'_>, name: &str) -> Result<Created, Error> {
        let auth = self.authorize(meta, Permission::OrgCreate).await?;
        let name = validate_org_name(name)?;
        let now = self.now();
        let org_id = OrgId::new(self.next_id());
        let membership =
            Membership { user_id: auth.user_id.clone(), org_id: Some(org_id.clone()), roles: vec![Role::OrgOwner] };
        let events = vec![
            EventPayload::OrgAdded(OrgAdded {
                primary_domain: primary_domain(&name, &self.inner.config.instance_domain),
                name,
            }),
            EventPayload::OrgMemberAdded(MemberAdded {
                user_id: auth.user_id.as_str().to_owned(),
                roles: vec![Role::OrgOwner.name().to_owned()],
            }),
        ];
        let (change, org) =
            AggregateChange::create::<Org>(org_id.as_str(), &org_id, events, now).map_err(replay_error)?;
        if meta.validate_only {
            return Ok(Created { id: org_id.into_string(), details: read_details(now, now, org.sequence, &org.id) });
        }
        let commit = Commit {
            editor: auth.user_id.clone(),
            changes: vec![change],
            side_effects: vec![SideEffect::PutMembership(membership)],
        };
        let committed = self.inner.store.commit(commit).await.map_err(store_error)?;
        Ok(Created {
            details: read_details(committed.at, committed.at, org.sequence, &org.id),
            id: org_id.into_string(),
        })
    }

    /// `GetMyOrg`: the org the request acts in.
    ///
    /// # Errors
    /// Authorisation, storage.
    pub async fn get_my_org(&self, meta: &RequestMeta<'_>) -> Result<Org, Error> {
        let auth = self.authorize(meta, Permission::OrgRead).await?;
        self.inner.store.org(&auth.org_id).await.map_err(store_error)?.ok_or_else(Error::org_not_found)
    }

    /// `AddOrgMember`: grants `ORG_*` roles in the org to one of its users. The caller must hold
    /// every permission the roles grant and every permission the user holds already, so that no
    /// grant is a way up; the member is guarded, so a user removed meanwhile gets no membership.
    ///
    /// # Errors
    /// Invalid roles, unknown user, `No matching permissions found (AUTH-5mWD2)`, an existing
    /// membership, authorisation, storage.
    pub async fn add_org_member(
        &self,
        meta: &RequestMeta<'_>,
        user_id: &str,
        roles: &[String],
    ) -> Result<ObjectDetails, Error> {
        let auth = self.authorize(meta, Permission::OrgMemberWrite).await?;
        let (user_id, roles) = validate_member(user_id, roles)?;
        let decide = |org: Org| -> Deciding<'_> {
            let (user_id, roles, auth) = (&user_id, &roles, &auth);
            Box::pin(async move {
                let member = self.inner.store.user(user_id).await.map_err(store_error)?;
                let member =
                    member.filter(|user| user.is_visible_in(&auth.org_id)).ok_or_else(Error::member_user_not_found)?;
                let held = self.inner.store.memberships(&member.id).await.map_err(store_error)?;
                ensure_covers(&auth.memberships, &held)?;
                if !covers(&auth.memberships, roles, Some(&auth.org_id)) {
                    return Err(Error::permission_missing());
                }
                let event = EventPayload::OrgMemberAdded(MemberAdded {
                    user_id: user_id.as_str().to_owned(),
                    roles: roles.iter().map(|r| r.name().to_owned()).collect(),
                });
                let membership =
                    Membership { user_id: user_id.clone(), org_id: Some(org.id.clone()), roles: roles.clone() };
                Ok(Decision {
                    events: vec![event],
                    side_effects: vec![SideEffect::PutMembership(membership)],
                    // A member removed meanwhile must not keep a membership.
                    others: vec![AggregateChange::guard(AggregateState::User(member))],
                })
            })
        };
        let executed =
            self.execute(meta, &auth.user_id, &auth.org_id, |_: &Org| true, Error::org_not_found, decide).await?;
        Ok(executed.details(self.now()))
    }
}
