//! Points in time as the domain sees them: microseconds since the Unix epoch, UTC.

/// A UTC instant with microsecond precision (what PostgreSQL and ZITADEL's timestamps carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    #[must_use]
    pub const fn from_unix_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    #[must_use]
    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the Unix epoch (rounded down).
    #[must_use]
    pub const fn unix_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Seconds and nanoseconds since the epoch, as `google.protobuf.Timestamp` wants them.
    #[must_use]
    pub const fn seconds_and_nanos(self) -> (i64, i32) {
        let seconds = self.0.div_euclid(1_000_000);
        // The remainder is below 1_000_000, so the nanoseconds fit an i32.
        let nanos = (self.0.rem_euclid(1_000_000) * 1000) as i32;
        (seconds, nanos)
    }

    /// The instant given as seconds and nanoseconds (sub-microsecond digits are dropped).
    #[must_use]
    pub const fn from_seconds_and_nanos(seconds: i64, nanos: i32) -> Self {
        Self(seconds.saturating_mul(1_000_000).saturating_add(nanos as i64 / 1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_nanos_round_trip_with_microsecond_precision() {
        let instant = Timestamp::from_unix_micros(1_795_868_879_123_456);
        let (seconds, nanos) = instant.seconds_and_nanos();
        assert_eq!((seconds, nanos), (1_795_868_879, 123_456_000));
        assert_eq!(Timestamp::from_seconds_and_nanos(seconds, nanos), instant);
    }

    #[test]
    fn instants_before_the_epoch_keep_positive_nanos() {
        let (seconds, nanos) = Timestamp::from_unix_micros(-1).seconds_and_nanos();
        assert_eq!((seconds, nanos), (-1, 999_999_000));
    }
}
