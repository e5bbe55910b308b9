//! How the batches of a batched migration are sized, bounded, timed out and retried.

use crate::driver::Dialect;
use std::time::Duration;

/// How the batches of batched migrations are sized and how a failed batch is retried.
///
/// The default is adaptive: the first batch has 1,000 rows, then the size moves towards
/// batches of 200 ms, between 100 and 100,000 rows. [`BatchPolicy::fixed`] keeps one size.
///
/// A component migration may declare its own target and bounds (contract 0.2.2's
/// `options.declare`); they replace the defaults, but not what was set for the run: a policy
/// made by [`BatchPolicy::fixed`] or [`BatchPolicy::adaptive`] keeps its target, and one
/// given [`BatchPolicy::bounds`] keeps its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchPolicy {
    /// Rows of the first batch, and of every batch when `target` is `None`.
    pub size: u32,
    /// How long a batch should take; the size grows and shrinks towards it.
    pub target: Option<Duration>,
    /// The smallest size the controller (or a retry) goes down to.
    pub min: u32,
    /// The largest size the controller goes up to.
    pub max: u32,
    /// A pause after every batch, to spare a busy database.
    pub pause: Duration,
    /// PostgreSQL: how long a batch's statements wait for a lock (`lock_timeout`).
    pub lock_timeout: Duration,
    /// PostgreSQL: how long one statement of a batch may run (`statement_timeout`).
    pub statement_timeout: Duration,
    /// How many times one batch is retried after a timeout, a deadlock or a serialization
    /// failure (each time smaller, after a growing wait) before the transform fails.
    pub retries: u32,
    /// Which sizing settings were set for the run rather than left at their defaults: those
    /// win over what a migration declares for itself.
    pinned: Pinned,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Pinned {
    target: bool,
    bounds: bool,
}

impl Default for BatchPolicy {
    fn default() -> BatchPolicy {
        BatchPolicy {
            size: 1000,
            target: Some(Duration::from_millis(200)),
            min: 100,
            max: 100_000,
            pause: Duration::ZERO,
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(30),
            retries: 5,
            pinned: Pinned::default(),
        }
    }
}

impl BatchPolicy {
    /// Every batch `size` rows (at least 1), as long as it takes.
    pub fn fixed(size: u32) -> BatchPolicy {
        let size = size.max(1);
        let pinned = Pinned { target: true, bounds: true };
        BatchPolicy { size, target: None, min: size.min(100), pinned, ..BatchPolicy::default() }
    }

    /// Batches that move towards `target`, starting from the default size.
    pub fn adaptive(target: Duration) -> BatchPolicy {
        let pinned = Pinned { target: true, bounds: false };
        BatchPolicy { target: Some(target), pinned, ..BatchPolicy::default() }
    }

    /// The first batch's size (every batch's, for a fixed policy).
    pub fn starting_at(mut self, size: u32) -> BatchPolicy {
        self.size = size.max(1);
        self
    }

    /// The bounds of an adaptive size, and the floor of a retried batch's (at least 1 row;
    /// a `max` below `min` is raised to it).
    pub fn bounds(mut self, min: u32, max: u32) -> BatchPolicy {
        self.min = min.max(1);
        self.max = max.max(self.min);
        self.pinned.bounds = true;
        self
    }

    pub fn pause(mut self, pause: Duration) -> BatchPolicy {
        self.pause = pause;
        self
    }

    pub fn timeouts(mut self, lock: Duration, statement: Duration) -> BatchPolicy {
        self.lock_timeout = lock;
        self.statement_timeout = statement;
        self
    }

    pub fn retries(mut self, retries: u32) -> BatchPolicy {
        self.retries = retries;
        self
    }
}

impl BatchPolicy {
    /// The policy for one migration: what it declared, where the run left the setting at its
    /// default. Declared bounds that the first batch's size falls outside of move it in.
    pub fn for_migration(&self, options: &crate::wasm::RunOptions) -> BatchPolicy {
        let mut policy = self.clone();
        if !self.pinned.target
            && let Some(target) = options.batch_target
        {
            policy.target = Some(target);
        }
        if !self.pinned.bounds {
            let min = options.batch_min.unwrap_or(policy.min);
            let max = options.batch_max.unwrap_or(policy.max);
            // One declared bound beyond the default other: the declared one stands.
            let (min, max) = match (options.batch_min, options.batch_max) {
                (Some(_), None) => (min, max.max(min)),
                (None, Some(_)) => (min.min(max), max),
                _ => (min, max),
            };
            policy.min = min.max(1);
            policy.max = max.max(policy.min);
        }
        if policy.target.is_some() {
            policy.size = policy.size.clamp(policy.min, policy.max);
        }
        policy
    }

    /// The statement that bounds a batch's waits, where the database has one per
    /// transaction.
    pub(crate) fn timeouts_sql(&self, dialect: Dialect) -> Option<String> {
        match dialect {
            Dialect::Postgres => Some(format!(
                "SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'",
                self.lock_timeout.as_millis(),
                self.statement_timeout.as_millis()
            )),
            _ => None,
        }
    }

    /// The wait before retry `attempt` (1, 2, ...) of a batch that lost a race: 200 ms
    /// doubled each time, up to [`MAX_BACKOFF`].
    pub(crate) fn backoff(attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        (Duration::from_millis(200) * factor).min(MAX_BACKOFF)
    }
}

/// The longest wait before a retried batch.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::RunOptions;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let ms = |n| Duration::from_millis(n);
        let backoff = BatchPolicy::backoff;
        assert_eq!([1, 2, 3].map(backoff), [ms(200), ms(400), ms(800)]);
        assert_eq!(backoff(9), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    fn declared(target: Option<u64>, min: Option<u32>, max: Option<u32>) -> RunOptions {
        RunOptions {
            batch_target: target.map(Duration::from_millis),
            batch_min: min,
            batch_max: max,
            ..RunOptions::default()
        }
    }

    #[test]
    fn a_migration_replaces_the_defaults() {
        let policy = BatchPolicy::default().for_migration(&declared(Some(50), Some(10), Some(500)));
        assert_eq!(policy.target, Some(Duration::from_millis(50)));
        assert_eq!((policy.min, policy.max, policy.size), (10, 500, 500));
        let only_max = BatchPolicy::default().for_migration(&declared(None, None, Some(50)));
        assert_eq!((only_max.min, only_max.max, only_max.size), (50, 50, 50));
        let only_min = BatchPolicy::default().for_migration(&declared(None, Some(200_000), None));
        assert_eq!((only_min.min, only_min.max), (200_000, 200_000));
        assert_eq!(
            BatchPolicy::default().for_migration(&RunOptions::default()),
            BatchPolicy::default()
        );
    }

    #[test]
    fn what_the_run_set_wins() {
        let options = declared(Some(50), Some(10), Some(500));
        let fixed = BatchPolicy::fixed(5000).for_migration(&options);
        assert_eq!((fixed.target, fixed.size), (None, 5000));
        let adaptive = BatchPolicy::adaptive(Duration::from_secs(1)).for_migration(&options);
        assert_eq!(adaptive.target, Some(Duration::from_secs(1)));
        assert_eq!((adaptive.min, adaptive.max), (10, 500));
        let bounded = BatchPolicy::default().bounds(1, 2000).for_migration(&options);
        assert_eq!(bounded.target, Some(Duration::from_millis(50)));
        assert_eq!((bounded.min, bounded.max), (1, 2000));
    }
}
