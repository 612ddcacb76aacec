//! `list_users` lookups against the storage with every seeded user in the database: by exact
//! user name and by email (case ignored, as v2's email query usually asks), one at a time
//! through `persona-storage`, each checked to find exactly its user.

use crate::BenchError;
use crate::histogram::Histogram;
use persona_domain::ids::OrgId;
use persona_domain::ports::Store;
use persona_domain::query::{OrgScope, SortField, TextField, TextMatch, UserFilter, UserSearch};
use persona_storage::{Backend, SeaOrmStore};
use sea_orm::ConnectionTrait;
use std::time::Instant;

/// One kind of lookup, measured.
pub struct Lookup {
    /// What was looked up.
    pub what: &'static str,
    /// Users in the database.
    pub users: usize,
    /// Lookups measured.
    pub count: u64,
    /// Latency in microseconds.
    pub latency: Histogram,
}

impl Lookup {
    /// Latency at `quantile`, ms.
    pub fn ms(&self, quantile: f64) -> f64 {
        micros_to_ms(self.latency.value_at_quantile(quantile))
    }

    /// The slowest, ms.
    pub fn max_ms(&self) -> f64 {
        micros_to_ms(self.latency.max())
    }
}

#[expect(clippy::cast_precision_loss, reason = "latencies are far below 2^52 µs")]
fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// The seeded user numbers to look up: spread over all `users`, the same every run.
fn picks(users: usize, count: usize) -> impl Iterator<Item = usize> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..count).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % u64::try_from(users).unwrap_or(1).max(1)).unwrap_or(0)
    })
}

/// A kind of lookup: its name, and the filter that finds seeded user number `n`.
type Kind = (&'static str, fn(usize) -> UserFilter);

/// Measures `lookups` of each kind (after a tenth as many unrecorded) against seeded users
/// `0..users` (see `seed::users`), in the admin's org scope as an org-level reader would ask.
///
/// On PostgreSQL the table is analysed first, as autovacuum does within a minute of a bulk
/// load: without statistics the planner also scans the org index (every seeded user is in one
/// org), which measured the moments after the seeding rather than the service (about 1.7 ms
/// instead of a few tenths of one).
pub async fn run(store: &SeaOrmStore, org: &OrgId, users: usize, lookups: usize) -> Result<Vec<Lookup>, BenchError> {
    if store.backend() == Backend::Postgres {
        let analyze = store.connection().execute_unprepared("ANALYZE users").await;
        analyze.map_err(|e| BenchError::new(format!("analyze: {e}")))?;
    }
    let kinds: [Kind; 2] = [
        ("user name", |n| UserFilter::Text {
            field: TextField::UserName,
            value: format!("bench{n:06}"),
            method: TextMatch::Equals,
        }),
        ("email (ignoring case)", |n| UserFilter::Text {
            field: TextField::Email,
            value: format!("BENCH{n:06}@Example.COM"),
            method: TextMatch::EqualsIgnoreCase,
        }),
    ];
    let mut out = Vec::new();
    for (what, filter) in kinds {
        let mut latency = Histogram::default();
        for (i, n) in picks(users, lookups + lookups / 10).enumerate() {
            let search = UserSearch {
                scope: OrgScope::Orgs(vec![org.clone()]),
                filter: filter(n),
                sort: SortField::CreationDate,
                ascending: true,
                offset: 0,
                limit: 100,
            };
            let start = Instant::now();
            let page = store.list_users(&search).await.map_err(|e| BenchError::new(format!("list_users: {e}")))?;
            let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            let expected = crate::seed::user_id(n);
            if page.total != 1 || page.users.first().map(|u| u.id.as_str()) != Some(expected.as_str()) {
                return Err(BenchError::new(format!("{what} lookup of {expected} found {} users", page.total)));
            }
            if i >= lookups / 10 {
                latency.record(micros);
            }
        }
        out.push(Lookup { what, users, count: latency.len(), latency });
    }
    Ok(out)
}
