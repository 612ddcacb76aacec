//! The application service: one method per use case of the wire contract. Every protocol calls
//! these, so authentication, org resolution, permissions, validation and the update rules hold
//! identically over REST, gRPC and gRPC-Web.

use crate::aggregate::ReplayError;
use crate::auth::{Authorized, Permission, TokenHash, authorize, bearer_token, requested_org};
use crate::commands::{
    AddMachineUserRequest, NewHumanRequest, UnsupportedHumanFields, validate_token_request, validate_user_id,
};
use crate::error::Error;
use crate::events::{Event, EventPayload};
use crate::ids::{IdGenerator, OrgId, TokenId, UserId};
use crate::language::LanguagePolicy;
use crate::locks::KeyedLocks;
use crate::org::OrgState;
use crate::ports::{AggregateChange, Clock, Commit, EventPage, Random, SideEffect, Store, StoreError, UniqueKey};
use crate::profile::{Profile, UpdateHumanProfileRequest};
use crate::time::{Timestamp, WireTimestamp};
use crate::update::decide_profile_update;
use crate::user::{User, UserKind};
use std::collections::HashMap;
use std::sync::Arc;

mod bootstrap;
mod orgs;
mod retry;
mod scim;
mod users_v2;

use retry::Decision;

pub use bootstrap::{InstanceToken, InstanceTokenRequest, PreparedBootstrap};
pub use scim::NewProvisionedUser;
pub use users_v2::{CreatedV2, ListUsersRequest, NewHumanV2, OrgRef, UnsupportedV2Fields};
mod privilege;

use privilege::Reach;

/// Settings of the service that the rules depend on.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Which language tags are accepted.
    pub languages: LanguagePolicy,
    /// Suffix of org primary domains (`acme.<instance_domain>`).
    pub instance_domain: String,
    /// How often a command re-reads and retries after losing a race (without a precondition).
    pub max_attempts: u32,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self { languages: LanguagePolicy::any(), instance_domain: "localhost".to_owned(), max_attempts: 8 }
    }
}

/// What every request carries besides its message: headers or metadata.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestMeta<'a> {
    /// The `authorization` value.
    pub authorization: Option<&'a str>,
    /// The `x-zitadel-orgid` value.
    pub org_id: Option<&'a str>,
    /// The `if-match` value (`"7"`): act only if the object still has this sequence.
    pub if_match: Option<&'a str>,
    /// Run every check but write nothing.
    pub validate_only: bool,
}

/// `zitadel.v1.ObjectDetails`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDetails {
    /// The object's own event counter.
    pub sequence: u64,
    /// Set on creation and on reads.
    pub creation_date: Option<Timestamp>,
    /// Commit time of the last change.
    pub change_date: Option<Timestamp>,
    /// The owning org.
    pub resource_owner: OrgId,
}

/// A created object: its id and details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The new id.
    pub id: String,
    /// Its details, creation date included.
    pub details: ObjectDetails,
}

/// A new personal access token: shown once, stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Token id.
    pub token_id: TokenId,
    /// The secret to hand to the client.
    pub token: String,
    /// Details of the user's change.
    pub details: ObjectDetails,
}

/// One entry of a user's change history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    /// The event.
    pub event: Event,
    /// Display name of its editor, when the editor still exists.
    pub editor_display_name: String,
    /// Login name of its editor.
    pub editor_login_name: String,
}

/// What the first start on an empty database created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    /// The default org.
    pub org_id: OrgId,
    /// The admin machine user (instance owner).
    pub admin_id: UserId,
    /// The admin's personal access token: hand it to the operator once.
    pub admin_token: String,
}

/// Names for the first start.
#[derive(Debug, Clone)]
pub struct BootstrapConfig {
    /// Name of the default org.
    pub org_name: String,
    /// User name of the admin machine user.
    pub admin_user_name: String,
}

/// Default page size of `ListUserChanges`.
pub const DEFAULT_CHANGES_LIMIT: u32 = 100;
/// Largest page of `ListUserChanges`.
pub const MAX_CHANGES_LIMIT: u32 = 1000;

/// The application service, generic over its store. Cheap to clone.
pub struct Service<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Service<S> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

struct Inner<S> {
    store: S,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    ids: IdGenerator,
    config: ServiceConfig,
    locks: KeyedLocks,
}

