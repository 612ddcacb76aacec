//! Change events out: which user events go to which webhook endpoint (pure filter rules), and
//! the outbox port through which deliveries are leased and settled.
//!
//! A delivery is one (endpoint, user event) pair, recorded in the outbox in the same transaction
//! as the event. The delivery loop leases the oldest pending delivery of each (endpoint, user)
//! queue — never a later one while an earlier one is pending or leased — together with a run of
//! the deliveries after it, which the same sender sends one after another; so a user's events
//! reach an endpoint in sequence order, whichever instance sends them.

use crate::events::EventPayload;
use crate::ids::{OrgId, UserId};
use crate::time::Timestamp;
use std::future::Future;

/// Which user events an endpoint wants: event-type globs (`user.*`) and orgs. An empty list
/// lets everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Event-type patterns; `*` stands for any run of characters (dots included).
    pub events: Vec<String>,
    /// Org ids (exact).
    pub orgs: Vec<String>,
}

impl EventFilter {
    /// Whether an event of `event_type` in org `org` passes.
    #[must_use]
    pub fn matches(&self, event_type: &str, org: &str) -> bool {
        let type_ok = self.events.is_empty() || self.events.iter().any(|pattern| glob_matches(pattern, event_type));
        let org_ok = self.orgs.is_empty() || self.orgs.iter().any(|wanted| wanted == org);
        type_ok && org_ok
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (also none) and
/// every other character only itself.
#[must_use]
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, between)) = middle.split_last() else {
        // No star at all: the whole text must be the pattern.
        return rest.is_empty();
    };
    for part in between {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A configured endpoint as the outbox sees it: its key (the URL) and its filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// The endpoint's URL, which is also its key in the outbox.
    pub url: String,
    /// Which events it receives.
    pub filter: EventFilter,
}

/// The endpoints of `endpoints` that receive an event of `payload` in org `org`.
pub fn endpoints_for<'a>(
    endpoints: &'a [WebhookEndpoint],
    payload: &'a EventPayload,
    org: &'a OrgId,
) -> impl Iterator<Item = &'a WebhookEndpoint> + 'a {
    endpoints.iter().filter(move |endpoint| endpoint.filter.matches(payload.event_type(), org.as_str()))
}

/// The stable id of a user event, sent as `webhook-id`: the same on every retry and replay.
#[must_use]
pub fn event_id(user: &UserId, sequence: u64) -> String {
    format!("evt_{}_{sequence}", user.as_str())
}

/// One leased delivery with what its body is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The outbox row.
    pub id: i64,
    /// The endpoint (its URL).
    pub endpoint: String,
    /// The user the event belongs to.
    pub user_id: UserId,
    /// Its sequence in the user's stream.
    pub sequence: u64,
    /// The org owning the user.
    pub org_id: OrgId,
    /// Who caused it.
    pub editor: UserId,
    /// What happened.
    pub payload: EventPayload,
    /// The event's commit time.
    pub committed_at: Timestamp,
    /// When the delivery was recorded: the commit time, or the time of a redelivery.
    pub enqueued_at: Timestamp,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The outbox row whose lease covers this delivery: its own id for the head of a run, the
    /// head's for the deliveries of the run after it.
    pub lease_id: i64,
}

impl Delivery {
    /// Whether this delivery heads its run (it holds the lease itself).
    #[must_use]
    pub fn heads_run(&self) -> bool {
        self.lease_id == self.id
    }
}

/// What one lease asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Now: which deliveries are due and which leases have expired.
    pub now: Timestamp,
    /// Until when the lease holds.
    pub until: Timestamp,
    /// Most queues leased.
    pub queues: u32,
    /// Most deliveries of one queue, its head included (at least 1).
    pub run: u32,
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer: done, the row leaves the outbox.
    Delivered,
    /// Try again at the given time (`status` 0: no HTTP answer, a timeout or connection error).
    Retry {
        /// When the next attempt is due.
        at: Timestamp,
        /// The HTTP status, or 0.
        status: u16,
    },
    /// Given up on (too old): kept as failed.
    Parked {
        /// The last HTTP status, or 0.
        status: u16,
    },
    /// The endpoint answered 410 Gone: it is disabled, the delivery stays pending.
    Gone,
}

/// One endpoint's numbers, for `persona webhooks status` and the backlog gauge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The endpoint (its URL).
    pub endpoint: String,
    /// Deliveries not yet made.
    pub pending: u64,
    /// Commit time of the oldest pending delivery.
    pub oldest_pending: Option<Timestamp>,
    /// Deliveries given up on.
    pub failed: u64,
    /// When a 410 disabled it.
    pub disabled_at: Option<Timestamp>,
}

