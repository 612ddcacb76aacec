//! ZITADEL's v2 user service over the same users, events and history as v1 (CONTRACT section
//! 7). What differs from v1: users are active at once; updates are partial and an update that
//! changes nothing succeeds without an event; the org of a new user comes from the request,
//! the header or the caller; reads and commands find a user anywhere in the instance and check
//! the permission in the user's own org, so a user the caller may not see looks unknown.

use super::{Created, ObjectDetails, RequestMeta, Sees, Service, store_error};
use crate::auth::{Authorized, Permission, holds};
use crate::commands::{NewHumanRequest, UnsupportedHumanFields, validate_user_id};
use crate::error::Error;
use crate::events::{CodeAdded, EventPayload};
use crate::ids::{OrgId, UserId};
use crate::org::OrgState;
use crate::patch::{IssuedCodes, UserPatch, Verification};
use crate::ports::Store;
use crate::query::{OrgScope, SortField, UserFilter, UserPage, UserSearch};
use crate::service::privilege::Reach;
use crate::user::User;

/// The most results one `ListUsers` page holds, and the default.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// Results per page when the request names no limit.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// How deep a search's and/or/not tree may nest, and how many conditions it may hold.
const MAX_FILTER_DEPTH: usize = 8;
const MAX_FILTER_NODES: usize = 256;

/// The org a new user is created in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRef {
    /// By id.
    Id(String),
    /// By primary domain.
    Domain(String),
}

/// Parts of v2's `AddHumanUser` that Persona does not store: refused by name, never dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsupportedV2Fields {
    /// `password`.
    pub password: bool,
    /// `hashed_password`.
    pub hashed_password: bool,
    /// `idp_links`.
    pub idp_links: bool,
    /// `totp_secret`.
    pub totp_secret: bool,
    /// `metadata`.
    pub metadata: bool,
}

/// v2's `AddHumanUser`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewHumanV2 {
    /// A chosen id, else one is generated.
    pub user_id: Option<String>,
    /// The org, else the `x-zitadel-orgid` header's, else the caller's.
    pub organization: Option<OrgRef>,
    /// The user: `user_name` empty means the email address; the verified flags are ignored
    /// in favour of the verifications below.
    pub human: NewHumanRequest,
    /// Whether the user name was given (v2's `username` is optional).
    pub user_name_given: bool,
    /// How the email is verified.
    pub email_verification: Verification,
    /// How the phone is verified.
    pub phone_verification: Verification,
    /// What Persona cannot store.
    pub unsupported: UnsupportedV2Fields,
}

/// A user created through v2, with the codes it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedV2 {
    /// The id and details.
    pub created: Created,
    /// Codes under `return_code`.
    pub codes: IssuedCodes,
}

/// v2's `ListUsers`: the filter (the request's queries, all of which must hold), the order and
/// the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUsersRequest {
    /// The condition.
    pub filter: UserFilter,
    /// The order.
    pub sort: SortField,
    /// Ascending when true.
    pub ascending: bool,
    /// Results to skip.
    pub offset: u64,
    /// Results per page; 0 for the default (100), at most 1000.
    pub limit: u32,
}

fn nodes(filter: &UserFilter) -> usize {
    match filter {
        UserFilter::And(all) | UserFilter::Or(all) => 1 + all.iter().map(nodes).sum::<usize>(),
        UserFilter::Not(inner) => 1 + nodes(inner),
        UserFilter::InIds(ids) => 1 + ids.len(),
        UserFilter::InEmails(emails) => 1 + emails.len(),
        _ => 1,
    }
}

/// The page size a list asks for: the default for 0, at most [`MAX_LIST_LIMIT`].
pub(super) fn limit_of(limit: u32) -> Result<u32, Error> {
    match limit {
        0 => Ok(DEFAULT_LIST_LIMIT),
        n if n > MAX_LIST_LIMIT => Err(Error::query_limit_exceeded(MAX_LIST_LIMIT)),
        n => Ok(n),
    }
}

