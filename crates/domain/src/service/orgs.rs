//! The org use cases: `AddOrg`, `GetMyOrg`, `AddOrgMember`.

use super::{Created, ObjectDetails, RequestMeta, Service, read_details, store_error};
use crate::auth::{Membership, Permission, Role};
use crate::commands::{validate_member, validate_org_name};
use crate::error::Error;
use crate::events::{EventPayload, MemberAdded, OrgAdded};
use crate::ids::OrgId;
use crate::org::{Org, OrgState, primary_domain};
use crate::ports::{AggregateChange, AggregateState, Commit, SideEffect, Store, StoreError};

impl<S: Store> Service<S> {
    /// `AddOrg`: a new org with the caller as its `ORG_OWNER`.
    ///
    /// # Errors
    /// Validation, authorisation (`org.create`), storage.
    pub async fn add_org(&self, meta: &RequestMeta<'_>, name: &str) -> Result<Created, Error> {
        let name = validate_org_name(name)?;
        let auth = self.authorize(meta, Permission::OrgCreate).await?;
        let now = self.now();
        let org_id = OrgId::new(self.next_id());
        let org = Org {
            id: org_id.clone(),
            primary_domain: primary_domain(&name, &self.inner.config.instance_domain),
            name,
            state: OrgState::Active,
            sequence: 2,
            created_at: now,
            changed_at: now,
        };
        let membership =
            Membership { user_id: auth.user_id.clone(), org_id: Some(org_id.clone()), roles: vec![Role::OrgOwner] };
        let events = vec![
            EventPayload::OrgAdded(OrgAdded { name: org.name.clone(), primary_domain: org.primary_domain.clone() }),
            EventPayload::OrgMemberAdded(MemberAdded {
                user_id: auth.user_id.as_str().to_owned(),
                roles: vec![Role::OrgOwner.name().to_owned()],
            }),
        ];
        if meta.validate_only {
            return Ok(Created {
                id: org_id.into_string(),
                details: read_details(now, now, 2, &OrgId::new(org.id.as_str())),
            });
        }
        let commit = Commit {
            editor: auth.user_id.clone(),
            changes: vec![AggregateChange { expected_sequence: 0, state: AggregateState::Org(org), events }],
            side_effects: vec![SideEffect::PutMembership(membership)],
        };
        let committed = self.inner.store.commit(commit).await.map_err(store_error)?;
        Ok(Created { details: read_details(committed.at, committed.at, 2, &org_id), id: org_id.into_string() })
    }

    /// `GetMyOrg`: the org the request acts in.
    ///
    /// # Errors
    /// Authorisation, storage.
    pub async fn get_my_org(&self, meta: &RequestMeta<'_>) -> Result<Org, Error> {
        let auth = self.authorize(meta, Permission::OrgRead).await?;
        self.inner.store.org(&auth.org_id).await.map_err(store_error)?.ok_or_else(Error::org_not_found)
    }

    /// `AddOrgMember`: grants `ORG_*` roles in the org to one of its users.
    ///
    /// # Errors
    /// Invalid roles, unknown user, an existing membership, authorisation, storage.
    pub async fn add_org_member(
        &self,
        meta: &RequestMeta<'_>,
        user_id: &str,
        roles: &[String],
    ) -> Result<ObjectDetails, Error> {
        let (user_id, roles) = validate_member(user_id, roles)?;
        let auth = self.authorize(meta, Permission::OrgMemberWrite).await?;
        let member = self.inner.store.user(&user_id).await.map_err(store_error)?;
        if !member.is_some_and(|user| user.is_visible_in(&auth.org_id)) {
            return Err(Error::member_user_not_found());
        }
        let _guard = self.inner.locks.lock(auth.org_id.as_str()).await;
        for attempt in 0..self.attempts(None) {
            let (org, lock) = self.read_org(attempt, &auth.org_id).await?;
            let org = org.ok_or_else(Error::org_not_found)?;
            let mut next = org.clone();
            next.sequence += 1;
            let event = EventPayload::OrgMemberAdded(MemberAdded {
                user_id: user_id.as_str().to_owned(),
                roles: roles.iter().map(|r| r.name().to_owned()).collect(),
            });
            if meta.validate_only {
                return Ok(ObjectDetails {
                    sequence: next.sequence,
                    creation_date: None,
                    change_date: Some(self.now()),
                    resource_owner: org.id,
                });
            }
            let membership =
                Membership { user_id: user_id.clone(), org_id: Some(org.id.clone()), roles: roles.clone() };
            let sequence = next.sequence;
            let commit = Commit {
                editor: auth.user_id.clone(),
                changes: vec![AggregateChange {
                    expected_sequence: org.sequence,
                    state: AggregateState::Org(next),
                    events: vec![event],
                }],
                side_effects: vec![SideEffect::PutMembership(membership)],
            };
            match self.commit_attempt(lock, commit).await {
                Ok(committed) => {
                    return Ok(ObjectDetails {
                        sequence,
                        creation_date: None,
                        change_date: Some(committed.at),
                        resource_owner: org.id,
                    });
                }
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(store_error(other)),
            }
        }
        Err(Error::too_much_contention())
    }
}
