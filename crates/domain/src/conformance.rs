//! The conformance suite of the [`Store`] port (feature `testing`): every store implementation
//! runs these same checks, the in-memory one here and the SeaORM one on SQLite and PostgreSQL.
//! Each check takes a fresh, empty store and panics when the store breaks the port's promise.
//! [`store_conformance!`](crate::store_conformance) turns them into `#[tokio::test]`s.

#![expect(
    clippy::expect_used,
    reason = "test code shipped for other crates' test suites: a failed step is a failed check"
)]

use crate::UpdateHumanProfileRequest;
use crate::auth::{Membership, PersonalAccessToken, Role, TokenHash};
use crate::commands::{EmailInput, NewHumanRequest, ProfileInput, UnsupportedHumanFields};
use crate::error::ErrorKind;
use crate::events::EventPayload;
use crate::ids::{OrgId, TokenId, UserId};
use crate::memory::{SeededRandom, SystemClock};
use crate::patch::{ContactPatch, KindPatch, MachinePatch, ProfileRules, UserPatch, Verification};
use crate::ports::{AggregateChange, AggregateLock, AggregateState, Commit, EventPage, SideEffect, Store, StoreError};
use crate::service::{BootstrapConfig, RequestMeta, Service, ServiceConfig};
use crate::time::Timestamp;
use crate::user::User;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// A bootstrapped service over `store`, with the admin's `authorization` value and org.
pub struct Fixture<S> {
    /// The service.
    pub service: Service<S>,
    /// `Bearer <admin token>`.
    pub admin: String,
    /// The admin's user id.
    pub admin_id: UserId,
    /// The default org.
    pub org: OrgId,
}

impl<S: Store> Fixture<S> {
    /// Bootstraps `store`.
    ///
    /// # Panics
    /// When the store cannot be set up.
    pub async fn new(store: S) -> Self {
        let service =
            Service::new(store, Arc::new(SystemClock), Arc::new(SeededRandom::new(7)), ServiceConfig::default());
        let boot = service
            .bootstrap(&BootstrapConfig { org_name: "Persona".into(), admin_user_name: "admin".into() })
            .await
            .expect("bootstrap works")
            .expect("an empty store is set up");
        Self { admin: format!("Bearer {}", boot.admin_token), admin_id: boot.admin_id, org: boot.org_id, service }
    }

    /// Request metadata of the admin.
    #[must_use]
    pub fn meta(&self) -> RequestMeta<'_> {
        RequestMeta { authorization: Some(&self.admin), ..RequestMeta::default() }
    }

    /// Adds a human named `user_name` and returns its id.
    ///
    /// # Panics
    /// When the add fails.
    pub async fn add_human(&self, user_name: &str) -> UserId {
        let request = human(user_name);
        let created = self
            .service
            .add_human_user(&self.meta(), &request, &UnsupportedHumanFields::default())
            .await
            .expect("add human");
        UserId::new(created.id)
    }
}

/// An add request for a human called Ada.
#[must_use]
pub fn human(user_name: &str) -> NewHumanRequest {
    NewHumanRequest {
        user_name: user_name.into(),
        profile: Some(ProfileInput {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            ..ProfileInput::default()
        }),
        email: Some(EmailInput { email: "ada@example.com".into(), is_email_verified: true }),
        phone: None,
    }
}

/// An update of `user` to the given first name.
#[must_use]
pub fn rename(user: &UserId, first_name: &str) -> UpdateHumanProfileRequest {
    UpdateHumanProfileRequest {
        user_id: user.as_str().into(),
        first_name: first_name.into(),
        last_name: "Lovelace".into(),
        display_name: "Ada Lovelace".into(),
        ..UpdateHumanProfileRequest::default()
    }
}

async fn user<S: Store>(store: &S, id: &UserId) -> User {
    store.user(id).await.expect("read").expect("user exists")
}

