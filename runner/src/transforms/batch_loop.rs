//! The batch loop of a batched migration on a live table: `up` commits with an in-progress
//! history row, then each batch of `transform` commits with the cursor it returned, so a crash
//! at any point loses nothing and the next run resumes after the last committed batch. Between
//! batches the loop holds off while the database is unwell ([`Throttle`]); each batch runs
//! under the policy's timeouts, its size steered by the [`Controller`]; a batch that lost a
//! race with the application (a lock timeout, a deadlock) is rolled back and tried again,
//! smaller, after a growing wait.

use crate::driver::DbError;
use crate::error::Error;
use crate::history::{NewRecord, RecordState};
use crate::migration::{Migration, WasmScript};
use crate::plan::{Action, Step};
use crate::report::Event;
use crate::run::{Lent, Mode, Run, Tx, compiled, elapsed_ms, guest_failure, run_guest};
use crate::transforms::state::{self, Progress, TransformState};
use crate::transforms::{BatchPolicy, Controller, Health, ThrottleReason};
use crate::wasm::{Batch, GuestError, Transformer};
use std::time::{Duration, Instant};

/// How a run of a transform's batches ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    Finished,
    /// `up` applied, the batches queued for a worker.
    Queued,
    /// A worker stopped at a batch boundary: the transform was paused or cancelled.
    Stopped(TransformState),
}

pub(crate) fn run_batched(
    run: &mut Run<'_>,
    step: &Step<'_>,
    wasm: &WasmScript,
) -> Result<Duration, Error> {
    let started = Instant::now();
    run_transform(run, step, wasm)?;
    Ok(started.elapsed())
}

/// `up` (unless resuming), then the batches, as the run's mode says.
pub(crate) fn run_transform(
    run: &mut Run<'_>,
    step: &Step<'_>,
    wasm: &WasmScript,
) -> Result<Ended, Error> {
    let migration = step.migration;
    let (cursor, rows_done) = match step.action {
        Action::Resume => run
            .knows
            .applied
            .iter()
            .find(|row| row.records(migration))
            .map_or((None, 0), |row| (row.cursor.clone(), row.rows_done)),
        _ if apply_up(run, step, wasm)? => return Ok(Ended::Queued),
        _ => (None, 0),
    };
    let policy = match migration.run_options() {
        Some(options) => run.knows.batch.for_migration(options),
        None => run.knows.batch.clone(),
    };
    let mut batches = Batches::new(migration, &policy, cursor, rows_done);
    loop {
        if let Some(stopped) = stopped(run, migration)? {
            return Ok(Ended::Stopped(stopped));
        }
        let (health, controller) = (&mut batches.health, &mut batches.controller);
        if let Some(stopped) = hold_off(run, migration, health, controller)? {
            return Ok(Ended::Stopped(stopped));
        }
        match batches.one(run, wasm)? {
            Next::More => {}
            Next::Retry => continue,
            Next::Ended(ended) => return Ok(ended),
        }
        if !policy.pause.is_zero() {
            std::thread::sleep(policy.pause);
        }
    }
}

/// A batched migration's `up`, committed with its history row in progress (and its transform
/// queued, when a worker is to run it); whether it was queued.
fn apply_up(run: &mut Run<'_>, step: &Step<'_>, wasm: &WasmScript) -> Result<bool, Error> {
    let migration = step.migration;
    let started = Instant::now();
    let context = progress_context(migration);
    let queue = run.knows.queues(migration);
    let mut tx = Tx::begin(run, context.clone())?;
    tx.run().confined(migration, |run| run_guest(run, step, wasm))?;
    let ms = elapsed_ms(started);
    let driver = tx.driver()?;
    let writes = [
        crate::history::forget(driver, &migration.stream, &migration.key),
        crate::history::record(
            driver,
            &NewRecord::of(migration, RecordState::InProgress, Some(ms)),
        ),
    ];
    if queue {
        state::queue(driver, migration)
            .map_err(|source| Error::Database { context: context.clone(), source })?;
    }
    tx.finish(&writes)?;
    sync(run, &context)?;
    if queue {
        run.reporter.report(Event::TransformQueued { label: &migration.label });
    }
    Ok(queue)
}

fn progress_context(migration: &Migration) -> String {
    format!("cannot record the progress of {}", migration.label)
}

/// The batches of one transform: where it is, how big the next batch is, and what the run
/// has seen of the database.
struct Batches<'m> {
    migration: &'m Migration,
    policy: &'m BatchPolicy,
    cursor: Option<String>,
    rows_done: i64,
    controller: Controller,
    health: Health,
    estimate: Option<u64>,
    /// Batches rolled back in a row (a lock timeout, a deadlock).
    failures: u32,
    /// The guest instance, kept from batch to batch until one fails.
    instance: Option<Transformer>,
    started: Instant,
    rows_before: i64,
}

