//! The progress of a batched migration: a bar on a terminal, otherwise a line every few
//! seconds; rows done of the guest's estimate, rows per second since the run's first batch,
//! the current batch size, the time left, and why the transform holds off when it does.

use crate::printer::{CYAN, Printer, YELLOW};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// How often progress is printed when stderr is not a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub struct Backfill {
    bar: Option<ProgressBar>,
    /// When the run's first batch started, and the rows done before it (a resumed transform).
    started: Instant,
    base: u64,
    last_line: Option<Instant>,
    pub rows: u64,
    /// Why the transform holds off, until the next batch commits.
    held: Option<String>,
}

/// One committed batch, as the engine reported it.
pub struct BatchDone {
    pub rows_done: u64,
    pub processed: u64,
    pub estimated_total: Option<u64>,
    pub batch_size: u32,
    pub elapsed: Duration,
}

impl Backfill {
    pub fn new(first: &BatchDone) -> Backfill {
        let started = Instant::now().checked_sub(first.elapsed).unwrap_or_else(Instant::now);
        Backfill {
            bar: None,
            started,
            base: first.rows_done.saturating_sub(first.processed),
            last_line: None,
            rows: first.rows_done,
            held: None,
        }
    }

    /// Rows per second since the run's first batch started.
    fn rate(&self) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        match seconds > 0.0 {
            true => self.rows.saturating_sub(self.base) as f64 / seconds,
            false => 0.0,
        }
    }

    /// `12,345 rows/s, batch 4,000, ETA 2m 30s` (or why it holds off).
    fn summary(&self, total: Option<u64>, batch_size: u32) -> String {
        let rate = self.rate();
        let mut text = format!(
            "{} rows/s, batch {}",
            thousands(rate.round() as u64),
            thousands(u64::from(batch_size))
        );
        if let Some(total) = total.filter(|t| *t > self.rows)
            && rate > 0.0
        {
            let left = Duration::from_secs(((total - self.rows) as f64 / rate).ceil() as u64);
            text.push_str(&format!(", ETA {}", humantime::format_duration(left)));
        }
        if let Some(reason) = &self.held {
            text.push_str(&format!(", holding off: {reason}"));
        }
        text
    }

    /// A committed batch: on the bar when `bar` (a terminal, one transform at a time), else a
    /// line every few seconds.
    pub fn batch(&mut self, printer: &mut Printer, label: &str, done: &BatchDone, bar: bool) {
        self.rows = done.rows_done;
        self.held = None;
        if printer.verbosity == crate::printer::Verbosity::Quiet {
            return;
        }
        let total = done.estimated_total.map(|t| t.max(done.rows_done));
        let summary = self.summary(total, done.batch_size);
        if bar {
            let bar = self.bar.get_or_insert_with(new_bar);
            bar.set_length(total.unwrap_or(done.rows_done));
            bar.set_position(done.rows_done);
            bar.set_message(summary);
            return;
        }
        if self.last_line.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
            self.last_line = Some(Instant::now());
            let of = total.map(|t| format!(" of about {}", thousands(t))).unwrap_or_default();
            let rows = thousands(done.rows_done);
            printer.status("Progress", CYAN, format!("{label}: {rows}{of} rows, {summary}"));
        }
    }

    /// The transform holds off for `reason`, shown until the next batch commits.
    pub fn held(&mut self, reason: String) {
        self.held = Some(reason);
    }

    /// The bar, once a batch has drawn it on a terminal.
    pub fn bar(&self) -> Option<&ProgressBar> {
        self.bar.as_ref()
    }

    /// Clears the bar; the rows done.
    pub fn finish(self) -> u64 {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        self.rows
    }
}

/// A warning line, above the bar when there is one (also with none: a backfill's first batch
/// has not committed yet).
pub fn above(bar: Option<&ProgressBar>, printer: &mut Printer, verb: &str, line: String) {
    match bar {
        Some(bar) => bar.suspend(|| printer.status(verb, YELLOW, line)),
        None => printer.status(verb, YELLOW, line),
    }
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{prefix:>12.cyan.bold} [{bar:30}] {human_pos}/{human_len} rows, {msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix("Backfilling");
    bar
}

/// A fleet's bar: databases done of all, and how many failed and run now.
pub fn fleet_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    let style = ProgressStyle::with_template(
        "{prefix:>12.cyan.bold} [{bar:30}] {pos}/{len} databases, {msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix("Fleet");
    bar
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(82_532), "82,532");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_estimate_and_a_rounded_rate_stay_in_the_summary() {
        let first = BatchDone {
            rows_done: 1000,
            processed: 1000,
            estimated_total: Some(10_000),
            batch_size: 1000,
            elapsed: Duration::from_millis(100),
        };
        let progress = Backfill::new(&first);
        let summary = progress.summary(Some(10_000), 2000);
        assert!(summary.contains(" rows/s, batch 2,000, ETA "), "{summary}");
        assert!(!summary.contains('.'), "an unrounded rate: {summary}");
    }
}
