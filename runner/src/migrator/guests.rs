//! Running component migrations: the guest calls of `up` and `down` (the batch loop of
//! batched transforms is in `batched`), and the confinement of a pack's steps to its grant. The connection is
//! lent to a guest for each call: its driver moves into the sandbox and comes back after.

use crate::driver::{Connection, DbError, Driver};
use crate::error::{BeyondGrant, Error, GuestFailure};
use crate::history::AppliedMigration;
use crate::history::Keep;
use crate::migration::{Migration, WasmScript};
use crate::pack::Pack;
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::transforms::{BatchPolicy, Throttle};
use crate::wasm::{Compiled, GuestError, Limits, Outcome};

/// What running component migrations needs.
pub(super) struct Guests<'a> {
    pub(super) limits: Limits,
    pub(super) batch: &'a BatchPolicy,
    pub(super) throttle: &'a Throttle,
    /// Who runs the batches of batched migrations.
    pub(super) mode: Mode,
    /// Batched migrations a migration of this run requires finished: never queued, and
    /// finished by this run even when a worker owns them.
    pub(super) needed: &'a [Need<'a>],
    /// The transforms queued for workers when the run started.
    pub(super) queued: &'a [crate::transforms::TransformRow],
    /// The history as the run found it: where an unfinished transform resumes.
    pub(super) applied: &'a [AppliedMigration],
    /// The packs whose grants confine their migrations.
    pub(super) packs: &'a [Pack],
    /// Another tool's history table, written beside godwit's as steps commit.
    pub(super) keep: Option<&'a Keep>,
}

/// Who runs the batches of a batched migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// The run that applies it, to the end, unless the migration asked to be deferred.
    AsDeclared,
    /// The run that applies it, to the end, whatever the migration asked.
    Run,
    /// A worker, later: the run applies `up` and queues the transform.
    Queue,
    /// This run is the worker: it stops at a batch boundary when the transform is paused or
    /// cancelled from elsewhere, and says how it goes in the transforms table.
    Worker,
}

/// A batched migration whose transform a migration of the run (`by`) requires finished.
#[derive(Clone, Debug)]
pub(super) struct Need<'a> {
    pub(super) required: &'a Migration,
    pub(super) by: String,
}

impl Mode {
    /// Whether a run in this mode leaves `migration`'s transform to a worker, unless a
    /// migration of the run needs it finished.
    pub(super) fn defers(self, migration: &Migration) -> bool {
        match self {
            Mode::Queue => true,
            Mode::AsDeclared => migration.defers_transform(),
            Mode::Run | Mode::Worker => false,
        }
    }
}

impl Guests<'_> {
    /// The stopped transform a revert step drops with its migration, if it has one.
    pub(super) fn dropped(&self, step: &Step<'_>) -> Option<&crate::transforms::TransformRow> {
        let stopped = |row: &&crate::transforms::TransformRow| {
            row.is_of(step.migration) && super::worker::stopped(row.state)
        };
        self.queued.iter().filter(|_| step.action == Action::Revert).find(stopped)
    }

    /// The need for `migration`'s transform, if a migration of the run has one.
    pub(super) fn needs(&self, migration: &Migration) -> Option<&Need<'_>> {
        self.needed.iter().find(|need| std::ptr::eq(need.required, migration))
    }

    /// Whether this run applies `migration`'s `up` and leaves its transform to a worker.
    pub(super) fn queues(&self, migration: &Migration) -> bool {
        self.mode.defers(migration) && self.needs(migration).is_none()
    }

    /// Whether this run finishes `migration`'s transform although a worker owns it.
    pub(super) fn takes_over(&self, migration: &Migration) -> bool {
        self.needs(migration).is_some() && self.queued.iter().any(|row| row.is_of(migration))
    }

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
        conn.driver()?.confine(Some(pack.confine())).map_err(|source| Error::Database {
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
pub(super) fn compiled<'w>(
    migration: &Migration,
    wasm: &'w WasmScript,
) -> Result<&'w Compiled, Error> {
    wasm.compiled().ok_or_else(|| {
        let reason = format!("{} was not compiled before the run", migration.label);
        guest_failure(migration, false, None, GuestError::Rejected(reason), Vec::new())
    })
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
    let Lent { output, result, .. } = lend(conn, &migration.label, reporter, |driver| {
        compiled.migrate(driver, reverting, guests.limits)
    })?;
    result.map_err(|source| guest_failure(migration, reverting, None, source, output))
}

/// A guest call that failed, with what the guest printed; `resumable` holds the rows a batched
/// migration had done.
pub(super) fn guest_failure(
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
/// guest printed. The database's first error in the call comes back with the guest's result.
pub(super) fn lend<T>(
    conn: &mut Connection,
    label: &str,
    reporter: &mut dyn Reporter,
    call: impl FnOnce(Box<dyn Driver>) -> Outcome<T>,
) -> Result<Lent<T>, Error> {
    let Outcome { driver, output, result, database } = call(conn.lend()?);
    if let Some(driver) = driver {
        conn.give_back(driver);
    }
    for line in &output {
        reporter.report(Event::GuestOutput { label, line });
    }
    Ok(Lent { output, result, database })
}

/// What one guest call with the connection lent gave back.
pub(super) struct Lent<T> {
    pub(super) output: Vec<String>,
    pub(super) result: Result<T, GuestError>,
    pub(super) database: Option<DbError>,
}
