//! A high-dynamic-range histogram of latencies in microseconds, laid out as HdrHistogram lays
//! out its counts: 2,048 linear sub-buckets per power of two, so every recorded value is kept
//! to 3 significant digits (relative error below 0.1 %) from 1 µs to hours, in constant
//! memory and constant time per record. (Written here rather than taken from the
//! `hdrhistogram` crate, whose dependencies would change the features of crates the server
//! shares with the bench and so make cargo compile the whole tree twice.)

/// Sub-bucket bits: 2^11 sub-buckets, the top half of them used per power of two.
const SUB_BITS: u32 = 11;
const HALF: usize = 1 << (SUB_BITS - 1);

/// Counts of values by bucket, plus the exact maximum.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

fn index(value: u64) -> usize {
    let bits = u64::BITS - value.leading_zeros();
    if bits <= SUB_BITS {
        usize::try_from(value).unwrap_or(usize::MAX)
    } else {
        let shift = bits - SUB_BITS;
        let sub = usize::try_from(value >> shift).unwrap_or(usize::MAX);
        ((shift as usize) << (SUB_BITS - 1)) + sub
    }
}

/// The highest value that lands in bucket `index`.
fn highest(index: usize) -> u64 {
    if index < 2 * HALF {
        return index as u64;
    }
    let shift = index / HALF - 1;
    let sub = (index - shift * HALF) as u64;
    ((sub + 1) << shift) - 1
}

impl Histogram {
    /// Records one value.
    pub fn record(&mut self, value: u64) {
        let i = index(value);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    /// Adds every count of `other`.
    pub fn add(&mut self, other: &Self) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// The exact largest value recorded (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at `quantile` (0..=1): the highest value equivalent to the recorded value at
    /// that rank (as HdrHistogram reports it), never above the maximum; 0 when empty.
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
        let wanted = (quantile.clamp(0.0, 1.0) * self.total as f64).ceil();
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0..=total")]
        let rank = (wanted as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_three_significant_digits() {
        for value in [1u64, 7, 2047, 2048, 2049, 4095, 4096, 123_456, 9_999_999, 3_600_000_000] {
            let bucket = index(value);
            let top = highest(bucket);
            assert!(top >= value, "{value}: bucket top {top}");
            assert!((top - value) * 1000 <= value, "{value}: bucket top {top} is too far");
            assert!(bucket == 0 || highest(bucket - 1) < value, "{value}: not the first bucket that fits");
        }
    }

    #[test]
    fn quantiles_follow_the_recorded_values() {
        let mut h = Histogram::default();
        for value in 1..=1000 {
            h.record(value);
        }
        assert_eq!(h.len(), 1000);
        assert_eq!(h.value_at_quantile(0.5), 500);
        assert_eq!(h.value_at_quantile(0.99), 990);
        assert_eq!(h.value_at_quantile(1.0), 1000);
        assert_eq!(h.max(), 1000);
        let mut other = Histogram::default();
        other.record(50_000);
        h.add(&other);
        assert_eq!(h.max(), 50_000);
        assert_eq!(h.value_at_quantile(1.0), 50_000);
        assert_eq!(Histogram::default().value_at_quantile(0.99), 0);
    }
}
