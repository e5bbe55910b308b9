//! How the batches of a batched migration are sized, bounded, timed out and retried.

use std::time::Duration;

/// How the batches of batched migrations are sized and how a failed batch is retried.
///
/// The default is adaptive: the first batch has 1,000 rows, then the size moves towards
/// batches of 200 ms, between 100 and 100,000 rows. [`BatchPolicy::fixed`] keeps one size.
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
        }
    }
}

impl BatchPolicy {
    /// Every batch `size` rows (at least 1), as long as it takes.
    pub fn fixed(size: u32) -> BatchPolicy {
        let size = size.max(1);
        BatchPolicy { size, target: None, min: size.min(100), ..BatchPolicy::default() }
    }

    /// Batches that move towards `target`, starting from the default size.
    pub fn adaptive(target: Duration) -> BatchPolicy {
        BatchPolicy { target: Some(target), ..BatchPolicy::default() }
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
