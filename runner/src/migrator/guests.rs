//! Running component migrations: the guest calls of `up` and `down`, the batch loop of
//! batched transforms, and the confinement of a pack's steps to its grant. The connection is
//! lent to a guest for each call: its driver moves into the sandbox and comes back after.

use super::guard::Tx;
use super::steps::elapsed_ms;
use super::{BeyondGrant, GuestFailure};
use crate::driver::{Connection, Driver};
use crate::error::Error;
use crate::history::{AppliedMigration, HistoryWrite, NewRecord, RecordState};
use crate::migration::{Migration, WasmScript};
use crate::pack::Pack;
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::wasm::{Compiled, GuestError, Limits, Outcome};
use std::time::{Duration, Instant};

/// What running component migrations needs.
pub(super) struct Guests<'a> {
    pub(super) limits: Limits,
    pub(super) batch_size: u32,
    pub(super) batch_pause: Duration,
    /// The history as the run found it: where an unfinished transform resumes.
    pub(super) applied: &'a [AppliedMigration],
    /// The packs whose grants confine their migrations.
    pub(super) packs: &'a [Pack],
}

impl Guests<'_> {
    /// The pack a migration belongs to.
    pub(super) fn pack_of(&self, migration: &Migration) -> Option<&Pack> {
        self.packs.iter().find(|p| p.stream() == migration.stream)
    }

    /// Runs `body` confined to the grant of the migration's pack, if it has one; the
    /// confinement is lifted whatever the outcome, before godwit records anything.
    pub(super) fn confined<T>(
        &self,
        conn: &mut Connection,
        migration: &Migration,
        body: impl FnOnce(&mut Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(pack) = self.pack_of(migration) else {
            return body(conn);
        };
        conn.driver()?.confine(Some(pack)).map_err(|source| Error::Database {
            context: format!(
                "cannot run {} under the grant of pack `{}`",
                migration.label, pack.name
            ),
            source,
        })?;
        let result = body(conn);
        let lifted = conn.driver().map_err(Error::from).and_then(|driver| {
            driver.confine(None).map_err(|source| {
                Error::BeyondGrant(Box::new(BeyondGrant {
                    label: migration.label.clone(),
                    path: migration.path.clone(),
                    pack: pack.name.clone(),
                    source,
                }))
            })
        });
        let value = result?;
        lifted.map(|()| value)
    }
}

/// The component of a migration the migrator compiled.
fn compiled<'w>(migration: &Migration, wasm: &'w WasmScript) -> Result<&'w Compiled, Error> {
    wasm.compiled().ok_or_else(|| {
        let reason = format!("{} was not compiled before the run", migration.label);
        guest_failure(migration, false, None, GuestError::Rejected(reason), Vec::new())
    })
}

/// A batched migration: `up` commits with an in-progress history row, then each batch of
/// `transform` commits with the cursor it returned, so a crash at any point loses nothing and
/// the next run resumes after the last committed batch.
pub(super) fn run_batched(
    conn: &mut Connection,
    step: &Step<'_>,
    wasm: &WasmScript,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Duration, Error> {
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
                HistoryWrite::delete(driver, &migration.stream, &migration.key),
                HistoryWrite::insert(
                    driver,
                    &NewRecord::of(migration, RecordState::InProgress, Some(ms)),
                ),
            ];
            tx.finish(&writes)?;
            sync(conn, &context)?;
            (None, 0)
        }
    };
    let guest_failed = |source, output, rows_done| {
        guest_failure(migration, false, Some(rows_done), source, output)
    };
    let mut transformer = compiled(migration, wasm)?
        .transformer(guests.limits)
        .map_err(|(output, source)| guest_failed(source, output, rows_done))?;
    loop {
        let mut tx = Tx::begin(conn, context.clone())?;
        // The batch's outcome is settled inside the confinement, so that a failed batch is
        // reported as itself, not as the confinement's end in an aborted transaction.
        let batch = guests.confined(tx.conn(), migration, |conn| {
            let (output, result) = lend(conn, &migration.label, reporter, |driver| {
                transformer.batch(driver, cursor.as_deref(), guests.batch_size)
            })?;
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
        })?;
        rows_done = rows_done.saturating_add(i64::try_from(batch.processed).unwrap_or(i64::MAX));
        let state = match batch.next_cursor {
            Some(_) => RecordState::InProgress,
            None => RecordState::Applied,
        };
        let driver = tx.driver()?;
        let progress = HistoryWrite::set_progress(
            driver,
            &migration.stream,
            &migration.key,
            batch.next_cursor.as_deref(),
            rows_done,
            state,
        );
        tx.finish(&[progress])?;
        sync(conn, &context)?;
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

fn sync(conn: &mut Connection, context: &str) -> Result<(), Error> {
    let synced = conn.driver()?.sync();
    synced.map_err(|source| Error::Database { context: context.to_owned(), source })
}

/// Lends the connection to the guest for one call of `up` or `down`, and takes it back.
pub(super) fn run_guest(
    conn: &mut Connection,
    step: &Step<'_>,
    wasm: &WasmScript,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<(), Error> {
    let migration = step.migration;
    let reverting = step.action == Action::Revert;
    let compiled = compiled(migration, wasm)?;
    let (output, result) = lend(conn, &migration.label, reporter, |driver| {
        compiled.migrate(driver, reverting, guests.limits)
    })?;
    result.map_err(|source| guest_failure(migration, reverting, None, source, output))
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

/// Moves the connection's driver into one guest call, puts it back, and reports what the
/// guest printed.
fn lend<T>(
    conn: &mut Connection,
    label: &str,
    reporter: &mut dyn Reporter,
    call: impl FnOnce(Box<dyn Driver>) -> Outcome<T>,
) -> Result<(Vec<String>, Result<T, GuestError>), Error> {
    let Outcome { driver, output, result } = call(conn.lend()?);
    if let Some(driver) = driver {
        conn.give_back(driver);
    }
    for line in &output {
        reporter.report(Event::GuestOutput { label, line });
    }
    Ok((output, result))
}
