//! Delivery numbers for `/metrics`: counts by endpoint label and HTTP status, the backlog, and
//! the lag from commit (or redelivery) to delivery.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Upper bounds of the lag histogram buckets, in seconds.
pub const LAG_BOUNDS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0];

/// What became of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Result {
    /// 2xx.
    Delivered,
    /// Another answer (or none, code 0), to be tried again.
    Retried,
    /// Parked as failed.
    Failed,
    /// 410: the endpoint was disabled.
    Disabled,
}

impl Result {
    /// The metric's name part.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retried => "retried",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }
}

/// One histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum: f64,
    /// Cumulative counts per [`LAG_BOUNDS`] entry.
    pub buckets: [u64; LAG_BOUNDS.len()],
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        for (bucket, bound) in self.buckets.iter_mut().zip(LAG_BOUNDS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }
}

/// The numbers now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Attempts by (result, endpoint label, HTTP status or 0).
    pub attempts: BTreeMap<(Result, String, u16), u64>,
    /// Pending deliveries per endpoint label, as last counted.
    pub backlog: BTreeMap<String, u64>,
    /// Commit-to-delivery lag per endpoint label.
    pub lag: BTreeMap<String, Histogram>,
}

/// Shared by the delivery tasks and the scraper.
#[derive(Debug, Default)]
pub struct WebhookStats {
    inner: Mutex<Snapshot>,
}

impl WebhookStats {
    /// Counts an attempt.
    pub fn attempt(&self, result: Result, endpoint: &str, status: u16) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner.attempts.entry((result, endpoint.to_owned(), status)).or_default() += 1;
    }

    /// Records a delivery's lag.
    pub fn lag(&self, endpoint: &str, seconds: f64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.lag.entry(endpoint.to_owned()).or_default().observe(seconds);
    }

    /// Sets the pending count of an endpoint.
    pub fn backlog(&self, endpoint: &str, pending: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.backlog.insert(endpoint.to_owned(), pending);
    }

    /// A copy of everything.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
