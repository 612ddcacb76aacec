//! The use cases SCIM 2.0 provisioning (CONTRACT section 8) needs beyond v1 and v2: the org in
//! the path is the org a request acts in (as `x-zitadel-orgid` is), and only that org's users
//! exist for it — a user of another org is as unknown as a missing id. Creating a user may set
//! its external id and deactivate it in the same commit; partial updates are v2's
//! [`UserPatch`], found in the resolved org.

use super::{Created, ObjectDetails, RequestMeta, Sees, Service};
use crate::auth::Permission;
use crate::commands::{NewHumanRequest, UnsupportedHumanFields};
use crate::error::Error;
use crate::events::{EventPayload, ExternalIdChanged, FieldChange};
use crate::ids::UserId;
use crate::patch::UserPatch;
use crate::ports::Store;
use crate::query::{OrgScope, UserPage};
use crate::rules;
use crate::service::ListUsersRequest;
use crate::service::privilege::Reach;
use crate::user::User;
use crate::validation::Validator;

/// A user created by a provisioning client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewProvisionedUser {
    /// The user (a display name left empty becomes "First Last").
    pub human: NewHumanRequest,
    /// The client's identifier of the user, empty for none (..200).
    pub external_id: String,
    /// Whether the user is active; an inactive one is created and deactivated at once.
    pub active: bool,
}

impl<S: Store> Service<S> {
    /// Creates a human in the org the request acts in: active at once (as v2), with its
    /// external id, deactivated in the same commit when `active` is false.
    ///
    /// # Errors
    /// Authorisation, validation, `User already exists (V3-DKcYh)`, storage.
    pub async fn add_provisioned_user(
        &self,
        meta: &RequestMeta<'_>,
        request: &NewProvisionedUser,
    ) -> Result<Created, Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let new = request.human.validate(&UnsupportedHumanFields::default(), &self.inner.config.languages)?;
        let mut v = Validator::new();
        v.length("externalId", &request.external_id, rules::OPTIONAL_NAME);
        v.finish()?;
        let mut added = new.into_event();
        added.active = true;
        let mut events = vec![EventPayload::HumanAdded(added)];
        if !request.external_id.is_empty() {
            let external_id = FieldChange { old: String::new(), new: request.external_id.clone() };
            events.push(EventPayload::ExternalIdChanged(ExternalIdChanged { external_id }));
        }
        if !request.active {
            events.push(EventPayload::UserDeactivated);
        }
        let id = UserId::new(self.next_id());
        self.create_user(meta, &auth, &id, events).await
    }

    /// A partial update of a user of the org the request acts in; one that changes nothing
    /// writes nothing and answers the current details.
    ///
    /// # Errors
    /// As [`Service::patch_user`], with only the resolved org's users found.
    pub async fn patch_user_in_org(&self, meta: &RequestMeta<'_>, patch: &UserPatch) -> Result<ObjectDetails, Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let valid = patch.validate(&self.inner.config.languages)?;
        let mut code = || self.verification_code();
        let decide = |current: &User| Ok((valid.decide(current, &mut code)?.events, Vec::new()));
        let user_id = valid.user_id();
        self.change_user(meta, &auth, user_id, Sees::ResolvedOrg, Reach::Profile, Error::user_not_found_command, decide)
            .await
    }

    /// The users of the org the request acts in that match the filter, one page, with the total.
    ///
    /// # Errors
    /// Authorisation, a limit above 1000, a filter too deep or too large, storage.
    pub async fn list_users_in_org(
        &self,
        meta: &RequestMeta<'_>,
        request: ListUsersRequest,
    ) -> Result<UserPage, Error> {
        let auth = self.authorize(meta, Permission::UserRead).await?;
        self.search_users(OrgScope::Orgs(vec![auth.org_id]), request).await
    }
}
