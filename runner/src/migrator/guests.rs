//! Running component migrations: the guest calls of `up` and `down`, the batch loop of
//! batched transforms, and the confinement of a pack's steps to its grant.

use super::elapsed_ms;
use crate::driver::Driver;
use crate::error::{BeyondGrant, Error, GuestFailure};
use crate::history::{AppliedMigration, NewRecord, RecordState};
use crate::migration::{Migration, WasmScript};
use crate::pack::Pack;
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::wasm::{GuestError, Lent, Limits, Runtime};
use std::time::{Duration, Instant};

/// What running component migrations needs.
pub(super) struct Guests<'a> {
    pub(super) runtime: Option<&'a Runtime>,
    pub(super) limits: Limits,
    pub(super) batch_size: u32,
    pub(super) batch_pause: Duration,
    /// The history as the run found it: where an unfinished transform resumes.
    pub(super) applied: &'a [AppliedMigration],
    /// The packs whose grants confine their migrations.
    pub(super) packs: &'a [Pack],
}

impl Guests<'_> {
    /// Runs `body` confined to the grant of the migration's pack, if it has one; the
    /// confinement is lifted whatever the outcome, before godwit records anything.
    pub(super) fn confined<T>(
        &self,
        db: &mut Box<dyn Driver>,
        migration: &Migration,
        body: impl FnOnce(&mut Box<dyn Driver>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(pack) = self.packs.iter().find(|p| p.name == migration.stream) else {
            return body(db);
        };
        db.confine(Some(pack)).map_err(|source| Error::Database {
            context: format!(
                "cannot run {} under the grant of pack `{}`",
                migration.label, pack.name
            ),
            source,
        })?;
        let result = body(db);
        let lifted = db.confine(None).map_err(|source| {
            Error::BeyondGrant(Box::new(BeyondGrant {
                label: migration.label.clone(),
                path: migration.path.clone(),
                pack: pack.name.clone(),
                source,
            }))
        });
        let value = result?;
        lifted.map(|()| value)
    }
}

/// A batched migration: `up` commits with an in-progress history row, then each batch of
/// `transform` commits with the cursor it returned, so a crash at any point loses nothing and
/// the next run resumes after the last committed batch.
pub(super) fn run_batched(
    db: &mut Box<dyn Driver>,
    step: &Step<'_>,
    wasm: &WasmScript,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Duration, Error> {
    let migration = step.migration;
    let started = Instant::now();
    let context = format!("cannot record the progress of {}", migration.label);
    let database = |source| Error::Database { context: context.clone(), source };
    let (mut cursor, mut rows_done) = match step.action {
        Action::Resume => guests
            .applied
            .iter()
            .find(|row| row.key() == migration.key)
            .map_or((None, 0), |row| (row.cursor.clone(), row.rows_done)),
        _ => {
            db.begin().map_err(database)?;
            let record = guests
                .confined(db, migration, |db| run_guest(db, step, wasm, guests, reporter))
                .and_then(|()| {
                    let ms = elapsed_ms(started);
                    let row = NewRecord::of(migration, RecordState::InProgress, ms);
                    db.delete_record(&migration.stream, &migration.key)
                        .and_then(|()| db.insert_record(&row))
                        .and_then(|()| db.commit())
                        .and_then(|()| db.sync())
                        .map_err(database)
                });
            if let Err(error) = record {
                let _ = db.rollback();
                return Err(error);
            }
            (None, 0)
        }
    };
    let (Some(runtime), Some((component, _))) = (guests.runtime, &wasm.prepared) else {
        return Err(Error::WasmRuntime { reason: "the component was not compiled".to_owned() });
    };
    let guest_failed = |source, output, rows_done| {
        guest_failure(migration, false, Some(rows_done), source, output)
    };
    let mut transformer = runtime
        .transformer(component, guests.limits)
        .map_err(|(output, source)| guest_failed(source, output, rows_done))?;
    loop {
        db.begin().map_err(database)?;
        // The batch's outcome is settled inside the confinement, so that a failed batch is
        // reported as itself, not as the confinement's end in an aborted transaction.
        let batch = guests.confined(db, migration, |db| {
            let (output, result) = lend(db, &migration.label, reporter, |driver| {
                transformer.batch(driver, cursor.as_deref(), guests.batch_size)
            });
            match result {
                Ok(batch)
                    if batch.processed == 0
                        && batch.next_cursor.is_some()
                        && batch.next_cursor == cursor =>
                {
                    let stuck = GuestError::Stuck(batch.next_cursor.unwrap_or_default());
                    Err(guest_failed(stuck, output, rows_done))
                }
                Ok(batch) => Ok(batch),
                Err(source) => Err(guest_failed(source, output, rows_done)),
            }
        });
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                let _ = db.rollback();
                return Err(error);
            }
        };
        rows_done = rows_done.saturating_add(i64::try_from(batch.processed).unwrap_or(i64::MAX));
        let state = match batch.next_cursor {
            Some(_) => RecordState::InProgress,
            None => RecordState::Applied,
        };
        let committed = db
            .update_progress(
                &migration.stream,
                &migration.key,
                batch.next_cursor.as_deref(),
                rows_done,
                state,
            )
            .and_then(|()| db.commit())
            .and_then(|()| db.sync());
        if let Err(source) = committed {
            let _ = db.rollback();
            return Err(database(source));
        }
        reporter.report(Event::BatchCommitted {
            label: &migration.label,
            rows_done: u64::try_from(rows_done).unwrap_or(0),
            estimated_total: batch.estimated_total,
        });
        match batch.next_cursor {
            None => return Ok(started.elapsed()),
            next => cursor = next,
        }
        if !guests.batch_pause.is_zero() {
            std::thread::sleep(guests.batch_pause);
        }
    }
}

/// Lends the connection to the guest for one call of `up` or `down`, and takes it back.
pub(super) fn run_guest(
    db: &mut Box<dyn Driver>,
    step: &Step<'_>,
    wasm: &WasmScript,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<(), Error> {
    let migration = step.migration;
    let reverting = step.action == Action::Revert;
    let fail = |source: GuestError, output: Vec<String>| {
        guest_failure(migration, reverting, None, source, output)
    };
    let (Some(runtime), Some((component, _))) = (guests.runtime, &wasm.prepared) else {
        let reason = "the component was not compiled before the run".to_owned();
        return Err(fail(GuestError::Rejected(reason), Vec::new()));
    };
    let (output, result) = lend(db, &migration.label, reporter, |driver| {
        runtime.migrate(component, driver, reverting, guests.limits)
    });
    result.map_err(|source| fail(source, output))
}

/// A guest call that failed, with what the guest printed; `resumable` holds the rows a batched
/// migration had done.
fn guest_failure(
    migration: &Migration,
    reverting: bool,
    resumable: Option<i64>,
    source: GuestError,
    output: Vec<String>,
) -> Error {
    Error::GuestFailed(Box::new(GuestFailure {
        label: migration.label.clone(),
        path: migration.path.clone(),
        reverting,
        resumable,
        source,
        output,
    }))
}

/// Lends the connection to one guest call, takes it back, and reports what the guest printed.
fn lend<T>(
    db: &mut Box<dyn Driver>,
    label: &str,
    reporter: &mut dyn Reporter,
    call: impl FnOnce(Box<dyn Driver>) -> (Box<dyn Driver>, Vec<String>, T),
) -> (Vec<String>, T) {
    let (driver, output, result) = call(std::mem::replace(db, Box::new(Lent)));
    *db = driver;
    for line in &output {
        reporter.report(Event::GuestOutput { label, line });
    }
    (output, result)
}