/// Set-up writes the instance, the org, the admin and its token, and the token authenticates
/// an instance owner.
pub async fn bootstrap_commit_is_read_back<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let instance = store.instance().await.expect("read").expect("instance exists");
    assert_eq!(instance.default_org_id, f.org);
    assert_eq!(instance.sequence, 2);
    let org = store.org(&f.org).await.expect("read").expect("org exists");
    assert_eq!(org.name, "Persona");
    let token = f.admin.trim_start_matches("Bearer ");
    let caller =
        store.caller(&TokenHash::of(token), Timestamp::from_unix_micros(0)).await.expect("read").expect("valid token");
    assert_eq!(caller.user_id, f.admin_id);
    assert_eq!(
        caller.memberships,
        vec![Membership { user_id: f.admin_id.clone(), org_id: None, roles: vec![Role::IamOwner] }]
    );
    let again =
        f.service.bootstrap(&BootstrapConfig { org_name: "Other".into(), admin_user_name: "root".into() }).await;
    assert_eq!(again, Ok(None), "a second start creates nothing");
}

/// A commit whose expected sequence is stale is a conflict and changes nothing.
pub async fn stale_sequence_is_a_conflict_and_writes_nothing<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    let before = user(&store, &id).await;
    let mut next = before.clone();
    next.user_name = "changed".into();
    next.sequence = 2;
    let commit = Commit {
        editor: f.admin_id.clone(),
        changes: vec![AggregateChange {
            expected_sequence: 7,
            state: AggregateState::User(next),
            events: vec![EventPayload::UserRemoved],
        }],
        side_effects: Vec::new(),
    };
    assert_eq!(store.commit(commit).await, Err(StoreError::Conflict));
    assert_eq!(user(&store, &id).await, before);
    let page = EventPage { cursor: 0, limit: 100, ascending: true };
    assert_eq!(store.user_events(&id, page).await.expect("read").len(), 1);
}

/// Creating an aggregate that exists already is a conflict.
pub async fn creating_an_existing_aggregate_is_a_conflict<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    let mut copy = user(&store, &id).await;
    copy.user_name = "someone-else".into();
    copy.sequence = 1;
    let commit = Commit {
        editor: f.admin_id.clone(),
        changes: vec![AggregateChange {
            expected_sequence: 0,
            state: AggregateState::User(copy),
            events: vec![EventPayload::UserRemoved],
        }],
        side_effects: Vec::new(),
    };
    assert_eq!(store.commit(commit).await, Err(StoreError::Conflict));
}

/// User names are unique without regard to case, and a removed user frees its name.
pub async fn user_names_are_unique_without_case_until_removed<S: Store>(store: S) {
    let f = Fixture::new(store).await;
    let id = f.add_human("Ada").await;
    let error = f
        .service
        .add_human_user(&f.meta(), &human("ada"), &UnsupportedHumanFields::default())
        .await
        .expect_err("taken");
    assert_eq!(error.message(), "User already exists (V3-DKcYh)");
    f.service.remove_user(&f.meta(), id.as_str()).await.expect("remove");
    f.add_human("ada").await;
}

/// A commit of several aggregates is all or nothing.
pub async fn a_failed_commit_writes_nothing_of_any_aggregate<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let existing = f.add_human("ada").await;
    let mut fresh = user(&store, &existing).await;
    fresh.id = UserId::new("fresh-user");
    fresh.user_name = "fresh".into();
    let mut stale = user(&store, &existing).await;
    stale.sequence = 10;
    let commit = Commit {
        editor: f.admin_id.clone(),
        changes: vec![
            AggregateChange {
                expected_sequence: 0,
                state: AggregateState::User(fresh),
                events: vec![EventPayload::UserRemoved],
            },
            AggregateChange {
                expected_sequence: 9,
                state: AggregateState::User(stale),
                events: vec![EventPayload::UserRemoved],
            },
        ],
        side_effects: vec![SideEffect::RevokeTokensOf(f.admin_id.clone())],
    };
    assert_eq!(store.commit(commit).await, Err(StoreError::Conflict));
    assert_eq!(store.user(&UserId::new("fresh-user")).await.expect("read"), None);
    let token = f.admin.trim_start_matches("Bearer ");
    assert!(
        store.caller(&TokenHash::of(token), Timestamp::from_unix_micros(0)).await.expect("read").is_some(),
        "side effects were rolled back"
    );
}