/// A decided change of one user: its events and further writes. The next state and sequence
/// follow from the events ([`crate::aggregate`]).
type UserDecision = (Vec<EventPayload>, Vec<SideEffect>);

/// Events that do not fit their aggregate: a bug in a decision, never the caller's fault.
fn replay_error(error: ReplayError) -> Error {
    Error::storage_corrupt().with_cause(error.to_string())
}

fn store_error(error: StoreError) -> Error {
    match error {
        StoreError::Conflict => Error::too_much_contention(),
        StoreError::Duplicate(UniqueKey::UserName | UniqueKey::UserId) => Error::user_already_exists(),
        StoreError::Duplicate(UniqueKey::Membership) => Error::member_already_exists(),
        StoreError::Unavailable(cause) => Error::storage_unavailable().with_cause(cause),
        StoreError::Corrupt(cause) => Error::storage_corrupt().with_cause(cause),
        StoreError::Uncertain(cause) => Error::commit_uncertain().with_cause(cause),
    }
}

/// Parses an `If-Match` value: a strong ETag of a sequence (`"7"`), or `*` for "any".
fn parse_if_match(raw: &str) -> Result<Option<u64>, Error> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    let unquoted = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
    unquoted.parse().map(Some).map_err(|_| Error::if_match_invalid())
}

fn read_details(created_at: Timestamp, changed_at: Timestamp, sequence: u64, owner: &OrgId) -> ObjectDetails {
    ObjectDetails {
        sequence,
        creation_date: Some(created_at),
        change_date: Some(changed_at),
        resource_owner: owner.clone(),
    }
}

/// Which users a command on one user finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sees {
    /// v1: only users of the org the request acts in; others look missing.
    ResolvedOrg,
    /// v2: any user of the instance whose org grants the caller this permission; others look
    /// missing.
    Permitted(Permission),
}

impl Sees {
    /// Whether `auth` finds `user` (never a removed one).
    pub(super) fn admits(self, auth: &Authorized, user: &User) -> bool {
        match self {
            Self::ResolvedOrg => user.is_visible_in(&auth.org_id),
            Self::Permitted(permission) => {
                !user.is_removed() && crate::auth::holds(&auth.memberships, permission, Some(&user.org_id))
            }
        }
    }
}

impl<S: Store> Service<S> {
    /// A service over `store`, taking time from `clock` and secrets from `random`.
    pub fn new(store: S, clock: Arc<dyn Clock>, random: Arc<dyn Random>, config: ServiceConfig) -> Self {
        let mut node = [0u8; 2];
        random.fill(&mut node);
        let ids = IdGenerator::new(u16::from_le_bytes(node));
        Self { inner: Arc::new(Inner { store, clock, random, ids, config, locks: KeyedLocks::default() }) }
    }

