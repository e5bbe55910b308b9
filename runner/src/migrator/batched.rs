//! The batch loop of a batched migration on a live table: `up` commits with an in-progress
//! history row, then each batch of `transform` commits with the cursor it returned, so a crash
//! at any point loses nothing and the next run resumes after the last committed batch. Between
//! batches the loop holds off while the database is unwell ([`Throttle`]); each batch runs
//! under the policy's timeouts, its size steered by the [`Controller`]; a batch that lost a
//! race with the application (a lock timeout, a deadlock) is rolled back and tried again,
//! smaller, after a growing wait.

use super::guests::{Guests, Lent, Mode, compiled, guest_failure, lend, run_guest};
use super::steps::elapsed_ms;
use super::undo_guards::Tx;
use crate::driver::{Connection, DbError, Dialect};
use crate::error::Error;
use crate::history::{NewRecord, RecordState};
use crate::migration::{Migration, WasmScript};
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::transforms::state::{self, Progress, TransformState};
use crate::transforms::{BatchPolicy, Controller, Health, ThrottleReason};
use crate::wasm::{Batch, GuestError};
use std::time::{Duration, Instant};

/// The longest wait before a retried batch.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How a run of a transform's batches ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    Finished,
    /// `up` applied, the batches queued for a worker.
    Queued,
    /// A worker stopped at a batch boundary: the transform was paused or cancelled.
    Stopped(TransformState),
}