/// A second membership of the same user in the same org is a duplicate.
pub async fn duplicate_membership_is_reported<S: Store>(store: S) {
    let f = Fixture::new(store).await;
    let id = f.add_human("ada").await;
    f.service.add_org_member(&f.meta(), id.as_str(), &["ORG_OWNER".to_owned()]).await.expect("first membership");
    let error = f
        .service
        .add_org_member(&f.meta(), id.as_str(), &["ORG_USER_MANAGER".to_owned()])
        .await
        .expect_err("duplicate");
    assert_eq!(error.kind(), ErrorKind::AlreadyExists);
}

/// Event pages follow the cursor, the limit and the order.
pub async fn events_are_paged_by_cursor_limit_and_order<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    for name in ["B", "C", "D", "E"] {
        f.service.update_human_profile(&f.meta(), &rename(&id, name)).await.expect("update");
    }
    let sequences = |events: Vec<crate::events::Event>| events.into_iter().map(|e| e.sequence).collect::<Vec<_>>();
    let page = |cursor, limit, ascending| EventPage { cursor, limit, ascending };
    assert_eq!(sequences(store.user_events(&id, page(0, 100, true)).await.expect("read")), [1, 2, 3, 4, 5]);
    assert_eq!(sequences(store.user_events(&id, page(2, 2, true)).await.expect("read")), [3, 4]);
    assert_eq!(sequences(store.user_events(&id, page(0, 2, false)).await.expect("read")), [5, 4]);
    assert_eq!(sequences(store.user_events(&id, page(3, 100, false)).await.expect("read")), [2, 1]);
}

/// Revoked and expired tokens, and tokens of removed users, authenticate nobody.
pub async fn revoked_expired_and_orphaned_tokens_do_not_authenticate<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let machine = f
        .service
        .add_machine_user(
            &f.meta(),
            crate::commands::AddMachineUserRequest { user_name: "ci".into(), name: "CI".into(), ..Default::default() },
        )
        .await
        .expect("machine");
    let machine_id = UserId::new(machine.id);
    let now = crate::ports::Clock::now(&SystemClock);
    let soon = Timestamp::from_unix_micros(now.unix_micros() + 60_000_000);
    let (seconds, nanos) = soon.seconds_and_nanos();
    let expiration = Some(crate::time::WireTimestamp { seconds, nanos });
    let token = f.service.add_personal_access_token(&f.meta(), machine_id.as_str(), expiration).await.expect("pat");
    let hash = TokenHash::of(&token.token);
    assert!(store.caller(&hash, now).await.expect("read").is_some());
    assert!(store.caller(&hash, soon).await.expect("read").is_none(), "expired at its expiry");
    f.service.remove_user(&f.meta(), machine_id.as_str()).await.expect("remove");
    assert!(store.caller(&hash, now).await.expect("read").is_none(), "revoked with its user");
    let unknown = PersonalAccessToken {
        id: TokenId::new("x"),
        user_id: machine_id,
        hash: TokenHash::of("nope"),
        expires_at: None,
    };
    assert!(store.caller(&unknown.hash, now).await.expect("read").is_none());
}

/// Rows and events carry the commit time, and the response reports it.
pub async fn commits_stamp_rows_and_events_with_the_commit_time<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    let details = f.service.update_human_profile(&f.meta(), &rename(&id, "Grace")).await.expect("update");
    let at = details.change_date.expect("change date");
    let row = user(&store, &id).await;
    assert_eq!(row.changed_at, at);
    assert!(row.created_at < at);
    let events = store.user_events(&id, EventPage { cursor: 1, limit: 10, ascending: true }).await.expect("read");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].created_at, at);
    assert_eq!(events[0].editor, f.admin_id);
    assert_eq!(events[0].resource_owner, f.org);
}