    /// The store, for readiness checks.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn next_id(&self) -> String {
        self.inner.ids.next(self.now().unix_millis())
    }

    /// Authenticates the bearer token, resolves the org and checks `permission` in it. The
    /// resolved org is recorded as `resolved_org` on the current tracing span (the server's
    /// request span declares that field), so logs name the org a request acted in.
    ///
    /// # Errors
    /// The Unauthenticated, PermissionDenied and NotFound errors of CONTRACT section 5.
    pub async fn authorize(&self, meta: &RequestMeta<'_>, permission: Permission) -> Result<Authorized, Error> {
        let token = bearer_token(meta.authorization)?;
        let caller = self
            .inner
            .store
            .caller(&TokenHash::of(token), self.now())
            .await
            .map_err(store_error)?
            .ok_or_else(Error::token_invalid)?;
        let (org, from_header) = requested_org(&caller, meta.org_id);
        let org = OrgId::new(org);
        if from_header {
            let found = self.inner.store.org(&org).await.map_err(store_error)?;
            if !found.is_some_and(|o| o.state != OrgState::Removed) {
                return Err(Error::org_not_found_for_header());
            }
        }
        tracing::Span::current().record("resolved_org", org.as_str());
        authorize(&caller, &org, permission)
    }

    fn attempts(&self, precondition: Option<u64>) -> u32 {
        if precondition.is_some() { 1 } else { self.inner.config.max_attempts.max(1) }
    }

    /// A command on one user: [`Service::execute`] with the user's visibility (`sees`), the
    /// checks of `reach` (and their guards), and `decide`.
    #[expect(clippy::too_many_arguments, reason = "each is one independent part of the command")]
    async fn change_user<F>(
        &self,
        meta: &RequestMeta<'_>,
        auth: &Authorized,
        user_id: &UserId,
        sees: Sees,
        reach: Reach,
        missing: fn() -> Error,
        mut decide: F,
    ) -> Result<ObjectDetails, Error>
    where
        F: FnMut(&User) -> Result<UserDecision, Error> + Send,
    {
        let visible = |user: &User| sees.admits(auth, user);
        let decide = |current: User| -> retry::Deciding<'_> {
            // Decided now, reported after the reach's checks (their refusal comes first).
            let decided = decide(&current);
            Box::pin(async move {
                let others = self.reach_guards(auth, &current, reach).await?;
                let (events, side_effects) = decided?;
                Ok(Decision { events, side_effects, others })
            })
        };
        let executed = self.execute(meta, &auth.user_id, user_id, visible, missing, decide).await?;
        Ok(executed.details(self.now()))
    }

    /// `UpdateHumanProfile`: the heart of Persona (CONTRACT section 3).
    ///
    /// # Errors
    /// Validation (InvalidArgument), authorisation, `Profile not found`, `Profile not changed`,
    /// a stale `if-match` (Aborted), storage failures.
    pub async fn update_human_profile(
        &self,
        meta: &RequestMeta<'_>,
        request: &UpdateHumanProfileRequest,
    ) -> Result<ObjectDetails, Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let (user_id, profile) = request.validate(&self.inner.config.languages)?;
        let decide = |current: &User| {
            let changed = decide_profile_update(Some(current), &auth.org_id, &profile)?;
            Ok((vec![EventPayload::ProfileChanged(changed)], Vec::new()))
        };
        let details = self
            .change_user(meta, &auth, &user_id, Sees::ResolvedOrg, Reach::Profile, Error::profile_not_found, decide)
            .await?;
        Ok(details)
    }

    /// `GetHumanProfile`.
    ///
    /// # Errors
    /// `User could not be found (QUERY-HNhb3)`; `The User must be personal (QUERY-WLTce)`.
    pub async fn get_human_profile(
        &self,
        meta: &RequestMeta<'_>,
        user_id: &str,
    ) -> Result<(ObjectDetails, Profile), Error> {
        let user = self.visible_user(meta, user_id).await?;
        let human = user.human().ok_or_else(Error::user_must_be_personal)?;
        Ok((read_details(user.created_at, user.changed_at, user.sequence, &user.org_id), human.profile.clone()))
    }

    /// `GetUserByID`.
    ///
    /// # Errors
    /// `User could not be found (QUERY-HNhb3)` for missing, foreign or removed users.
    pub async fn get_user_by_id(&self, meta: &RequestMeta<'_>, id: &str) -> Result<User, Error> {
        self.visible_user(meta, id).await
    }

    /// The user `id` as a reader acting in its org sees it.
    async fn visible_user(&self, meta: &RequestMeta<'_>, id: &str) -> Result<User, Error> {
        let auth = self.authorize(meta, Permission::UserRead).await?;
        let user_id = validate_user_id(id)?;
        self.inner
            .store
            .user(&user_id)
            .await
            .map_err(store_error)?
            .filter(|user| user.is_visible_in(&auth.org_id))
            .ok_or_else(Error::user_not_found_query)
    }

    /// `ObjectDetails` of a user as reads report them.
    #[must_use]
    pub fn user_details(user: &User) -> ObjectDetails {
        read_details(user.created_at, user.changed_at, user.sequence, &user.org_id)
    }

    async fn create_user(
        &self,
        meta: &RequestMeta<'_>,
        auth: &Authorized,
        id: &UserId,
        events: Vec<EventPayload>,
    ) -> Result<Created, Error> {
        let now = self.now();
        let (change, user) =
            AggregateChange::create::<User>(id.as_str(), &auth.org_id, events, now).map_err(replay_error)?;
        if meta.validate_only {
            return Ok(Created { id: id.as_str().to_owned(), details: Self::user_details(&user) });
        }
        let commit = Commit { editor: auth.user_id.clone(), changes: vec![change], side_effects: Vec::new() };
        let committed = self.inner.store.commit(commit).await.map_err(|error| match error {
            StoreError::Conflict => Error::user_already_exists(),
            other => store_error(other),
        })?;
        let details = read_details(committed.at, committed.at, user.sequence, &user.org_id);
        Ok(Created { id: id.as_str().to_owned(), details })
    }

    /// `AddHumanUser`.
    ///
    /// # Errors
    /// Validation errors, `User already exists (V3-DKcYh)`, authorisation, storage.
    pub async fn add_human_user(
        &self,
        meta: &RequestMeta<'_>,
        request: &NewHumanRequest,
        unsupported: &UnsupportedHumanFields,
    ) -> Result<Created, Error> {
        self.new_human(meta, request, unsupported).await
    }

    /// `ImportHumanUser`: like add; unsupported fields are rejected, never dropped.
    ///
    /// # Errors
    /// As [`Service::add_human_user`].
    pub async fn import_human_user(
        &self,
        meta: &RequestMeta<'_>,
        request: &NewHumanRequest,
        unsupported: &UnsupportedHumanFields,
    ) -> Result<Created, Error> {
        self.new_human(meta, request, unsupported).await
    }

    async fn new_human(
        &self,
        meta: &RequestMeta<'_>,
        request: &NewHumanRequest,
        unsupported: &UnsupportedHumanFields,
    ) -> Result<Created, Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let human = request.validate(unsupported, &self.inner.config.languages)?;
        let id = UserId::new(self.next_id());
        self.create_user(meta, &auth, &id, vec![EventPayload::HumanAdded(human.into_event())]).await
    }

    /// `AddMachineUser`.
    ///
    /// # Errors
    /// Validation errors, `User already exists (V3-DKcYh)` (name or chosen id taken), storage.
    pub async fn add_machine_user(
        &self,
        meta: &RequestMeta<'_>,
        request: AddMachineUserRequest,
    ) -> Result<Created, Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let (id, event) = request.into_event(self.next_id())?;
        self.create_user(meta, &auth, &id, vec![EventPayload::MachineAdded(event)]).await
    }

    /// `RemoveUser`: the user disappears from reads, frees its name, and its tokens and
    /// memberships stop working.
    ///
    /// # Errors
    /// `User could not be found (COMMAND-m9od)`, authorisation, storage.
    pub async fn remove_user(&self, meta: &RequestMeta<'_>, id: &str) -> Result<ObjectDetails, Error> {
        let auth = self.authorize(meta, Permission::UserDelete).await?;
        let user_id = validate_user_id(id)?;
        self.remove(meta, &auth, &user_id, Sees::ResolvedOrg).await
    }

    /// Removes a user `auth` `sees`: its tokens and memberships go with it.
    async fn remove(
        &self,
        meta: &RequestMeta<'_>,
        auth: &Authorized,
        user_id: &UserId,
        sees: Sees,
    ) -> Result<ObjectDetails, Error> {
        let decide = |current: &User| {
            let effects = vec![
                SideEffect::RevokeTokensOf(current.id.clone()),
                SideEffect::RemoveMembershipsOf(current.id.clone()),
            ];
            Ok((vec![EventPayload::UserRemoved], effects))
        };
        self.change_user(meta, auth, user_id, sees, Reach::Removal, Error::user_not_found_command, decide).await
    }

    /// `AddPersonalAccessToken` for a machine user of the org whose permissions the caller holds
    /// too (a token for a more powerful user would be a way up).
    ///
    /// # Errors
    /// `User could not be found (COMMAND-m9od)`, `No matching permissions found (AUTH-5mWD2)`, a
    /// human user, an expiry that is not a valid timestamp or not in the future.
    pub async fn add_personal_access_token(
        &self,
        meta: &RequestMeta<'_>,
        user_id: &str,
        expiration: Option<WireTimestamp>,
    ) -> Result<NewToken, Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let (user_id, expires_at) = validate_token_request(user_id, expiration)?;
        if expires_at.is_some_and(|at| at <= self.now()) {
            return Err(Error::pat_expiration_in_past());
        }
        let (token, record, event) = self.new_token(&user_id, expires_at);
        let token_id = record.id.clone();
        let decide = |current: &User| {
            if !matches!(current.kind, UserKind::Machine(_)) {
                return Err(Error::pat_needs_machine_user());
            }
            Ok((vec![event.clone()], vec![SideEffect::PutToken(record.clone())]))
        };
        let details = self
            .change_user(
                meta,
                &auth,
                &user_id,
                Sees::ResolvedOrg,
                Reach::Credentials,
                Error::user_not_found_command,
                decide,
            )
            .await?;
        Ok(NewToken { token_id, token, details })
    }

    /// `ListUserChanges`: a page of the user's events with their editors.
    ///
    /// # Errors
    /// `User could not be found (QUERY-HNhb3)`, authorisation, storage.
    pub async fn list_user_changes(
        &self,
        meta: &RequestMeta<'_>,
        user_id: &str,
        cursor: u64,
        limit: u32,
        ascending: bool,
    ) -> Result<Vec<ChangeEntry>, Error> {
        let user = self.visible_user(meta, user_id).await?;
        let limit = match limit {
            0 => DEFAULT_CHANGES_LIMIT,
            n => n.min(MAX_CHANGES_LIMIT),
        };
        let page = EventPage { cursor, limit, ascending };
        let events = self.inner.store.user_events(&user.id, page).await.map_err(store_error)?;
        let mut editors: HashMap<UserId, (String, String)> = HashMap::new();
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            if !editors.contains_key(&event.editor) {
                let editor = self.inner.store.user(&event.editor).await.map_err(store_error)?;
                let names = editor.map_or_else(Default::default, |e| {
                    let display = match &e.kind {
                        UserKind::Human(h) => h.profile.display_name().to_owned(),
                        UserKind::Machine(m) => m.name.clone(),
                    };
                    (display, e.user_name)
                });
                editors.insert(event.editor.clone(), names);
            }
            let (display, login) = editors.get(&event.editor).cloned().unwrap_or_default();
            entries.push(ChangeEntry { event, editor_display_name: display, editor_login_name: login });
        }
        Ok(entries)
    }

    /// Whether the store is reachable and migrated.
    ///
    /// # Errors
    /// `Unavailable` when it is not.
    pub async fn ready(&self) -> Result<(), Error> {
        self.inner.store.ping().await.map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{Fixture, human, rename};
    use crate::memory::InMemoryStore;

    #[tokio::test]
    async fn a_lost_acknowledgement_is_unavailable_never_a_conflict_or_a_duplicate() {
        let store = InMemoryStore::default();
        let f = Fixture::new(store.clone()).await;
        let ada = f.add_human("ada").await;
        store.lose_acknowledgements(1);
        let error = f.service.update_human_profile(&f.meta(), &rename(&ada, "Grace")).await.expect_err("lost");
        assert_eq!((error.kind(), error.id()), (crate::ErrorKind::Unavailable, Some("PERSONA-DB003")));
        let stored = f.service.get_human_profile(&f.meta(), ada.as_str()).await.expect("read").1;
        assert_eq!(stored.first_name(), "Grace", "it had landed, as the message warns it may have");

        store.lose_acknowledgements(1);
        let unsupported = UnsupportedHumanFields::default();
        let error = f.service.add_human_user(&f.meta(), &human("grace"), &unsupported).await.expect_err("lost");
        assert_eq!(error.id(), Some("PERSONA-DB003"), "not 'User already exists': {error}");
    }

    #[tokio::test]
    async fn a_first_start_whose_acknowledgement_is_lost_keeps_its_admin_token() {
        let store = InMemoryStore::default();
        let service = Service::new(
            store.clone(),
            Arc::new(crate::memory::SystemClock),
            Arc::new(crate::memory::SeededRandom::new(3)),
            ServiceConfig::default(),
        );
        let config = BootstrapConfig { org_name: "Persona".into(), admin_user_name: "admin".into() };
        store.lose_acknowledgements(1);
        let prepared = service.prepare_bootstrap(&config).await.expect("prepared").expect("empty store");
        let token = prepared.admin_token().to_owned();
        let created = service.commit_bootstrap(prepared).await.expect("the outcome is learnt").expect("it landed");
        assert_eq!(created.admin_token, token);
        assert!(service.token_authenticates(&token).await.expect("read"));
        assert!(service.bootstrap(&config).await.expect("again").is_none(), "set up exactly once");
    }

    #[test]
    fn if_match_accepts_quoted_and_bare_sequences_and_star() {
        assert_eq!(parse_if_match("\"7\""), Ok(Some(7)));
        assert_eq!(parse_if_match("7"), Ok(Some(7)));
        assert_eq!(parse_if_match("*"), Ok(None));
        assert!(parse_if_match("W/\"7\"").is_err());
        assert!(parse_if_match("\"x\"").is_err());
    }
}
