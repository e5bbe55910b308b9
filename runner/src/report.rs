//! How the engine tells its caller what is happening. The engine never prints; the CLI turns
//! events into status lines and progress, and an embedding application may log them.

use crate::plan::Step;
use std::path::Path;
use std::time::Duration;

#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The Python, JavaScript or C migration in `dir` is being built (it takes seconds).
    Building {
        dir: &'a Path,
        language: crate::build::Language,
    },
    /// A line a build tool wrote while the migration in `dir` builds (for cargo, its progress
    /// lines: `Compiling ...`, `Finished ...`).
    BuildOutput {
        dir: &'a Path,
        line: &'a str,
    },
    /// Another process holds the migration lock; the engine polls until `--lock-timeout`.
    WaitingForLock {
        target: &'a str,
        timeout: Duration,
    },
    /// A step is about to run (or, in a dry run, would run).
    StepStarted {
        step: &'a Step<'a>,
        dry_run: bool,
    },
    /// A statement of the running step (or, in a dry run, one it would run).
    Statement {
        sql: &'a str,
        line: usize,
        dry_run: bool,
    },
    StepFinished {
        step: &'a Step<'a>,
        elapsed: Duration,
    },
    /// A batch of a batched migration committed.
    BatchCommitted {
        label: &'a str,
        rows_done: u64,
        estimated_total: Option<u64>,
    },
    /// A line a component migration logged or printed.
    GuestOutput {
        label: &'a str,
        line: &'a str,
    },
}

pub trait Reporter {
    fn report(&mut self, event: Event<'_>);
}

/// A reporter that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoReport;

impl Reporter for NoReport {
    fn report(&mut self, _event: Event<'_>) {}
}