/// A guard checks its aggregate's sequence inside the commit and writes nothing of it: stale, the
/// whole commit is a conflict; current, the row keeps its sequence and change date.
pub async fn guards_check_the_sequence_and_write_nothing<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    let org = store.org(&f.org).await.expect("read").expect("org");
    let ada = user(&store, &id).await;
    let change = |sequence: u64| {
        let mut next = ada.clone();
        next.sequence = sequence + 1;
        AggregateChange {
            expected_sequence: sequence,
            state: AggregateState::User(next),
            events: vec![EventPayload::UserRemoved],
        }
    };
    let mut stale_org = org.clone();
    stale_org.sequence += 1;
    let stale = Commit {
        editor: f.admin_id.clone(),
        changes: vec![change(ada.sequence), AggregateChange::guard(AggregateState::Org(stale_org))],
        side_effects: Vec::new(),
    };
    assert_eq!(store.commit(stale).await, Err(StoreError::Conflict));
    assert_eq!(user(&store, &id).await, ada, "nothing of a rejected commit is written");
    let current = Commit {
        editor: f.admin_id.clone(),
        changes: vec![change(ada.sequence), AggregateChange::guard(AggregateState::Org(org.clone()))],
        side_effects: Vec::new(),
    };
    store.commit(current).await.expect("a guard that holds lets the commit through");
    assert_eq!(store.org(&f.org).await.expect("read"), Some(org), "a guard writes nothing of its row");
    assert_eq!(user(&store, &id).await.sequence, ada.sequence + 1);
}

/// Memberships are read per user (org and instance-wide) and instance-wide for all users, and a
/// removed user's are gone.
pub async fn memberships_are_read_per_user_and_instance_wide<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    f.service.add_org_member(&f.meta(), id.as_str(), &["ORG_USER_MANAGER".to_owned()]).await.expect("member");
    let ada = store.memberships(&id).await.expect("read");
    assert_eq!(
        ada,
        vec![Membership { user_id: id.clone(), org_id: Some(f.org.clone()), roles: vec![Role::OrgUserManager] }]
    );
    let admin = Membership { user_id: f.admin_id.clone(), org_id: None, roles: vec![Role::IamOwner] };
    assert_eq!(store.memberships(&f.admin_id).await.expect("read"), vec![admin.clone()]);
    assert_eq!(store.instance_memberships().await.expect("read"), vec![admin]);
    f.service.remove_user(&f.meta(), id.as_str()).await.expect("remove");
    assert_eq!(store.memberships(&id).await.expect("read"), Vec::new());
}

/// The instance keeps an `IAM_OWNER`: its last one cannot be removed, another one can, and each
/// removal of an instance member is an event of the instance.
pub async fn the_last_instance_owner_cannot_be_removed<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let error = f.service.remove_user(&f.meta(), f.admin_id.as_str()).await.expect_err("last owner");
    assert_eq!(error.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(error.id(), Some("PERSONA-OWN01"));
    let request = crate::service::InstanceTokenRequest { user_name: "ops".into(), role: Role::IamOwner };
    let ops = f.service.issue_instance_token(&request).await.expect("a second owner");
    let before = store.instance().await.expect("read").expect("instance").sequence;
    let ops_header = format!("Bearer {}", ops.token);
    let as_ops = RequestMeta { authorization: Some(&ops_header), ..RequestMeta::default() };
    f.service.remove_user(&as_ops, f.admin_id.as_str()).await.expect("one of two owners may go");
    assert_eq!(store.instance().await.expect("read").expect("instance").sequence, before + 1);
    let error = f.service.remove_user(&as_ops, ops.user_id.as_str()).await.expect_err("now the last");
    assert_eq!(error.id(), Some("PERSONA-OWN01"));
    assert!(
        store.caller(&TokenHash::of(&ops.token), crate::ports::Clock::now(&SystemClock)).await.expect("read").is_some()
    );
}