/// Refuses filter trees that nest too deep or hold too many conditions. The limits are on the
/// caller's trees: the `And` that joins the request's top-level queries is not one of them.
pub(super) fn check_list_request(request: &ListUsersRequest) -> Result<(), Error> {
    let trees = match &request.filter {
        UserFilter::And(all) => all.as_slice(),
        other => std::slice::from_ref(other),
    };
    let too_deep = trees.iter().any(|tree| tree.depth() > MAX_FILTER_DEPTH);
    if too_deep || trees.iter().map(nodes).sum::<usize>() > MAX_FILTER_NODES {
        return Err(Error::query_too_complex());
    }
    Ok(())
}

impl<S: Store> Service<S> {
    /// A fresh verification code: 8 characters from an alphabet without look-alikes.
    pub(super) fn verification_code(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut bytes = [0u8; 8];
        self.inner.random.fill(&mut bytes);
        bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
    }

    /// The org a v2 `AddHumanUser` acts in, as request metadata: `organization` wins over
    /// the header.
    async fn org_of_new_user(&self, organization: Option<&OrgRef>) -> Result<Option<String>, Error> {
        match organization {
            None => Ok(None),
            Some(OrgRef::Id(id)) if id.is_empty() => Ok(None),
            Some(OrgRef::Id(id)) => Ok(Some(id.clone())),
            Some(OrgRef::Domain(domain)) => {
                let org = self.inner.store.org_by_domain(domain).await.map_err(store_error)?;
                let org = org.filter(|o| o.state != OrgState::Removed).ok_or_else(Error::org_not_found_for_header)?;
                Ok(Some(org.id.as_str().to_owned()))
            }
        }
    }

    /// v2 `AddHumanUser`: active at once, in the org of `organization`, the header or the
    /// caller; `return_code` issues codes, `is_verified` sets the flags.
    ///
    /// # Errors
    /// Authorisation, validation (by JSON path), unsupported parts by name, `send_code`,
    /// `User already exists (V3-DKcYh)`, storage.
    pub async fn add_human_user_v2(&self, meta: &RequestMeta<'_>, request: &NewHumanV2) -> Result<CreatedV2, Error> {
        let org = self.org_of_new_user(request.organization.as_ref()).await?;
        let meta = RequestMeta { org_id: org.as_deref().or(meta.org_id), ..*meta };
        let auth = self.authorize(&meta, Permission::UserWrite).await?;
        let id = match &request.user_id {
            Some(id) => UserId::parse("userId", id)?,
            None => UserId::new(self.next_id()),
        };
        let mut human = request.human.clone();
        if !request.user_name_given {
            human.user_name = human.email.as_ref().map(|e| e.email.trim().to_owned()).unwrap_or_default();
        }
        let mut new = human.validate(&UnsupportedHumanFields::default(), &self.inner.config.languages)?;
        let u = &request.unsupported;
        let refused = [
            (u.password, "password"),
            (u.hashed_password, "hashed_password"),
            (u.idp_links, "idp_links"),
            (u.totp_secret, "totp_secret"),
            (u.metadata, "metadata"),
            (request.email_verification == Verification::SendCode, "email.send_code"),
            (request.phone_verification == Verification::SendCode, "phone.send_code"),
        ];
        if let Some((_, field)) = refused.into_iter().find(|(set, _)| *set) {
            return Err(Error::import_field_unsupported(field));
        }
        new.human.email.verified = request.email_verification == Verification::Verified;
        if let Some(phone) = &mut new.human.phone {
            phone.verified = request.phone_verification == Verification::Verified;
        }
        let has_phone = new.human.phone.is_some();
        let mut added = new.into_event();
        added.active = true;
        let mut events = vec![EventPayload::HumanAdded(added)];
        let mut codes = IssuedCodes::default();
        if request.email_verification == Verification::ReturnCode {
            let (code, hash) = self.issue_code();
            events.push(EventPayload::EmailCodeAdded(CodeAdded { code_hash: hash }));
            codes.email = Some(code);
        }
        if has_phone && request.phone_verification == Verification::ReturnCode {
            let (code, hash) = self.issue_code();
            events.push(EventPayload::PhoneCodeAdded(CodeAdded { code_hash: hash }));
            codes.phone = Some(code);
        }
        let created = self.create_user(&meta, &auth, &id, events).await?;
        Ok(CreatedV2 { created, codes })
    }

    /// A fresh code and the hash its event keeps.
    fn issue_code(&self) -> (String, String) {
        crate::patch::issued(&mut || self.verification_code())
    }

