//! `google.protobuf.Timestamp` with proto3-JSON serde that matches the contract.
//!
//! `pbjson_types::Timestamp` writes `+00:00` as the UTC offset; proto3 JSON (and
//! ZITADEL's clients) expect RFC 3339 in UTC with a `Z` suffix and 0, 3, 6 or 9
//! fractional digits, e.g. `2026-11-28T14:07:59.123456Z`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::Visitor;

/// Seconds of `0001-01-01T00:00:00Z`, the smallest timestamp proto3 JSON allows.
const MIN_SECONDS: i64 = -62_135_596_800;
/// Seconds of `9999-12-31T23:59:59Z`, the largest timestamp proto3 JSON allows.
const MAX_SECONDS: i64 = 253_402_300_799;

/// A point in time: seconds and nanoseconds since the Unix epoch, in UTC.
///
/// Wire-identical to `google.protobuf.Timestamp`; JSON is RFC 3339 with `Z`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since `1970-01-01T00:00:00Z`.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Non-negative fraction of a second, `0..=999_999_999`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl ::prost::Name for Timestamp {
    const NAME: &'static str = "Timestamp";
    const PACKAGE: &'static str = "google.protobuf";

    fn type_url() -> String {
        "type.googleapis.com/google.protobuf.Timestamp".to_owned()
    }
}

impl TryFrom<Timestamp> for DateTime<Utc> {
    type Error = &'static str;

    fn try_from(value: Timestamp) -> Result<Self, Self::Error> {
        let nanos = u32::try_from(value.nanos).map_err(|_| "timestamp nanos out of range")?;
        if nanos > 999_999_999 {
            return Err("timestamp nanos out of range");
        }
        Self::from_timestamp(value.seconds, nanos).ok_or("timestamp out of range")
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self {
            seconds: value.timestamp(),
            // Always < 2 * 10^9 (leap seconds included), so it fits in i32.
            nanos: i32::try_from(value.timestamp_subsec_nanos()).unwrap_or(i32::MAX),
        }
    }
}

impl From<std::time::SystemTime> for Timestamp {
    fn from(value: std::time::SystemTime) -> Self {
        let (seconds, nanos) = match value.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => (i64::try_from(after.as_secs()).unwrap_or(i64::MAX), after.subsec_nanos()),
            Err(err) => {
                // Before the epoch: borrow one second so that nanos stays non-negative.
                let before = err.duration();
                let seconds = i64::try_from(before.as_secs()).map_or(i64::MIN, |s| -s);
                match before.subsec_nanos() {
                    0 => (seconds, 0),
                    n => (seconds.saturating_sub(1), 1_000_000_000 - n),
                }
            }
        };
        Self {
            seconds,
            // Always < 10^9, so it fits in i32.
            nanos: i32::try_from(nanos).unwrap_or(i32::MAX),
        }
    }
}

impl From<::pbjson_types::Timestamp> for Timestamp {
    fn from(value: ::pbjson_types::Timestamp) -> Self {
        Self { seconds: value.seconds, nanos: value.nanos }
    }
}

