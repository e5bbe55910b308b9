//! The flags that size, time out, retry and throttle the batches of batched migrations, and
//! how they become the engine's [`BatchPolicy`] and [`Throttle`].

use crate::cli::parse_duration;
use crate::failure::Failure;
use clap::Args;
use godwit::transforms::{BatchPolicy, Throttle};
use std::time::Duration;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Batched migrations")]
pub struct BatchArgs {
    /// Rows per batch. Alone, every batch has this size; with --batch-target, the first
    /// [default: batches of about 200ms, starting at 1000 rows]
    #[arg(long, value_name = "ROWS")]
    pub batch_size: Option<u32>,
    /// Grow or shrink each batch towards this duration, like 200ms
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub batch_target: Option<Duration>,
    /// The smallest adaptive batch, and the floor of a retried one [default: 100]
    #[arg(long, value_name = "ROWS")]
    pub batch_min: Option<u32>,
    /// The largest adaptive batch [default: 100000]
    #[arg(long, value_name = "ROWS")]
    pub batch_max: Option<u32>,
    /// Pause between batches, like 100ms, to spare a busy database
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub batch_pause: Option<Duration>,
    /// PostgreSQL: how long a batch waits for a row or table lock [default: 2s]
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub batch_lock_timeout: Option<Duration>,
    /// PostgreSQL: how long one statement of a batch may run [default: 30s]
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub batch_statement_timeout: Option<Duration>,
    /// Retries of a batch that timed out or deadlocked, each smaller, before giving up
    /// [default: 5]
    #[arg(long, value_name = "N")]
    pub batch_retries: Option<u32>,
    /// PostgreSQL: hold off while a streaming replica replays further behind than this
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub max_replica_lag: Option<Duration>,
    /// Hold off while this query's first value is true, like
    /// "select count(*) > 50 from pg_stat_activity where state = 'active'"
    #[arg(long, value_name = "SQL")]
    pub throttle_when: Option<String>,
}

impl BatchArgs {
    /// The engine's policy and throttle, or why the flags do not make one.
    pub fn settings(&self) -> Result<(BatchPolicy, Throttle), Failure> {
        let defaults = BatchPolicy::default();
        // Only what was given is set on the policy: what is left at its default, a migration
        // may declare for itself.
        let mut policy = match (self.batch_size, self.batch_target) {
            (Some(size), None) => BatchPolicy::fixed(size),
            (size, target) => {
                if target.is_some_and(|t| t.is_zero()) {
                    return Err(Failure::config("--batch-target must be longer than 0")
                        .hint("use --batch-size alone for batches of one size"));
                }
                let policy = target.map_or_else(BatchPolicy::default, BatchPolicy::adaptive);
                policy.starting_at(size.unwrap_or(defaults.size))
            }
        };
        if self.batch_size == Some(0) {
            return Err(Failure::config("--batch-size must be at least 1 row"));
        }
        let (min, max) =
            (self.batch_min.unwrap_or(policy.min), self.batch_max.unwrap_or(policy.max));
        if min == 0 || min > max {
            return Err(Failure::config(format!(
                "--batch-min {min} and --batch-max {max} leave no batch size"
            ))
            .hint("give a --batch-min of at least 1 and no larger than --batch-max"));
        }
        if let Some(size) = self.batch_size
            && policy.target.is_some()
            && !(min..=max).contains(&size)
        {
            return Err(Failure::config(format!(
                "--batch-size {size} is outside --batch-min {min} .. --batch-max {max}"
            )));
        }
        if self.batch_min.is_some() || self.batch_max.is_some() {
            policy = policy.bounds(min, max);
        }
        policy = policy
            .pause(self.batch_pause.unwrap_or_default())
            .timeouts(
                self.batch_lock_timeout.unwrap_or(defaults.lock_timeout),
                self.batch_statement_timeout.unwrap_or(defaults.statement_timeout),
            )
            .retries(self.batch_retries.unwrap_or(defaults.retries));
        let mut throttle = Throttle::default();
        if let Some(lag) = self.max_replica_lag {
            throttle = throttle.max_replica_lag(lag);
        }
        if let Some(sql) = &self.throttle_when {
            if sql.trim().is_empty() {
                return Err(Failure::config("--throttle-when needs a query"));
            }
            throttle = throttle.probe(sql.clone());
        }
        Ok((policy, throttle))
    }
}
