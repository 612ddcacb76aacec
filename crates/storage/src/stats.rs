//! What the storage layer tells an operator: the commit queue, the size of the batches and how
//! long commits take, lost races, and the connection pools. [`crate::SeaOrmStore::stats`] takes
//! a snapshot; the server renders it on `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the commit latency buckets, in seconds.
pub const COMMIT_SECONDS_BOUNDS: [f64; 13] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Upper bounds of the batch size buckets, in commits per transaction.
pub const BATCH_SIZE_BOUNDS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// A histogram at one moment, in the shape Prometheus wants.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Upper bounds (`le`) of the buckets, ascending.
    pub bounds: &'static [f64],
    /// Observations at or below each bound (cumulative, one per bound).
    pub cumulative: Vec<u64>,
    /// All observations (the `+Inf` bucket).
    pub count: u64,
    /// Sum of the observed values.
    pub sum: f64,
}

/// Usage of one connection pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Which pool: `read` and `write` (SQLite: readers, and the one writer connection), or
    /// `read_write` (PostgreSQL: one pool for both).
    pub pool: &'static str,
    /// Open connections.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The pool's size limit.
    pub max: u32,
}

/// A snapshot of the storage numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageStats {
    /// Commits queued for the commit workers and not yet taken into a batch.
    pub queue_depth: u64,
    /// How many commits the queue holds before further callers wait to enqueue.
    pub queue_capacity: u64,
    /// Commits per batch transaction.
    pub batch_size: HistogramSnapshot,
    /// Seconds from handing a commit to the store until it is durable or rejected (queue wait
    /// included; commits of a lock's transaction too).
    pub commit_seconds: HistogramSnapshot,
    /// Commits rejected because another writer changed the aggregate first (each one a retry,
    /// or an `ABORTED` answer for an `If-Match` update).
    pub conflicts: u64,
    /// The connection pools.
    pub pools: Vec<PoolStats>,
}

/// A histogram kept with atomics: one counter per bucket plus one above the last bound.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// What one recorded unit is in the histogram's unit (1e-9 for nanoseconds as seconds).
    unit: f64,
    buckets: Box<[AtomicU64]>,
    /// Sum of the recorded raw values.
    sum: AtomicU64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64], unit: f64) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self { bounds, unit, buckets, sum: AtomicU64::new(0) }
    }

    /// Records one observation of `raw` units.
    pub(crate) fn record(&self, raw: u64) {
        let value = raw as f64 * self.unit;
        let index = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(raw, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0u64;
        let mut cumulative = Vec::with_capacity(self.bounds.len());
        for bucket in &self.buckets[..self.bounds.len()] {
            running += bucket.load(Ordering::Relaxed);
            cumulative.push(running);
        }
        let above = self.buckets.last().map_or(0, |bucket| bucket.load(Ordering::Relaxed));
        HistogramSnapshot {
            bounds: self.bounds,
            cumulative,
            count: running + above,
            sum: self.sum.load(Ordering::Relaxed) as f64 * self.unit,
        }
    }
}

/// The commit numbers, shared by the store, its commit workers and its locks.
#[derive(Debug)]
pub(crate) struct CommitStats {
    pub(crate) batch_size: Histogram,
    /// In nanoseconds.
    pub(crate) commit_seconds: Histogram,
    pub(crate) conflicts: AtomicU64,
}

impl Default for CommitStats {
    fn default() -> Self {
        Self {
            batch_size: Histogram::new(&BATCH_SIZE_BOUNDS, 1.0),
            commit_seconds: Histogram::new(&COMMIT_SECONDS_BOUNDS, 1e-9),
            conflicts: AtomicU64::new(0),
        }
    }
}

impl CommitStats {
    /// One commit ended after `elapsed` with `result`.
    pub(crate) fn commit_ended<T>(
        &self,
        elapsed: std::time::Duration,
        result: &Result<T, persona_domain::ports::StoreError>,
    ) {
        self.commit_seconds.record(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        if matches!(result, Err(persona_domain::ports::StoreError::Conflict)) {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_fall_into_cumulative_buckets_with_an_overflow() {
        let sizes = Histogram::new(&BATCH_SIZE_BOUNDS, 1.0);
        for size in [1, 1, 3, 256, 300] {
            sizes.record(size);
        }
        let snapshot = sizes.snapshot();
        assert_eq!(snapshot.cumulative, vec![2, 2, 3, 3, 3, 3, 3, 3, 4]);
        assert_eq!(snapshot.count, 5, "300 is above the last bound: only in +Inf");
        assert!((snapshot.sum - 561.0).abs() < f64::EPSILON);
    }

    #[test]
    fn nanoseconds_are_reported_as_seconds() {
        let latency = Histogram::new(&COMMIT_SECONDS_BOUNDS, 1e-9);
        latency.record(3_000_000);
        let snapshot = latency.snapshot();
        assert_eq!(&snapshot.cumulative[..5], &[0, 0, 0, 1, 1], "3 ms is in the 5 ms bucket, not in 2.5 ms");
        assert!((snapshot.sum - 0.003).abs() < 1e-12);
    }
}