impl<'m> Batches<'m> {
    fn new(
        migration: &'m Migration,
        policy: &'m BatchPolicy,
        cursor: Option<String>,
        rows_done: i64,
    ) -> Batches<'m> {
        Batches {
            migration,
            policy,
            cursor,
            rows_done,
            controller: Controller::new(policy),
            health: Health::default(),
            estimate: None,
            failures: 0,
            instance: None,
            started: Instant::now(),
            rows_before: rows_done,
        }
    }

    /// One batch: the guest's `transform` in a transaction with the batch's timeouts,
    /// committed with the cursor it returned, or rolled back and retried smaller after a wait
    /// when it lost a race with the application.
    fn one(&mut self, run: &mut Run<'_>, wasm: &WasmScript) -> Result<Next, Error> {
        let migration = self.migration;
        let context = progress_context(migration);
        let size = self.controller.size();
        let started = Instant::now();
        if self.instance.is_none() {
            let limits = run.knows.limits;
            let rows = self.rows_done;
            let transformer =
                compiled(migration, wasm)?.transformer(limits).map_err(|(output, source)| {
                    guest_failure(migration, false, Some(rows), source, output)
                })?;
            self.instance = Some(transformer);
        }
        let throttle = run.knows.throttle;
        let mut tx = Tx::begin(run, context.clone())?;
        if let Some(sql) = self.policy.timeouts_sql(tx.driver()?.dialect()) {
            tx.driver()?.own_batch(&sql).map_err(|source| Error::Database {
                context: format!("cannot set the timeouts of {}'s batch", migration.label),
                source,
            })?;
        }
        let mut transient = None;
        let batch = match self.call(tx.run(), size, &mut transient) {
            Ok(batch) => batch,
            Err(error) => {
                let Some(cause) = transient.filter(|_| self.failures < self.policy.retries) else {
                    return Err(error);
                };
                drop(tx);
                self.retry(run, &cause)?;
                return Ok(Next::Retry);
            }
        };
        self.health.observe_batch(throttle, tx.driver()?).map_err(|e| probe_error(migration, e))?;
        let processed = i64::try_from(batch.processed).unwrap_or(i64::MAX);
        self.rows_done = self.rows_done.saturating_add(processed);
        let elapsed = started.elapsed();
        self.controller.record(batch.processed, elapsed);
        self.estimate = batch.estimated_total.or(self.estimate);
        let worker = tx.run().knows.mode == Mode::Worker;
        if worker {
            let progress = self.progress(size);
            state::progress(tx.driver()?, migration, &progress)
                .map_err(|source| Error::Database { context: context.clone(), source })?;
        }
        let state = match batch.next_cursor {
            Some(_) => RecordState::InProgress,
            None => RecordState::Applied,
        };
        let (stream, key) = (&migration.stream, &migration.key);
        let cursor = batch.next_cursor.as_deref();
        let progress =
            crate::history::set_progress(tx.driver()?, stream, key, cursor, self.rows_done, state);
        tx.finish(&[progress])?;
        sync(run, &context)?;
        self.failures = 0;
        run.reporter.report(Event::BatchCommitted {
            label: &migration.label,
            rows_done: u64::try_from(self.rows_done).unwrap_or(0),
            estimated_total: self.estimate,
            processed: batch.processed,
            batch_size: size,
            elapsed,
        });
        match batch.next_cursor {
            None if worker => {
                let running = [TransformState::Running];
                let done =
                    state::change(run.driver()?, stream, key, &running, TransformState::Done, None);
                done.map_err(|source| Error::Database { context, source })?;
                Ok(Next::Ended(Ended::Finished))
            }
            None => Ok(Next::Ended(Ended::Finished)),
            next => {
                self.cursor = next;
                Ok(Next::More)
            }
        }
    }

    /// The guest's `transform` for one batch, in the migration's confinement (so that a
    /// failed batch is reported as itself, not as the confinement's end in an aborted
    /// transaction); `transient` gets the database's error of a failure that may pass on a
    /// retry.
    fn call(
        &mut self,
        run: &mut Run<'_>,
        size: u32,
        transient: &mut Option<DbError>,
    ) -> Result<Batch, Error> {
        let migration = self.migration;
        let (cursor, rows_done) = (self.cursor.clone(), self.rows_done);
        let Some(transformer) = self.instance.as_mut() else {
            let reason = GuestError::Rejected(format!("{} has no instance", migration.label));
            return Err(guest_failure(migration, false, Some(rows_done), reason, Vec::new()));
        };
        run.confined(migration, |run| {
            let Lent { output, result, database, .. } =
                run.lend(&migration.label, |d| transformer.batch(d, cursor.as_deref(), size))?;
            let failed = |source| guest_failure(migration, false, Some(rows_done), source, output);
            match result {
                Ok(Batch { processed: 0, next_cursor: Some(next), .. })
                    if Some(&next) == cursor.as_ref() =>
                {
                    Err(failed(GuestError::Stuck(next)))
                }
                Ok(batch) => Ok(batch),
                Err(source) => {
                    *transient = database.filter(DbError::transient);
                    Err(failed(source))
                }
            }
        })
    }

    /// After a batch rolled back by `cause`: nothing of the run stays open through the wait
    /// (SQLite's write lock), the next batch is smaller, and runs on a new instance (one that
    /// failed is not called again).
    fn retry(&mut self, run: &mut Run<'_>, cause: &DbError) -> Result<(), Error> {
        sync(run, &progress_context(self.migration))?;
        self.failures += 1;
        self.controller.shrink();
        self.instance = None;
        let wait = BatchPolicy::backoff(self.failures);
        run.reporter.report(Event::BatchRetried {
            label: &self.migration.label,
            error: cause,
            attempt: self.failures,
            batch_size: self.controller.size(),
            wait,
        });
        std::thread::sleep(wait);
        Ok(())
    }

    /// What a worker says after a batch of `size` rows.
    fn progress(&self, size: u32) -> Progress<'static> {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = (seconds > 0.0).then(|| (self.rows_done - self.rows_before) as f64 / seconds);
        Progress { batch_size: Some(size), rate, estimated_total: self.estimate, throttled: None }
    }
}