/// Why the outbox could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The database failed or could not be reached.
    #[error("outbox unavailable: {0}")]
    Unavailable(String),
    /// A stored row does not decode.
    #[error("outbox row is corrupt: {0}")]
    Corrupt(String),
}

/// The outbox of webhook deliveries (written at commit time by the [`crate::ports::Store`]).
pub trait Outbox: Clone + Send + Sync + 'static {
    /// Leases up to `queues` (endpoint, user) queues of `endpoints` for `owner` until `until`,
    /// each by its pending delivery of lowest sequence when that one is due and no delivery of
    /// the queue is leased; never for a disabled endpoint. An expired lease may be taken over.
    ///
    /// Each leased head comes with the run of up to `run - 1` pending deliveries after it, in
    /// sequence order and marked with the head's [`Delivery::lease_id`]: the head's lease
    /// covers them, so the queue stays closed to other senders until the run is settled.
    /// Runs are answered one after another, each in sequence order.
    ///
    /// # Errors
    /// [`OutboxError`].
    fn lease(
        &self,
        endpoints: &[String],
        owner: &str,
        lease: Lease,
    ) -> impl Future<Output = Result<Vec<Delivery>, OutboxError>> + Send;

    /// Records the outcomes of attempts on deliveries `owner` leased, all in one transaction. A
    /// delivery whose lease was lost meanwhile (it expired and another owner took it) is left
    /// to its new owner, except that a delivered one leaves the outbox whoever holds it. The
    /// outcomes of one run are settled together, and deliveries of a run not attempted are
    /// simply not named: they stay pending behind the run's last outcome.
    ///
    /// # Errors
    /// [`OutboxError`].
    fn settle(
        &self,
        owner: &str,
        settled: &[(Delivery, Outcome)],
        now: Timestamp,
    ) -> impl Future<Output = Result<(), OutboxError>> + Send;

    /// Every endpoint that has deliveries or is disabled, with its numbers.
    ///
    /// # Errors
    /// [`OutboxError`].
    fn status(&self) -> impl Future<Output = Result<Vec<EndpointStatus>, OutboxError>> + Send;

    /// Enqueues again every user event committed at or after `since` that `endpoint` receives,
    /// and enables the endpoint again; answers how many were enqueued.
    ///
    /// # Errors
    /// [`OutboxError`].
    fn redeliver(
        &self,
        endpoint: &WebhookEndpoint,
        since: Timestamp,
    ) -> impl Future<Output = Result<u64, OutboxError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_shell_stars() {
        let table = [
            ("user.*", "user.human.profile.changed", true),
            ("user.*", "user.removed", true),
            ("user.*", "user", false),
            ("user.*", "org.added", false),
            ("*", "user.removed", true),
            ("*", "", true),
            ("user.removed", "user.removed", true),
            ("user.removed", "user.removed.x", false),
            ("user.human.*.changed", "user.human.email.changed", true),
            ("user.human.*.changed", "user.human.profile.changed", true),
            ("user.human.*.changed", "user.human.email.verified", false),
            ("*.changed", "user.machine.changed", true),
            ("*.changed", "user.machine.added", false),
            ("user.*.*", "user.removed", false),
            ("user.*.*", "user.human.added", true),
            ("*a*a*", "aa", true),
            ("*a*a*", "a", false),
            ("ab*ba", "aba", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, expected) in table {
            assert_eq!(glob_matches(pattern, text), expected, "{pattern:?} ~ {text:?}");
        }
    }

    #[test]
    fn filters_need_both_the_type_and_the_org() {
        let all = EventFilter::default();
        let only_profile = EventFilter { events: vec!["user.human.profile.*".into()], orgs: vec![] };
        let only_org = EventFilter { events: vec![], orgs: vec!["1".into(), "2".into()] };
        let both = EventFilter { events: vec!["user.removed".into(), "user.human.*".into()], orgs: vec!["2".into()] };
        let table = [
            (&all, "user.removed", "9", true),
            (&only_profile, "user.human.profile.changed", "9", true),
            (&only_profile, "user.human.email.changed", "9", false),
            (&only_org, "user.removed", "1", true),
            (&only_org, "user.removed", "3", false),
            (&both, "user.removed", "2", true),
            (&both, "user.human.added", "2", true),
            (&both, "user.machine.added", "2", false),
            (&both, "user.removed", "1", false),
        ];
        for (filter, event_type, org, expected) in table {
            assert_eq!(filter.matches(event_type, org), expected, "{filter:?} {event_type} {org}");
        }
    }

    #[test]
    fn event_ids_are_stable_per_user_and_sequence() {
        let user = UserId::new("42".to_owned());
        assert_eq!(event_id(&user, 7), "evt_42_7");
        assert_ne!(event_id(&user, 7), event_id(&user, 8));
    }
}
