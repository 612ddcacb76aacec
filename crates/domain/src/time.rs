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

/// Seconds of `0001-01-01T00:00:00Z`, the earliest instant a `google.protobuf.Timestamp` may hold.
pub const MIN_WIRE_SECONDS: i64 = -62_135_596_800;
/// Seconds of `9999-12-31T23:59:59Z`, the latest whole second a `google.protobuf.Timestamp` may hold.
pub const MAX_WIRE_SECONDS: i64 = 253_402_300_799;

/// A `google.protobuf.Timestamp` as a request carried it: not yet known to be a valid instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireTimestamp {
    /// Seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds of the second.
    pub nanos: i32,
}

impl WireTimestamp {
    /// The instant, when it is one protobuf allows: years 0001 to 9999 and nanos
    /// `0..=999_999_999`; `None` otherwise (so malformed input can never mean "never expires").
    #[must_use]
    pub fn to_timestamp(self) -> Option<Timestamp> {
        let valid =
            (MIN_WIRE_SECONDS..=MAX_WIRE_SECONDS).contains(&self.seconds) && (0..=999_999_999).contains(&self.nanos);
        valid.then(|| Timestamp::from_seconds_and_nanos(self.seconds, self.nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_timestamps_outside_protobufs_range_are_not_instants() {
        let valid = [(0, 0), (MIN_WIRE_SECONDS, 0), (MAX_WIRE_SECONDS, 999_999_999), (1_795_874_879, 5)];
        for (seconds, nanos) in valid {
            assert!(WireTimestamp { seconds, nanos }.to_timestamp().is_some(), "{seconds} {nanos}");
        }
        let invalid = [
            (MAX_WIRE_SECONDS + 1, 0),
            (MIN_WIRE_SECONDS - 1, 0),
            (i64::MAX, 0),
            (i64::MIN, 0),
            (0, -1),
            (0, 1_000_000_000),
            (0, 2_000_000_000),
        ];
        for (seconds, nanos) in invalid {
            assert_eq!(WireTimestamp { seconds, nanos }.to_timestamp(), None, "{seconds} {nanos}");
        }
    }

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
