//! How a migration's statements wait for the table locks they need on PostgreSQL. A statement
//! waiting for a lock queues every later request for that table behind it, so a migration
//! blocked by a long transaction would stall the application; each statement therefore waits
//! at most a lock timeout, and a migration that gives up is rolled back and tried again after
//! a pause, naming the sessions that held the lock (docs/safe-migrations.md).

use std::fmt;
use std::time::Duration;

/// What a file asks of the lock timeout (`-- godwit:lock-timeout 30s` or `off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockTimeout {
    Off,
    After(Duration),
}

/// How long each statement of a migration waits for a lock, and how often a migration that
/// gave up is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockWaits {
    /// `None`: statements wait as long as the server lets them (its own `lock_timeout`).
    pub timeout: Option<Duration>,
    /// Tries after the first.
    pub retries: u32,
}

impl Default for LockWaits {
    /// Five seconds, three retries.
    fn default() -> LockWaits {
        LockWaits { timeout: Some(Duration::from_secs(5)), retries: 3 }
    }
}

impl LockWaits {
    /// The pause before retry `n` (from 1): half a second, doubled each time, at most ten.
    pub fn pause(&self, n: u32) -> Duration {
        let half_seconds = 1u64 << n.saturating_sub(1).min(5);
        Duration::from_millis(500 * half_seconds).min(Duration::from_secs(10))
    }

    /// The timeout of a migration's statements, with what its file asks.
    pub fn of_file(&self, file: Option<LockTimeout>) -> Option<Duration> {
        match file {
            Some(LockTimeout::Off) => None,
            Some(LockTimeout::After(timeout)) => Some(timeout),
            None => self.timeout,
        }
    }
}

/// A session that held a lock on a table a statement waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    pub pid: i64,
    /// Its `application_name`, when it set one.
    pub application: String,
    /// `active`, `idle in transaction`...
    pub state: String,
    /// Its transaction's age (or its query's, outside a transaction).
    pub age: Duration,
    /// Its current or last query, cut to 200 characters.
    pub query: String,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let age = humantime::format_duration(Duration::from_secs(self.age.as_secs()));
        write!(f, "pid {}", self.pid)?;
        if !self.application.is_empty() {
            write!(f, " ({})", self.application)?;
        }
        write!(f, ", {} for {age}: {}", self.state, self.query.trim())
    }
}

/// The SQLSTATE PostgreSQL ends a statement with when its lock timeout passes.
pub(crate) const LOCK_NOT_AVAILABLE: &str = "55P03";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_ten_seconds() {
        let waits = LockWaits::default();
        let pauses: Vec<u64> = (1..=7).map(|n| waits.pause(n).as_millis() as u64).collect();
        assert_eq!(pauses, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }

    #[test]
    fn a_file_sets_or_turns_off_the_timeout() {
        let waits = LockWaits::default();
        assert_eq!(waits.of_file(None), Some(Duration::from_secs(5)));
        assert_eq!(waits.of_file(Some(LockTimeout::Off)), None);
        let thirty = Duration::from_secs(30);
        assert_eq!(waits.of_file(Some(LockTimeout::After(thirty))), Some(thirty));
    }
}