pub(super) fn run_batched(
    conn: &mut Connection,
    step: &Step<'_>,
    wasm: &WasmScript,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Duration, Error> {
    let started = Instant::now();
    run_transform(conn, step, wasm, guests, reporter)?;
    Ok(started.elapsed())
}

/// `up` (unless resuming), then the batches, as `guests.mode` says.
pub(super) fn run_transform(
    conn: &mut Connection,
    step: &Step<'_>,
    wasm: &WasmScript,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Ended, Error> {
    let migration = step.migration;
    let started = Instant::now();
    let context = format!("cannot record the progress of {}", migration.label);
    let (mut cursor, mut rows_done) = match step.action {
        Action::Resume => guests
            .applied
            .iter()
            .find(|row| row.records(migration))
            .map_or((None, 0), |row| (row.cursor.clone(), row.rows_done)),
        _ => {
            let mut tx = Tx::begin(conn, context.clone())?;
            guests.confined(tx.conn(), migration, |conn| {
                run_guest(conn, step, wasm, guests, reporter)
            })?;
            let ms = elapsed_ms(started);
            let driver = tx.driver()?;
            let writes = [
                crate::history::forget(driver, &migration.stream, &migration.key),
                crate::history::record(
                    driver,
                    &NewRecord::of(migration, RecordState::InProgress, Some(ms)),
                ),
            ];
            let queue = guests.queues(migration);
            if queue {
                state::queue(driver, migration)
                    .map_err(|source| Error::Database { context: context.clone(), source })?;
            }
            tx.finish(&writes)?;
            sync(conn, &context)?;
            if queue {
                reporter.report(Event::TransformQueued { label: &migration.label });
                return Ok(Ended::Queued);
            }
            (None, 0)
        }
    };
    let policy = &match migration.run_options() {
        Some(options) => guests.batch.for_migration(options),
        None => guests.batch.clone(),
    };
    let mut controller = Controller::new(policy);
    let mut health = Health::default();
    let mut estimate = None;
    let mut failures = 0;
    let mut instance = None;
    let run_started = Instant::now();
    let rows_before = rows_done;
    loop {
        if let Some(stopped) = stopped(conn, migration, guests)? {
            return Ok(Ended::Stopped(stopped));
        }
        if let Some(stopped) =
            hold_off(conn, migration, guests, &mut health, &mut controller, reporter)?
        {
            return Ok(Ended::Stopped(stopped));
        }
        let size = controller.size();
        let batch_started = Instant::now();
        let transformer = match &mut instance {
            Some(transformer) => transformer,
            None => {
                instance.insert(compiled(migration, wasm)?.transformer(guests.limits).map_err(
                    |(output, source)| {
                        guest_failure(migration, false, Some(rows_done), source, output)
                    },
                )?)
            }
        };
        let mut tx = Tx::begin(conn, context.clone())?;
        let timeouts = batch_timeouts(policy, tx.driver()?.dialect());
        if let Some(sql) = timeouts {
            tx.driver()?.own_batch(&sql).map_err(|source| Error::Database {
                context: format!("cannot set the timeouts of {}'s batch", migration.label),
                source,
            })?;
        }
        let mut transient = None;
        // The batch's outcome is settled inside the confinement, so that a failed batch is
        // reported as itself, not as the confinement's end in an aborted transaction.
        let result = guests.confined(tx.conn(), migration, |conn| {
            let Lent { output, result, database } = lend(conn, &migration.label, reporter, |d| {
                transformer.batch(d, cursor.as_deref(), size)
            })?;
            let failed = |source| guest_failure(migration, false, Some(rows_done), source, output);
            match result {
                Ok(Batch { processed: 0, next_cursor: Some(next), .. })
                    if Some(&next) == cursor.as_ref() =>
                {
                    Err(failed(GuestError::Stuck(next)))
                }
                Ok(batch) => Ok(batch),
                Err(source) => {
                    transient = database.filter(DbError::transient);
                    Err(failed(source))
                }
            }
        });
        let batch = match result {
            Ok(batch) => batch,
            Err(error) => {
                let Some(cause) = transient.filter(|_| failures < policy.retries) else {
                    return Err(error);
                };
                drop(tx);
                // Nothing of the run stays open through the wait (SQLite's write lock).
                sync(conn, &context)?;
                failures += 1;
                controller.shrink();
                // After an error the instance is not called again: the next attempt gets a
                // new one.
                instance = None;
                let wait = backoff(failures);
                reporter.report(Event::BatchRetried {
                    label: &migration.label,
                    error: &cause,
                    attempt: failures,
                    batch_size: controller.size(),
                    wait,
                });
                std::thread::sleep(wait);
                continue;
            }
        };
        health
            .observe_batch(guests.throttle, tx.driver()?)
            .map_err(|e| probe_error(migration, e))?;
        rows_done = rows_done.saturating_add(i64::try_from(batch.processed).unwrap_or(i64::MAX));
        let state = match batch.next_cursor {
            Some(_) => RecordState::InProgress,
            None => RecordState::Applied,
        };
        let elapsed = batch_started.elapsed();
        controller.record(batch.processed, elapsed);
        estimate = batch.estimated_total.or(estimate);
        if guests.mode == Mode::Worker {
            let seconds = run_started.elapsed().as_secs_f64();
            let rate = (seconds > 0.0).then(|| (rows_done - rows_before) as f64 / seconds);
            let progress = Progress {
                batch_size: Some(size),
                rate,
                estimated_total: estimate,
                throttled: None,
            };
            state::progress(tx.driver()?, migration, &progress)
                .map_err(|source| Error::Database { context: context.clone(), source })?;
        }
        let driver = tx.driver()?;
        let progress = crate::history::set_progress(
            driver,
            &migration.stream,
            &migration.key,
            batch.next_cursor.as_deref(),
            rows_done,
            state,
        );
        tx.finish(&[progress])?;
        sync(conn, &context)?;
        failures = 0;
        reporter.report(Event::BatchCommitted {
            label: &migration.label,
            rows_done: u64::try_from(rows_done).unwrap_or(0),
            estimated_total: estimate,
            processed: batch.processed,
            batch_size: size,
            elapsed,
        });
        match batch.next_cursor {
            None if guests.mode == Mode::Worker => {
                let done = state::change(
                    conn.driver()?,
                    &migration.stream,
                    &migration.key,
                    &[TransformState::Running],
                    TransformState::Done,
                    None,
                );
                done.map_err(|source| Error::Database { context: context.clone(), source })?;
                return Ok(Ended::Finished);
            }
            None => return Ok(Ended::Finished),
            next => cursor = next,
        }
        if !policy.pause.is_zero() {
            std::thread::sleep(policy.pause);
        }
    }
}

/// Waits while the database is unwell: checks between batches, reports each new reason, and
/// looks again after the throttle's wait. Sessions that waited on the last batch halve the
/// size of the next.
fn hold_off(
    conn: &mut Connection,
    migration: &Migration,
    guests: &Guests<'_>,
    health: &mut Health,
    controller: &mut Controller,
    reporter: &mut dyn Reporter,
) -> Result<Option<TransformState>, Error> {
    let throttle = guests.throttle;
    // Sessions waited on the last batch's row locks: the next holds them half as long. Said
    // once per streak; no pause, since they got their rows when the batch committed.
    if let Some((reason, first)) = health.take_lock_waits() {
        controller.shrink();
        if first {
            reporter.report(Event::Throttled { label: &migration.label, reason: &reason });
        }
    }
    let mut last: Option<ThrottleReason> = None;
    loop {
        let reason =
            health.check(throttle, conn.driver()?).map_err(|e| probe_error(migration, e))?;
        let Some(reason) = reason else { return Ok(None) };
        if guests.mode == Mode::Worker {
            let text = reason.to_string();
            let progress = Progress { throttled: Some(&text), ..Progress::default() };
            state::progress(conn.driver()?, migration, &progress).map_err(|source| {
                Error::Database {
                    context: format!("cannot record the progress of {}", migration.label),
                    source,
                }
            })?;
        }
        if last.as_ref().map(std::mem::discriminant) != Some(std::mem::discriminant(&reason)) {
            reporter.report(Event::Throttled { label: &migration.label, reason: &reason });
        }
        std::thread::sleep(throttle.wait);
        last = Some(reason);
        if let Some(stopped) = stopped(conn, migration, guests)? {
            return Ok(Some(stopped));
        }
    }
}

/// In a worker: the state another process gave the transform, when it is no longer running.
fn stopped(
    conn: &mut Connection,
    migration: &Migration,
    guests: &Guests<'_>,
) -> Result<Option<TransformState>, Error> {
    if guests.mode != Mode::Worker {
        return Ok(None);
    }
    let state = state::state_of(conn.driver()?, migration).map_err(|source| Error::Database {
        context: format!("cannot read the state of {}'s transform", migration.label),
        source,
    })?;
    Ok(state.filter(|s| *s != TransformState::Running))
}

/// The statement that bounds a batch's waits, where the database has one per transaction.
fn batch_timeouts(policy: &BatchPolicy, dialect: Dialect) -> Option<String> {
    match dialect {
        Dialect::Postgres => Some(format!(
            "SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'",
            policy.lock_timeout.as_millis(),
            policy.statement_timeout.as_millis()
        )),
        _ => None,
    }
}

/// The wait before retry `attempt` (1, 2, ...): 200 ms doubled each time, up to 10 s.
fn backoff(attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    (Duration::from_millis(200) * factor).min(MAX_BACKOFF)
}

fn probe_error(migration: &Migration, failed: crate::transforms::ProbeFailed) -> Error {
    Error::Database {
        context: format!("cannot read {} while running {}", failed.what, migration.label),
        source: failed.source,
    }
}

fn sync(conn: &mut Connection, context: &str) -> Result<(), Error> {
    let synced = conn.driver()?.sync();
    synced.map_err(|source| Error::Database { context: context.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!([1, 2, 3].map(backoff), [ms(200), ms(400), ms(800)]);
        assert_eq!(backoff(9), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
