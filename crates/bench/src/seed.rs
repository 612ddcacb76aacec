//! Seeding through `persona-storage` while no server runs: users created by the same domain
//! rules as `AddHumanUser` (many per commit, so 100,000 take seconds), and a long history
//! appended as real profile-change events.

use crate::BenchError;
use persona_domain::auth::TokenHash;
use persona_domain::commands::{EmailInput, NewHumanRequest, ProfileInput, UnsupportedHumanFields};
use persona_domain::events::{EventPayload, FieldChange, ProfileChanged};
use persona_domain::ids::{OrgId, UserId};
use persona_domain::language::LanguagePolicy;
use persona_domain::ports::{AggregateChange, AggregateState, Clock, Commit, Store};
use persona_domain::user::User;
use persona_storage::{SeaOrmStore, SystemClock};

/// Who seeds: the admin the first start created.
pub struct Admin {
    /// `Bearer <token>`.
    pub authorization: String,
    /// The admin's id (editor of the seeded events).
    pub id: UserId,
    /// The default org, where the users go.
    pub org: OrgId,
}

impl Admin {
    /// Resolves the admin token through the store.
    pub async fn of(store: &SeaOrmStore, token: &str) -> Result<Self, BenchError> {
        let caller = store
            .caller(&TokenHash::of(token), SystemClock.now())
            .await
            .map_err(|e| BenchError::new(format!("reading the admin: {e}")))?
            .ok_or_else(|| BenchError::new("the admin token does not authenticate"))?;
        Ok(Self { authorization: format!("Bearer {token}"), id: caller.user_id, org: caller.org_id })
    }
}

/// The id of seeded user number `n`.
pub fn user_id(n: usize) -> String {
    format!("bench-{n:06}")
}

fn new_user(admin: &Admin, id: &str, user_name: &str) -> Result<AggregateChange, BenchError> {
    let request = NewHumanRequest {
        user_name: user_name.to_owned(),
        profile: Some(ProfileInput {
            first_name: "Seed".to_owned(),
            last_name: "User".to_owned(),
            ..ProfileInput::default()
        }),
        email: Some(EmailInput { email: format!("{user_name}@example.com"), is_email_verified: true }),
        phone: None,
    };
    let human = request
        .validate(&UnsupportedHumanFields::default(), &LanguagePolicy::any())
        .map_err(|e| BenchError::new(format!("seed user: {}", e.message())))?;
    let events = vec![EventPayload::HumanAdded(human.into_event())];
    let (change, _) = AggregateChange::create::<User>(id, &admin.org, events, SystemClock.now())
        .map_err(|e| BenchError::new(format!("seed user: {e}")))?;
    Ok(change)
}

async fn commit(store: &SeaOrmStore, commit: Commit) -> Result<(), BenchError> {
    store.commit(commit).await.map(|_| ()).map_err(|e| BenchError::new(format!("seeding commit: {e}")))
}

/// Creates users `from..to` (ids [`user_id`]), 250 per commit, a few commits in flight.
pub async fn users(store: &SeaOrmStore, admin: &Admin, from: usize, to: usize) -> Result<(), BenchError> {
    const PER_COMMIT: usize = 250;
    let mut commits = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + PER_COMMIT).min(to);
        let mut changes = Vec::with_capacity(end - start);
        for n in start..end {
            changes.push(new_user(admin, &user_id(n), &format!("bench{n:06}"))?);
        }
        commits.push(Commit { editor: admin.id.clone(), changes, side_effects: Vec::new() });
        start = end;
    }
    let mut pending = commits.into_iter();
    loop {
        let wave: Vec<Commit> = pending.by_ref().take(4).collect();
        if wave.is_empty() {
            return Ok(());
        }
        let results = futures_join(store, wave).await;
        for result in results {
            result?;
        }
    }
}

async fn futures_join(store: &SeaOrmStore, wave: Vec<Commit>) -> Vec<Result<(), BenchError>> {
    let tasks: Vec<_> = wave
        .into_iter()
        .map(|c| {
            let store = store.clone();
            tokio::spawn(async move { commit(&store, c).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap_or_else(|e| Err(BenchError::new(format!("seeding task: {e}")))));
    }
    results
}

/// Creates the user `id` and appends `events` profile changes to it (first name flipping
/// between two values), so it ends with `events + 1` events.
pub async fn history(store: &SeaOrmStore, admin: &Admin, id: &str, events: usize) -> Result<(), BenchError> {
    const PER_COMMIT: usize = 200;
    let created = new_user(admin, id, id)?;
    let AggregateState::User(mut user) = created.state.clone() else {
        return Err(BenchError::new("the history user is not a user"));
    };
    commit(store, Commit { editor: admin.id.clone(), changes: vec![created], side_effects: Vec::new() }).await?;
    let mut written = 0;
    while written < events {
        let count = PER_COMMIT.min(events - written);
        let mut first = user.human().map(|h| h.profile.first_name().to_owned()).unwrap_or_default();
        let mut payloads = Vec::with_capacity(count);
        for _ in 0..count {
            let new = if first == "Seed" { "Hist".to_owned() } else { "Seed".to_owned() };
            let old = std::mem::replace(&mut first, new.clone());
            payloads.push(EventPayload::ProfileChanged(ProfileChanged {
                first_name: Some(FieldChange { old, new }),
                ..ProfileChanged::default()
            }));
        }
        let (change, next) = AggregateChange::update(&user, payloads, SystemClock.now())
            .map_err(|e| BenchError::new(format!("history: {e}")))?;
        user = next;
        commit(store, Commit { editor: admin.id.clone(), changes: vec![change], side_effects: Vec::new() }).await?;
        written += count;
    }
    Ok(())
}