    /// The user `id` as a v2 reader with `permission` finds it anywhere in the instance.
    async fn permitted_user(&self, auth: &Authorized, id: &UserId, permission: Permission) -> Result<User, Error> {
        let user = self.inner.store.user(id).await.map_err(store_error)?;
        user.filter(|user| Sees::Permitted(permission).admits(auth, user)).ok_or_else(Error::user_not_found_query)
    }

    /// v2 `GetUserByID`.
    ///
    /// # Errors
    /// Authorisation, `User could not be found (QUERY-HNhb3)` for unknown, removed and
    /// unreadable users alike, storage.
    pub async fn get_user_v2(&self, meta: &RequestMeta<'_>, id: &str) -> Result<User, Error> {
        let auth = self.authorize(meta, Permission::UserRead).await?;
        let user_id = validate_user_id(id)?;
        self.permitted_user(&auth, &user_id, Permission::UserRead).await
    }

    /// v2 `UpdateHumanUser` and `UpdateUser`: only what `patch` holds changes; a patch that
    /// changes nothing writes nothing and answers the current details.
    ///
    /// # Errors
    /// Authorisation, validation, unsupported parts, `User could not be found (COMMAND-m9od)`
    /// for unknown and unwritable users alike, a user of the other kind, a taken user name,
    /// a stale `if-match`, storage.
    pub async fn patch_user(
        &self,
        meta: &RequestMeta<'_>,
        patch: &UserPatch,
    ) -> Result<(ObjectDetails, IssuedCodes), Error> {
        let auth = self.authorize(meta, Permission::UserWrite).await?;
        let valid = patch.validate(&self.inner.config.languages)?;
        let mut codes = IssuedCodes::default();
        let mut code = || self.verification_code();
        let decide = |current: &User| {
            let decision = valid.decide(current, &mut code)?;
            codes = decision.codes;
            Ok((decision.events, Vec::new()))
        };
        let sees = Sees::Permitted(Permission::UserWrite);
        let user_id = valid.user_id();
        let details =
            self.change_user(meta, &auth, user_id, sees, Reach::Profile, Error::user_not_found_command, decide).await?;
        Ok((details, codes))
    }

    /// v2 `DeleteUser`.
    ///
    /// # Errors
    /// As [`Service::remove_user`], with users found anywhere the caller may delete.
    pub async fn delete_user_v2(&self, meta: &RequestMeta<'_>, id: &str) -> Result<ObjectDetails, Error> {
        let auth = self.authorize(meta, Permission::UserDelete).await?;
        let user_id = validate_user_id(id)?;
        self.remove(meta, &auth, &user_id, Sees::Permitted(Permission::UserDelete)).await
    }

    /// v2 `ListUsers`: users of every org where the caller may read users (all orgs for an
    /// instance-wide reader), matching the filter, in order, one page, with the total.
    ///
    /// # Errors
    /// Authorisation, a limit above 1000, a filter too deep or too large, storage.
    pub async fn list_users_v2(&self, meta: &RequestMeta<'_>, request: ListUsersRequest) -> Result<UserPage, Error> {
        let auth = self.authorize(meta, Permission::UserRead).await?;
        let scope = if holds(&auth.memberships, Permission::UserRead, None) {
            OrgScope::All
        } else {
            let mut orgs: Vec<OrgId> = auth
                .memberships
                .iter()
                .filter_map(|m| m.org_id.clone())
                .filter(|org| holds(&auth.memberships, Permission::UserRead, Some(org)))
                .collect();
            orgs.sort();
            orgs.dedup();
            OrgScope::Orgs(orgs)
        };
        self.search_users(scope, request).await
    }

    /// `request` within `scope`, after the limits every list obeys (page size, filter size).
    pub(super) async fn search_users(&self, scope: OrgScope, request: ListUsersRequest) -> Result<UserPage, Error> {
        let limit = limit_of(request.limit)?;
        check_list_request(&request)?;
        let search = UserSearch {
            scope,
            filter: request.filter,
            sort: request.sort,
            ascending: request.ascending,
            offset: request.offset,
            limit,
        };
        self.inner.store.list_users(&search).await.map_err(store_error)
    }

