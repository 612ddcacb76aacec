//! Identifiers: decimal strings from a time-ordered generator, as ZITADEL clients know them
//! (`259242039378444290`).

use std::fmt;
use std::sync::Mutex;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id known to be well formed: generated here, or read back from storage.
            /// Ids from requests go through [`Self::parse`].
            #[must_use]
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// An id from a request, named `field` there: 1..200 characters, no U+0000.
            ///
            /// # Errors
            /// InvalidArgument naming `field`.
            pub fn parse(field: &'static str, raw: &str) -> Result<Self, crate::Error> {
                let mut v = crate::validation::Validator::new();
                v.length(field, raw, crate::rules::NAME);
                v.finish()?;
                Ok(Self(raw.to_owned()))
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The id of a user, human or machine.
    UserId
);
string_id!(
    /// The id of an organisation.
    OrgId
);
string_id!(
    /// The id of a personal access token.
    TokenId
);

/// Milliseconds from the Unix epoch to 2019-01-01T00:00:00Z, the generator's epoch.
const EPOCH_MILLIS: i64 = 1_546_300_800_000;
const NODE_BITS: u32 = 10;
const SEQUENCE_BITS: u32 = 12;
const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;

/// Makes unique, time-ordered decimal ids: milliseconds since 2019 in the high bits, then a
/// node number (so several instances on one database do not collide) and a per-millisecond
/// counter. Ids from one generator strictly increase, even if the clock steps back.
#[derive(Debug)]
pub struct IdGenerator {
    node: u64,
    state: Mutex<(i64, u64)>,
}

impl IdGenerator {
    /// A generator for node `node` (only the low 10 bits are used; pick it at random per process).
    #[must_use]
    pub fn new(node: u16) -> Self {
        Self { node: u64::from(node) & ((1 << NODE_BITS) - 1), state: Mutex::new((0, 0)) }
    }

    /// The next id, given the current time in milliseconds since the Unix epoch.
    pub fn next(&self, now_millis: i64) -> String {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last_millis, sequence) = *state;
        let now = (now_millis - EPOCH_MILLIS).max(0);
        let (millis, sequence) = if now > last_millis {
            (now, 0)
        } else if sequence < MAX_SEQUENCE {
            (last_millis, sequence + 1)
        } else {
            // The counter of this millisecond is used up: borrow the next millisecond.
            (last_millis + 1, 0)
        };
        *state = (millis, sequence);
        drop(state);
        // `millis` is non-negative, so the cast keeps its value.
        let id = ((millis as u64) << (NODE_BITS + SEQUENCE_BITS)) | (self.node << SEQUENCE_BITS) | sequence;
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_requests_are_refused_when_empty_too_long_or_holding_nul() {
        let long = "1".repeat(201);
        for (case, raw) in [("empty", ""), ("201 characters", long.as_str()), ("NUL", "12\u{0}3")] {
            let error = UserId::parse("userId", raw).expect_err(case);
            assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument, "{case}");
            assert_eq!(error.field_violations()[0].field, "userId", "{case}");
        }
        assert_eq!(OrgId::parse("orgId", &"😀".repeat(200)).map(|id| id.as_str().chars().count()), Ok(200));
    }

    proptest::proptest! {
        #[test]
        fn any_id_of_1_to_200_characters_without_nul_is_accepted(raw in "[^\\x00]{1,200}") {
            proptest::prop_assert_eq!(UserId::parse("userId", &raw).map(UserId::into_string), Ok(raw.clone()));
        }
    }
    use std::collections::HashSet;

    #[test]
    fn ids_are_decimal_and_look_like_zitadel_ids() {
        let id = IdGenerator::new(7).next(1_795_868_879_123);
        assert!(id.chars().all(|c| c.is_ascii_digit()));
        assert!((18..=19).contains(&id.len()), "{id}");
    }

    #[test]
    fn ids_strictly_increase_within_a_millisecond_and_when_the_clock_steps_back() {
        let generator = IdGenerator::new(1);
        let mut previous = 0u64;
        let mut seen = HashSet::new();
        for i in 0..10_000 {
            let now = 1_795_868_879_000 - (i % 3);
            let id: u64 = generator.next(now).parse().expect("decimal id");
            assert!(id > previous);
            assert!(seen.insert(id));
            previous = id;
        }
    }

    #[test]
    fn different_nodes_never_collide_at_the_same_instant() {
        let a = IdGenerator::new(1).next(1_795_868_879_000);
        let b = IdGenerator::new(2).next(1_795_868_879_000);
        assert_ne!(a, b);
    }
}