/// Replaying an aggregate's stored events with [`Aggregate::apply`] gives exactly its read-model
/// row, for every event type: the model, not the use cases, decides what a state is.
pub async fn replay_equals_the_read_model_for_every_event_type<S: Store>(store: S) {
    use crate::aggregate::Aggregate;
    use crate::events::AggregateType;
    let all = EventPage { cursor: 0, limit: u32::MAX, ascending: true };
    let f = Fixture::new(store.clone()).await;
    let ada = f.add_human("ada").await;
    let mut update = rename(&ada, "Grace");
    update.preferred_language = "de_ch".into();
    update.gender = 3;
    f.service.update_human_profile(&f.meta(), &update).await.expect("profile changed");
    for (email, phone, verification) in [
        ("ada@king.example", "+41 79 555 01 00", Verification::ReturnCode),
        ("ada@king.example", "+41 79 555 01 00", Verification::Verified),
        ("ada@king.example", "", Verification::Unverified),
    ] {
        let patch = UserPatch {
            user_id: ada.as_str().to_owned(),
            user_name: Some(format!("ada-{}", phone.len())),
            kind: KindPatch::Human {
                profile: None,
                email: Some(ContactPatch { value: email.into(), verification }),
                phone: Some(ContactPatch { value: phone.into(), verification }),
            },
            rules: ProfileRules::Set,
            password: false,
            external_id: None,
            active: None,
        };
        f.service.patch_user(&f.meta(), &patch).await.expect("patched");
    }
    for active in [false, true] {
        let provisioned = UserPatch {
            user_id: ada.as_str().to_owned(),
            user_name: None,
            kind: KindPatch::None,
            rules: ProfileRules::Optional,
            password: false,
            external_id: Some(format!("okta-{active}")),
            active: Some(active),
        };
        f.service.patch_user(&f.meta(), &provisioned).await.expect("external id and state");
    }
    let bot = f
        .service
        .add_machine_user(
            &f.meta(),
            crate::commands::AddMachineUserRequest {
                user_name: "bot".into(),
                name: "Bot".into(),
                ..Default::default()
            },
        )
        .await
        .expect("machine");
    let bot = UserId::new(bot.id);
    let rename_bot = UserPatch {
        user_id: bot.as_str().to_owned(),
        user_name: None,
        kind: KindPatch::Machine(MachinePatch { name: Some("Robot".into()), description: Some("builds".into()) }),
        rules: ProfileRules::Optional,
        password: false,
        external_id: None,
        active: None,
    };
    f.service.patch_user(&f.meta(), &rename_bot).await.expect("machine changed");
    f.service.add_personal_access_token(&f.meta(), bot.as_str(), None).await.expect("token");
    f.service.remove_user(&f.meta(), bot.as_str()).await.expect("removed");
    f.service.add_org_member(&f.meta(), ada.as_str(), &["ORG_OWNER_VIEWER".to_owned()]).await.expect("member");
    let other = f.service.add_org(&f.meta(), "Other").await.expect("org");
    let request = crate::service::InstanceTokenRequest { user_name: "ops".into(), role: Role::IamUserManager };
    let ops = f.service.issue_instance_token(&request).await.expect("instance member");
    f.service.remove_user(&f.meta(), ops.user_id.as_str()).await.expect("instance member removed");

    let ada_events = store.events(AggregateType::User, ada.as_str(), all).await.expect("read");
    let mut seen: Vec<&str> = ada_events.iter().map(|e| e.payload.event_type()).collect();
    seen.sort_unstable();
    seen.dedup();
    for expected in [
        "user.username.changed",
        "user.human.email.changed",
        "user.human.email.code.added",
        "user.human.email.verified",
        "user.human.phone.changed",
        "user.human.phone.code.added",
        "user.human.phone.verified",
        "user.human.phone.removed",
        "user.deactivated",
        "user.reactivated",
        "user.externalid.changed",
    ] {
        assert!(seen.contains(&expected), "{expected} in {seen:?}");
    }
    for id in [&ada, &bot, &f.admin_id, &ops.user_id] {
        let events = store.events(AggregateType::User, id.as_str(), all).await.expect("read");
        assert_eq!(User::replay(&events).expect("replays"), user(&store, id).await, "user {id}");
    }
    for id in [f.org.clone(), OrgId::new(other.id)] {
        let events = store.events(AggregateType::Org, id.as_str(), all).await.expect("read");
        let org = store.org(&id).await.expect("read").expect("org");
        assert_eq!(crate::org::Org::replay(&events).expect("replays"), org, "org {id}");
    }
    let events = store.events(AggregateType::Instance, crate::ports::INSTANCE_ID, all).await.expect("read");
    let types: Vec<&str> = events.iter().map(|e| e.payload.event_type()).collect();
    assert_eq!(types, ["instance.added", "instance.member.added", "instance.member.added", "instance.member.removed"]);
    let instance = store.instance().await.expect("read").expect("instance");
    assert_eq!(crate::ports::Instance::replay(&events).expect("replays"), instance);
}