    /// The current time, for list details.
    #[must_use]
    pub fn clock_now(&self) -> crate::time::Timestamp {
        self.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::commands::{AddMachineUserRequest, EmailInput, PhoneInput, ProfileInput};
    use crate::conformance::Fixture;
    use crate::memory::InMemoryStore;
    use crate::patch::{ContactPatch, KindPatch, ProfilePatch, ProfileRules};
    use crate::query::{TextField, TextMatch};
    use crate::user::UserState;

    fn new_human(user_name: &str, email: &str) -> NewHumanV2 {
        NewHumanV2 {
            human: NewHumanRequest {
                user_name: user_name.into(),
                profile: Some(ProfileInput {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    ..Default::default()
                }),
                email: Some(EmailInput { email: email.into(), is_email_verified: false }),
                phone: Some(PhoneInput { phone: "+41 79 555 01 00".into(), is_phone_verified: false }),
            },
            user_name_given: !user_name.is_empty(),
            ..NewHumanV2::default()
        }
    }

    fn profile_patch(user_id: &str, first_name: &str) -> UserPatch {
        UserPatch {
            user_id: user_id.into(),
            user_name: None,
            kind: KindPatch::Human {
                profile: Some(ProfilePatch { first_name: Some(first_name.into()), ..ProfilePatch::default() }),
                email: None,
                phone: None,
            },
            rules: ProfileRules::Optional,
            password: false,
            external_id: None,
            active: None,
        }
    }

    /// A caller holding `role` in a new org of its own, and that org.
    async fn org_caller(f: &Fixture<InMemoryStore>, name: &str, role: &str) -> (String, OrgId) {
        let org = f.service.add_org(&f.meta(), name).await.expect("org").id;
        let meta = RequestMeta { org_id: Some(&org), ..f.meta() };
        let bot = AddMachineUserRequest { user_name: format!("{name}-bot"), name: "Bot".into(), ..Default::default() };
        let bot = f.service.add_machine_user(&meta, bot).await.expect("machine").id;
        f.service.add_org_member(&meta, &bot, &[role.to_owned()]).await.expect("member");
        let token = f.service.add_personal_access_token(&meta, &bot, None).await.expect("token").token;
        (format!("Bearer {token}"), OrgId::new(org))
    }

    #[tokio::test]
    async fn v2_users_are_active_at_once_and_return_codes_leave_addresses_unverified() {
        let f = Fixture::new(InMemoryStore::default()).await;
        let mut request = new_human("", "Ada@Example.com");
        request.email_verification = Verification::ReturnCode;
        request.phone_verification = Verification::Verified;
        let created = f.service.add_human_user_v2(&f.meta(), &request).await.expect("added");
        let code = created.codes.email.expect("an email code");
        assert_eq!(code.len(), 8);
        assert!(created.codes.phone.is_none(), "the phone was vouched for, no code");
        let user = f.service.get_user_v2(&f.meta(), &created.created.id).await.expect("read");
        assert_eq!(user.state, UserState::Active, "v2 drops the initial state");
        assert_eq!(user.user_name, "Ada@Example.com", "no user name: the email address");
        let human = user.human().expect("human");
        assert!(!human.email.verified);
        assert_eq!(human.phone.as_ref().map(|p| (p.number.as_str(), p.verified)), Some(("+41795550100", true)));
        assert_eq!(user.sequence, 2, "the user and its code");
        assert!(created.created.details.creation_date.is_some());
    }

    #[tokio::test]
    async fn send_code_passwords_and_other_unstored_parts_are_refused_by_name() {
        let f = Fixture::new(InMemoryStore::default()).await;
        let mut request = new_human("ada", "ada@example.com");
        request.email_verification = Verification::SendCode;
        let error = f.service.add_human_user_v2(&f.meta(), &request).await.expect_err("send_code");
        assert_eq!((error.kind(), error.message().contains("email.send_code")), (ErrorKind::InvalidArgument, true));
        let mut request = new_human("ada", "ada@example.com");
        request.unsupported.totp_secret = true;
        let error = f.service.add_human_user_v2(&f.meta(), &request).await.expect_err("totp");
        assert!(error.message().contains("totp_secret"), "{error}");

        let created = f.service.add_human_user_v2(&f.meta(), &new_human("ada", "ada@example.com")).await.expect("ok");
        let mut patch = profile_patch(&created.created.id, "Grace");
        patch.password = true;
        let error = f.service.patch_user(&f.meta(), &patch).await.expect_err("password");
        assert!(error.message().contains("password"), "{error}");
        let stored = f.service.get_user_v2(&f.meta(), &created.created.id).await.expect("read");
        assert_eq!(stored.sequence, 1, "nothing written");
    }

    #[tokio::test]
    async fn a_partial_update_changes_only_what_it_holds_and_a_no_op_writes_nothing() {
        let f = Fixture::new(InMemoryStore::default()).await;
        let created = f.service.add_human_user_v2(&f.meta(), &new_human("ada", "ada@example.com")).await.expect("ok");
        let id = created.created.id;
        let (details, _) = f.service.patch_user(&f.meta(), &profile_patch(&id, "Grace")).await.expect("changed");
        assert_eq!(details.sequence, 2);
        let user = f.service.get_user_v2(&f.meta(), &id).await.expect("read");
        let profile = &user.human().expect("human").profile;
        assert_eq!((profile.first_name(), profile.last_name()), ("Grace", "Lovelace"), "the last name stays");

        let (again, _) = f.service.patch_user(&f.meta(), &profile_patch(&id, "Grace")).await.expect("no-op succeeds");
        assert_eq!(again.sequence, 2, "no event");
        assert_eq!(again.change_date, Some(user.changed_at), "the current details");
        let history = f.service.list_user_changes(&f.meta(), &id, 0, 0, true).await.expect("history");
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].event.payload.field_changes(), [("firstName", "Ada".to_owned(), "Grace".to_owned())]);
    }

    #[tokio::test]
    async fn user_name_email_and_phone_changes_are_events_in_the_v1_history() {
        let f = Fixture::new(InMemoryStore::default()).await;
        let id =
            f.service.add_human_user_v2(&f.meta(), &new_human("ada", "ada@example.com")).await.expect("ok").created.id;
        let patch = UserPatch {
            user_id: id.clone(),
            user_name: Some("ada.king".into()),
            kind: KindPatch::Human {
                profile: None,
                email: Some(ContactPatch { value: "ada@king.example".into(), verification: Verification::Verified }),
                phone: Some(ContactPatch { value: String::new(), verification: Verification::Unverified }),
            },
            rules: ProfileRules::Set,
            password: false,
            external_id: None,
            active: None,
        };
        f.service.patch_user(&f.meta(), &patch).await.expect("changed");
        let history = f.service.list_user_changes(&f.meta(), &id, 0, 0, true).await.expect("history");
        let types: Vec<&str> = history.iter().map(|e| e.event.payload.event_type()).collect();
        assert_eq!(
            types,
            [
                "user.human.added",
                "user.username.changed",
                "user.human.email.changed",
                "user.human.email.verified",
                "user.human.phone.removed"
            ]
        );
        let user = f.service.get_user_by_id(&f.meta(), &id).await.expect("v1 reads it");
        assert_eq!(user.user_name, "ada.king");
        assert!(user.human().is_some_and(|h| h.email.verified && h.phone.is_none()));

        f.service.add_human_user_v2(&f.meta(), &new_human("grace", "grace@example.com")).await.expect("ok");
        let mut taken = profile_patch(&id, "Ada");
        taken.user_name = Some("GRACE".into());
        let error = f.service.patch_user(&f.meta(), &taken).await.expect_err("taken");
        assert_eq!(error.kind(), ErrorKind::AlreadyExists);
    }

    #[tokio::test]
    async fn users_of_orgs_the_caller_may_not_read_look_unknown_and_are_not_listed() {
        let f = Fixture::new(InMemoryStore::default()).await;
        let (reader, org) = org_caller(&f, "A", "ORG_USER_MANAGER").await;
        let theirs = f.service.add_human_user_v2(&f.meta(), &new_human("ada", "ada@example.com")).await.expect("ok");
        let meta = RequestMeta { authorization: Some(&reader), ..RequestMeta::default() };
        let unknown = f.service.get_user_v2(&meta, "4711").await.expect_err("unknown");
        let foreign = f.service.get_user_v2(&meta, &theirs.created.id).await.expect_err("foreign");
        assert_eq!((foreign.kind(), foreign.message()), (unknown.kind(), unknown.message()));
        let update = f.service.patch_user(&meta, &profile_patch(&theirs.created.id, "Eve")).await.expect_err("foreign");
        assert_eq!(update.kind(), ErrorKind::NotFound);
        let delete = f.service.delete_user_v2(&meta, &theirs.created.id).await.expect_err("foreign");
        assert_eq!(delete.kind(), ErrorKind::NotFound);

        let mut own = new_human("grace", "grace@example.com");
        own.organization = Some(OrgRef::Id(org.as_str().to_owned()));
        let own = f.service.add_human_user_v2(&meta, &own).await.expect("in its own org");
        let all = ListUsersRequest {
            filter: UserFilter::And(Vec::new()),
            sort: SortField::UserName,
            ascending: true,
            offset: 0,
            limit: 0,
        };
        let page = f.service.list_users_v2(&meta, all.clone()).await.expect("list");
        let names: Vec<&str> = page.users.iter().map(|u| u.user_name.as_str()).collect();
        assert_eq!(names, ["A-bot", "grace"], "only its own org");
        let admin_page = f.service.list_users_v2(&f.meta(), all).await.expect("list");
        let everyone: Vec<&str> = admin_page.users.iter().map(|u| u.user_name.as_str()).collect();
        assert_eq!(everyone, ["A-bot", "ada", "admin", "grace"], "an instance owner sees every org");
        assert_eq!(own.created.details.resource_owner, org, "created in the org named by the request");
    }

    #[tokio::test]
    async fn a_search_may_nest_eight_deep_and_hold_256_conditions_besides_the_top_level_and() {
        let f = Fixture::new(InMemoryStore::default()).await;
        let leaf = UserFilter::Text { field: TextField::UserName, value: "admin".into(), method: TextMatch::Equals };
        let nested = |depth: usize| (1..depth).fold(leaf.clone(), |inner, _| UserFilter::Not(Box::new(inner)));
        let ids = |n: usize| UserFilter::InIds((0..n).map(|i| UserId::new(i.to_string())).collect());
        let request = |queries: Vec<UserFilter>| ListUsersRequest {
            filter: UserFilter::And(queries),
            sort: SortField::UserName,
            ascending: true,
            offset: 0,
            limit: 0,
        };
        let fits = [vec![nested(MAX_FILTER_DEPTH)], vec![ids(MAX_FILTER_NODES - 1)], vec![ids(127), ids(127)]];
        for queries in fits {
            assert!(f.service.list_users_v2(&f.meta(), request(queries)).await.is_ok());
        }
        let too_much = [vec![nested(MAX_FILTER_DEPTH + 1)], vec![ids(MAX_FILTER_NODES)], vec![ids(127), ids(128)]];
        for queries in too_much {
            let error = f.service.list_users_v2(&f.meta(), request(queries)).await.expect_err("refused");
            assert_eq!(error.id(), Some("PERSONA-QRY02"), "{error}");
        }
    }

    #[tokio::test]
    async fn list_users_filters_sorts_pages_and_refuses_oversized_pages() {
        let f = Fixture::new(InMemoryStore::default()).await;
        for name in ["carol", "alice", "bob"] {
            f.service.add_human_user_v2(&f.meta(), &new_human(name, &format!("{name}@Example.com"))).await.expect("ok");
        }
        let by_email = ListUsersRequest {
            filter: UserFilter::Text {
                field: TextField::Email,
                value: "BOB@example.COM".into(),
                method: TextMatch::EqualsIgnoreCase,
            },
            sort: SortField::UserName,
            ascending: true,
            offset: 0,
            limit: 10,
        };
        let page = f.service.list_users_v2(&f.meta(), by_email.clone()).await.expect("list");
        assert_eq!(page.users.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(), ["bob"]);
        let humans = ListUsersRequest {
            filter: UserFilter::Not(Box::new(UserFilter::Text {
                field: TextField::UserName,
                value: "admin".into(),
                method: TextMatch::Equals,
            })),
            offset: 1,
            limit: 1,
            ..by_email.clone()
        };
        let page = f.service.list_users_v2(&f.meta(), humans).await.expect("list");
        assert_eq!((page.total, page.users[0].user_name.as_str()), (3, "bob"), "second of alice, bob, carol");
        let error = f.service.list_users_v2(&f.meta(), ListUsersRequest { limit: 1001, ..by_email }).await;
        assert_eq!(error.expect_err("too many").kind(), ErrorKind::InvalidArgument);
    }
}