/// What the loop does after a batch.
enum Next {
    /// The batch committed; more follow.
    More,
    /// The batch rolled back and is tried again.
    Retry,
    Ended(Ended),
}

/// Waits while the database is unwell: checks between batches, reports each new reason, and
/// looks again after the throttle's wait. Sessions that waited on the last batch halve the
/// size of the next.
fn hold_off(
    run: &mut Run<'_>,
    migration: &Migration,
    health: &mut Health,
    controller: &mut Controller,
) -> Result<Option<TransformState>, Error> {
    let throttle = run.knows.throttle;
    // Sessions waited on the last batch's row locks: the next holds them half as long. Said
    // once per streak; no pause, since they got their rows when the batch committed.
    if let Some((reason, first)) = health.take_lock_waits() {
        controller.shrink();
        if first {
            run.reporter.report(Event::Throttled { label: &migration.label, reason: &reason });
        }
    }
    let mut last: Option<ThrottleReason> = None;
    loop {
        let reason =
            health.check(throttle, run.driver()?).map_err(|e| probe_error(migration, e))?;
        let Some(reason) = reason else { return Ok(None) };
        if run.knows.mode == Mode::Worker {
            let text = reason.to_string();
            let progress = Progress { throttled: Some(&text), ..Progress::default() };
            state::progress(run.driver()?, migration, &progress).map_err(|source| {
                Error::Database { context: progress_context(migration), source }
            })?;
        }
        if last.as_ref().map(std::mem::discriminant) != Some(std::mem::discriminant(&reason)) {
            run.reporter.report(Event::Throttled { label: &migration.label, reason: &reason });
        }
        std::thread::sleep(throttle.wait);
        last = Some(reason);
        if let Some(stopped) = stopped(run, migration)? {
            return Ok(Some(stopped));
        }
    }
}

/// In a worker: the state another process gave the transform, when it is no longer running.
fn stopped(run: &mut Run<'_>, migration: &Migration) -> Result<Option<TransformState>, Error> {
    if run.knows.mode != Mode::Worker {
        return Ok(None);
    }
    let state = state::state_of(run.driver()?, migration).map_err(|source| Error::Database {
        context: format!("cannot read the state of {}'s transform", migration.label),
        source,
    })?;
    Ok(state.filter(|s| *s != TransformState::Running))
}

fn probe_error(migration: &Migration, failed: crate::transforms::ProbeFailed) -> Error {
    Error::Database {
        context: format!("cannot read {} while running {}", failed.what, migration.label),
        source: failed.source,
    }
}

fn sync(run: &mut Run<'_>, context: &str) -> Result<(), Error> {
    let synced = run.driver()?.sync();
    synced.map_err(|source| Error::Database { context: context.to_owned(), source })
}
