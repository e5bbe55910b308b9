//! The batch size of one transform's run: fixed, or steered towards a target duration from
//! the rows per second the batches so far achieved, smoothed so that one slow batch (a
//! checkpoint, a cold cache) moves it a little and not to the floor.

use super::BatchPolicy;
use std::time::Duration;

/// Weight of the newest batch in the smoothed rate.
const NEWEST: f64 = 0.3;
/// The most one batch may grow or shrink the size by, as a factor.
const STEP: f64 = 2.0;

#[derive(Clone, Debug)]
pub(crate) struct Controller {
    policy: BatchPolicy,
    size: u32,
    /// Rows per second, smoothed over the batches so far.
    rate: Option<f64>,
}

impl Controller {
    pub(crate) fn new(policy: &BatchPolicy) -> Controller {
        let size = match policy.target {
            Some(_) => policy.size.clamp(policy.min, policy.max),
            None => policy.size,
        };
        Controller { policy: policy.clone(), size, rate: None }
    }

    /// Rows for the next batch.
    pub(crate) fn size(&self) -> u32 {
        self.size
    }

    /// A batch of `rows` rows committed after `elapsed`.
    pub(crate) fn record(&mut self, rows: u64, elapsed: Duration) {
        let Some(target) = self.policy.target else { return };
        if rows == 0 || elapsed.is_zero() {
            return;
        }
        let newest = rows as f64 / elapsed.as_secs_f64();
        let rate = self.rate.map_or(newest, |old| old * (1.0 - NEWEST) + newest * NEWEST);
        self.rate = Some(rate);
        let current = f64::from(self.size);
        let ideal = (rate * target.as_secs_f64()).clamp(current / STEP, current * STEP);
        self.size = (ideal.round() as u32).clamp(self.policy.min, self.policy.max);
    }

    /// A batch failed (a timeout, a deadlock) or held others up: half the size, not below the
    /// floor, and the rate forgotten so it is measured again at the new size.
    pub(crate) fn shrink(&mut self) {
        self.size = (self.size / 2).max(self.policy.min.min(self.size)).max(1);
        self.rate = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_fixed_size_stays() {
        let mut c = Controller::new(&BatchPolicy::fixed(5000));
        c.record(5000, ms(2000));
        assert_eq!(c.size(), 5000);
    }

    #[test]
    fn the_size_moves_towards_the_target_by_at_most_twice_a_batch() {
        let mut c = Controller::new(&BatchPolicy::adaptive(ms(200)));
        // 1,000 rows in 20 ms: 50k rows/s, 10k rows would take 200 ms; one step doubles.
        c.record(1000, ms(20));
        assert_eq!(c.size(), 2000);
        for _ in 0..10 {
            let size = c.size();
            c.record(u64::from(size), ms(u64::from(size) / 50));
        }
        assert_eq!(c.size(), 10_000);
    }

    #[test]
    fn one_slow_batch_does_not_collapse_the_size() {
        let mut c = Controller::new(&BatchPolicy::adaptive(ms(200)).starting_at(10_000));
        for _ in 0..5 {
            c.record(10_000, ms(200));
        }
        assert_eq!(c.size(), 10_000);
        c.record(10_000, ms(2000)); // ten times slower once
        assert!(c.size() > 7000, "{}", c.size());
        c.record(10_000, ms(200));
        assert!(c.size() > 7000, "{}", c.size());
    }

    #[test]
    fn bounds_hold_and_shrinking_stops_at_the_floor() {
        let policy = BatchPolicy::adaptive(ms(200)).bounds(500, 4000);
        let mut c = Controller::new(&policy);
        for _ in 0..10 {
            c.record(u64::from(c.size()), ms(1));
        }
        assert_eq!(c.size(), 4000);
        for _ in 0..10 {
            c.shrink();
        }
        assert_eq!(c.size(), 500);
        let mut fixed = Controller::new(&BatchPolicy::fixed(50));
        fixed.shrink();
        assert_eq!(fixed.size(), 50, "a fixed size below the default floor stays");
        let mut fixed = Controller::new(&BatchPolicy::fixed(1000));
        fixed.shrink();
        assert_eq!(fixed.size(), 500);
    }
}
