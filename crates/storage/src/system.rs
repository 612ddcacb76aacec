//! The real clock and the operating system's random source, for the service's ports.

use persona_domain::ports::{Clock, Random};
use persona_domain::time::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        now()
    }
}

/// Now, in microseconds since the epoch.
pub(crate) fn now() -> Timestamp {
    let micros =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_unix_micros(micros)
}

/// Random bytes from the operating system (`getrandom`), made by [`OsRandom::new`] once the
/// source has answered.
#[derive(Debug, Clone, Copy)]
pub struct OsRandom {
    _checked: (),
}

/// The operating system has no working random source (no `getrandom` system call and no
/// `/dev/urandom`, as in some sandboxes).
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomUnavailable(String);

impl OsRandom {
    /// The operating system's random source, checked by drawing from it once, so that a
    /// missing source stops the start with an error rather than a request later.
    ///
    /// # Errors
    /// [`RandomUnavailable`] when the source does not answer.
    pub fn new() -> Result<Self, RandomUnavailable> {
        getrandom::fill(&mut [0u8; 1]).map_err(|error| RandomUnavailable(error.to_string()))?;
        Ok(Self { _checked: () })
    }
}

impl Random for OsRandom {
    #[expect(
        clippy::panic,
        reason = "the source answered in OsRandom::new, and once it has, getrandom does not fail; should \
                  it still, stopping is better than issuing guessable tokens"
    )]
    fn fill(&self, bytes: &mut [u8]) {
        if let Err(error) = getrandom::fill(bytes) {
            panic!("the operating system's random source failed: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ_between_calls() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        let random = OsRandom::new().expect("this machine has a random source");
        random.fill(&mut a);
        random.fill(&mut b);
        assert_ne!(a, b);
    }
}