impl From<Timestamp> for ::pbjson_types::Timestamp {
    fn from(value: Timestamp) -> Self {
        Self { seconds: value.seconds, nanos: value.nanos }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds) {
            return Err(S::Error::custom("timestamp out of range for JSON"));
        }
        let time = DateTime::<Utc>::try_from(*self).map_err(S::Error::custom)?;
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an RFC 3339 timestamp string")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Timestamp, E> {
                if fraction_digits(value) > 9 {
                    return Err(E::custom("timestamp has more than 9 fractional digits"));
                }
                // RFC 3339's readability variant with a space is not proto3 JSON.
                if !matches!(value.as_bytes().get(10), Some(b'T' | b't')) {
                    return Err(E::custom("timestamp must separate date and time with T"));
                }
                let time = DateTime::parse_from_rfc3339(value).map_err(E::custom)?;
                let timestamp = Timestamp::from(time.with_timezone(&Utc));
                // chrono reads a leap second (`23:59:60`) as nanos past 10^9; protobuf has none.
                if (MIN_SECONDS..=MAX_SECONDS).contains(&timestamp.seconds) && timestamp.nanos < 1_000_000_000 {
                    Ok(timestamp)
                } else {
                    Err(E::custom("timestamp out of range"))
                }
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// How many digits follow the seconds' decimal point in an RFC 3339 value (`…:59.123Z`: 3).
fn fraction_digits(value: &str) -> usize {
    // `YYYY-MM-DDTHH:MM:SS` is 19 bytes; a fraction starts right after it.
    value
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map_or(0, |rest| rest.bytes().take_while(u8::is_ascii_digit).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_z_and_minimal_fraction_groups() {
        let cases = [
            ((1_795_874_879, 123_456_000), "\"2026-11-28T14:07:59.123456Z\""),
            ((1_795_874_879, 0), "\"2026-11-28T14:07:59Z\""),
            ((1_795_874_879, 120_000_000), "\"2026-11-28T14:07:59.120Z\""),
            ((1_795_874_879, 1), "\"2026-11-28T14:07:59.000000001Z\""),
            ((0, 0), "\"1970-01-01T00:00:00Z\""),
        ];
        for ((seconds, nanos), want) in cases {
            let ts = Timestamp { seconds, nanos };
            let json = serde_json::to_string(&ts).unwrap();
            assert_eq!(json, want);
            let back: Timestamp = serde_json::from_str(&json).unwrap();
            assert_eq!(back, ts);
        }
    }

    #[test]
    fn json_input_accepts_offsets_and_rejects_garbage() {
        let ts: Timestamp = serde_json::from_str("\"2026-11-28T16:07:59.5+02:00\"").unwrap();
        assert_eq!(ts, Timestamp { seconds: 1_795_874_879, nanos: 500_000_000 });
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("1795874879").is_err());
    }

    #[test]
    fn json_input_is_rfc3339_with_at_most_nine_fractional_digits_in_protobufs_range() {
        let accepted = [
            ("\"0001-01-01T00:00:00Z\"", MIN_SECONDS, 0),
            ("\"9999-12-31T23:59:59.999999999Z\"", MAX_SECONDS, 999_999_999),
            ("\"2026-11-28T14:07:59.123456789Z\"", 1_795_874_879, 123_456_789),
        ];
        for (json, seconds, nanos) in accepted {
            assert_eq!(serde_json::from_str::<Timestamp>(json).expect(json), Timestamp { seconds, nanos });
        }
        let rejected = [
            "\"2026-11-28T14:07:59.1234567890Z\"",
            "\"10000-01-01T00:00:00Z\"",
            "\"2026-12-31T23:59:60Z\"",
            "\"0000-12-31T23:59:59Z\"",
            "\"9999-12-31T23:59:59-01:00\"",
            "\"2026-11-28 14:07:59Z\"",
        ];
        for json in rejected {
            assert!(serde_json::from_str::<Timestamp>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn from_system_time_keeps_nanos_non_negative() {
        use std::time::{Duration, UNIX_EPOCH};
        let after = Timestamp::from(UNIX_EPOCH + Duration::new(5, 250));
        assert_eq!((after.seconds, after.nanos), (5, 250));
        let before = Timestamp::from(UNIX_EPOCH - Duration::new(1, 500_000_000));
        assert_eq!((before.seconds, before.nanos), (-2, 500_000_000));
    }

    #[test]
    fn json_rejects_out_of_range() {
        let too_late = Timestamp { seconds: MAX_SECONDS + 1, nanos: 0 };
        assert!(serde_json::to_string(&too_late).is_err());
        let bad_nanos = Timestamp { seconds: 0, nanos: -1 };
        assert!(serde_json::to_string(&bad_nanos).is_err());
    }
}