/// Polls both futures until both are done, `first` first each time (a store's futures may wait
/// for each other, so neither may be left unpolled).
async fn both<A: Future, B: Future>(first: A, second: B) -> (A::Output, B::Output) {
    let (mut first, mut second) = (pin!(first), pin!(second));
    let (mut a, mut b) = (None, None);
    std::future::poll_fn(move |context| {
        if a.is_none()
            && let Poll::Ready(value) = first.as_mut().poll(context)
        {
            a = Some(value);
        }
        if b.is_none()
            && let Poll::Ready(value) = second.as_mut().poll(context)
        {
            b = Some(value);
        }
        match (a.take(), b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (a, b) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

/// Completes after `duration`, on any executor: a helper thread wakes the task.
async fn pause(duration: Duration) {
    let until = Instant::now() + duration;
    let mut shared: Option<Arc<Mutex<Waker>>> = None;
    std::future::poll_fn(move |context| {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Poll::Ready(());
        }
        match &shared {
            Some(waker) => waker.lock().unwrap_or_else(PoisonError::into_inner).clone_from(context.waker()),
            None => {
                let waker = Arc::new(Mutex::new(context.waker().clone()));
                let theirs = Arc::clone(&waker);
                std::thread::spawn(move || {
                    std::thread::sleep(left);
                    theirs.lock().unwrap_or_else(PoisonError::into_inner).wake_by_ref();
                });
                shared = Some(waker);
            }
        }
        Poll::Pending
    })
    .await;
}

/// A commit renaming `current` (guarded by its sequence) to `user_name`.
fn rename_commit(editor: &UserId, current: &User, user_name: &str) -> Commit {
    let mut next = current.clone();
    next.user_name = user_name.into();
    next.sequence = current.sequence + 1;
    Commit {
        editor: editor.clone(),
        changes: vec![AggregateChange {
            expected_sequence: current.sequence,
            state: AggregateState::User(next),
            events: vec![EventPayload::UserRemoved],
        }],
        side_effects: Vec::new(),
    }
}

/// While a user is locked, another writer of it waits: the lock's commit lands, and the other
/// one — decided on the same state, sent first and given time to land — finds the sequence
/// moved on.
pub async fn a_locked_user_makes_other_writers_wait_and_its_commit_wins<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    let (locked, lock) = store.lock_user(&id).await.expect("lock");
    let locked = locked.expect("the locked user is read");
    assert_eq!(locked, user(&store, &id).await, "read under the lock: the current state");
    let competitor = store.commit(rename_commit(&f.admin_id, &locked, "competitor"));
    let holder = async {
        // Time enough for the competitor to land, were it not held up (it is: it cannot win).
        pause(Duration::from_millis(300)).await;
        lock.commit(rename_commit(&f.admin_id, &locked, "holder")).await
    };
    let (competitor, holder) = both(competitor, holder).await;
    let committed = holder.expect("the lock's commit lands");
    assert_eq!(competitor, Err(StoreError::Conflict), "the other writer waited and lost");
    let after = user(&store, &id).await;
    assert_eq!((after.user_name.as_str(), after.sequence, after.changed_at), ("holder", 2, committed.at));
    let page = EventPage { cursor: 0, limit: 100, ascending: true };
    assert_eq!(store.user_events(&id, page).await.expect("read").len(), 2);
}

/// Dropping a lock writes nothing and lets the next writer in; orgs lock like users; a
/// missing aggregate is read as `None`.
pub async fn a_dropped_lock_writes_nothing_and_lets_writers_in<S: Store>(store: S) {
    let f = Fixture::new(store.clone()).await;
    let id = f.add_human("ada").await;
    let (locked, lock) = store.lock_user(&id).await.expect("lock");
    drop(lock);
    let locked = locked.expect("the locked user is read");
    store.commit(rename_commit(&f.admin_id, &locked, "after")).await.expect("a writer gets in after the drop");
    assert_eq!(user(&store, &id).await.user_name, "after");

    let (nobody, lock) = store.lock_user(&UserId::new("nobody")).await.expect("lock");
    assert_eq!(nobody, None);
    drop(lock);

    let (org, lock) = store.lock_org(&f.org).await.expect("lock");
    let org = org.expect("the locked org is read");
    let mut renamed = org.clone();
    renamed.name = "Renamed".into();
    renamed.sequence = org.sequence + 1;
    let commit = Commit {
        editor: f.admin_id.clone(),
        changes: vec![AggregateChange {
            expected_sequence: org.sequence,
            state: AggregateState::Org(renamed),
            events: vec![EventPayload::UserRemoved],
        }],
        side_effects: Vec::new(),
    };
    lock.commit(commit).await.expect("the org's commit lands");
    assert_eq!(store.org(&f.org).await.expect("read").map(|o| o.name), Some("Renamed".to_owned()));
}

/// Generates one `#[tokio::test]` per conformance check. `$make` is an async expression that
/// gives `Option<(store, guard)>`: `None` skips (a backend that is not configured), the guard
/// lives until the test ends (a temporary directory, say).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@each $make;
            bootstrap_commit_is_read_back,
            stale_sequence_is_a_conflict_and_writes_nothing,
            creating_an_existing_aggregate_is_a_conflict,
            user_names_are_unique_without_case_until_removed,
            a_failed_commit_writes_nothing_of_any_aggregate,
            duplicate_membership_is_reported,
            events_are_paged_by_cursor_limit_and_order,
            revoked_expired_and_orphaned_tokens_do_not_authenticate,
            commits_stamp_rows_and_events_with_the_commit_time,
            guards_check_the_sequence_and_write_nothing,
            memberships_are_read_per_user_and_instance_wide,
            the_last_instance_owner_cannot_be_removed,
            replay_equals_the_read_model_for_every_event_type,
            a_locked_user_makes_other_writers_wait_and_its_commit_wins,
            a_dropped_lock_writes_nothing_and_lets_writers_in
        );
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some((store, _guard)) = $make.await {
                    $crate::conformance::$name(store).await;
                }
            }
        )*
    };
}

#[cfg(test)]
mod in_memory {
    use crate::memory::InMemoryStore;

    async fn make() -> Option<(InMemoryStore, ())> {
        Some((InMemoryStore::default(), ()))
    }

    crate::store_conformance!(make());
}
