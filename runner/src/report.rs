//! How the engine tells its caller what is happening. The engine never prints; the CLI turns
//! events into status lines and progress, and an embedding application may log them.

use crate::plan::Step;
use crate::source::SourceEvent;
use std::path::Path;
use std::time::Duration;

#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The Python, JavaScript or C migration in `dir` is being built (it takes seconds).
    Building {
        dir: &'a Path,
        language: crate::guest_build::Language,
    },
    /// A line a build tool wrote while the migration in `dir` builds (for cargo, its progress
    /// lines: `Compiling ...`, `Finished ...`).
    BuildOutput {
        dir: &'a Path,
        line: &'a str,
    },
    /// A folder whose tool orders versions as text (diesel, dbmate) runs `path` after
    /// `before` although its version is smaller (versions of different lengths): godwit
    /// runs them in the tool's order.
    TextOrder {
        format: crate::source::Format,
        path: &'a Path,
        before: &'a Path,
    },
    /// The linter's finding in a migration the run applies; `refuses` when it stops the run
    /// (in a dry run: would stop it).
    Linted {
        finding: &'a crate::lint::Finding,
        refuses: bool,
    },
    /// A statement of `label` waited longer than its lock timeout: the migration was rolled
    /// back (outside a transaction: the statement, which did nothing) and is tried again
    /// after `pause`; `blockers` held locks on the tables it names.
    LockRetry {
        label: &'a str,
        retry: u32,
        retries: u32,
        timeout: Duration,
        pause: Duration,
        blockers: &'a [crate::locks::Blocker],
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
    /// A statement of the running step (or, in a dry run, one it would run, with the locks
    /// it would take on PostgreSQL and the sizes of their relations).
    Statement {
        sql: &'a str,
        line: usize,
        dry_run: bool,
        locks: &'a [crate::lint::Lock],
    },
    StepFinished {
        step: &'a Step<'a>,
        elapsed: Duration,
    },
    /// A batch of a batched migration committed.
    BatchCommitted {
        label: &'a str,
        rows_done: u64,
        /// The guest's latest estimate of all the rows (guests often give it once).
        estimated_total: Option<u64>,
        /// The rows this batch processed, the rows asked of it, and how long it took to
        /// commit.
        processed: u64,
        batch_size: u32,
        elapsed: Duration,
    },
    /// A batch lost a race with other sessions (`error`: a lock or statement timeout, a
    /// deadlock, a serialization failure) and was rolled back; attempt `attempt` follows
    /// after `wait`, with `batch_size` rows.
    BatchRetried {
        label: &'a str,
        error: &'a crate::driver::DbError,
        attempt: u32,
        batch_size: u32,
        wait: Duration,
    },
    /// A migration of the run needs the transform of `label` finished, and a worker is
    /// running it: the run waits for the worker to let go, then finishes it.
    WaitingForTransform {
        label: &'a str,
    },
    /// A batched migration's `up` committed and its batches are queued for a worker.
    TransformQueued {
        label: &'a str,
    },
    /// A worker stopped a transform at a batch boundary: another process paused or
    /// cancelled it.
    TransformStopped {
        label: &'a str,
        state: crate::transforms::TransformState,
    },
    /// A revert undid a batched migration whose transform had stopped (`state`: paused,
    /// cancelled or failed), and dropped the transform with it.
    TransformDropped {
        label: &'a str,
        state: crate::transforms::TransformState,
    },
    /// A worker's transform failed and is marked failed (with `reason`, the error and its
    /// causes on one line); the worker goes on.
    TransformFailed {
        label: &'a str,
        error: &'a crate::Error,
        reason: &'a str,
    },
    /// A batched migration holds off between batches, for `reason`.
    Throttled {
        label: &'a str,
        reason: &'a crate::transforms::ThrottleReason,
    },
    /// A line a component migration logged or printed.
    GuestOutput {
        label: &'a str,
        line: &'a str,
    },
}

impl<'a> From<SourceEvent<'a>> for Event<'a> {
    fn from(event: SourceEvent<'a>) -> Event<'a> {
        match event {
            SourceEvent::Building { dir, language } => Event::Building { dir, language },
            SourceEvent::BuildOutput { dir, line } => Event::BuildOutput { dir, line },
            SourceEvent::TextOrder { format, path, before } => {
                Event::TextOrder { format, path, before }
            }
        }
    }
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
