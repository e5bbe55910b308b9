//! One run of migrations: the connection it holds the migration lock on, where it reports,
//! and what it knows (the history it found, the transforms queued for workers, the packs'
//! grants, the batch policy). Every step is run through it: its transaction and the lock
//! (`undo_guards`), its SQL statements and history rows (`step`), its guest calls (`guest`),
//! each confined to its pack's grant here. The batch loop and the worker of batched
//! migrations (`transforms::batch_loop`, `transforms::worker`) run their batches through it
//! too.

mod guest;
mod lock_wait;
mod step;
mod undo_guards;

pub(crate) use self::guest::{Lent, compiled, guest_failure, run_guest};
pub(crate) use self::step::{elapsed_ms, execute, execute_after, send, sendable, statements};
pub(crate) use self::undo_guards::{LockGuard, Tx, in_transaction};

use crate::driver::{Connection, Driver};
use crate::error::{BeyondGrant, Error};
use crate::history::{AppliedMigration, Keep};
use crate::locks::LockWaits;
use crate::migration::Migration;
use crate::pack::Pack;
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::transforms::{BatchPolicy, Throttle, TransformRow, TransformState};
use crate::wasm::{Limits, Outcome};

/// A run: its connection, its reporter, and what it knows.
pub(crate) struct Run<'r> {
    pub(crate) conn: &'r mut Connection,
    pub(crate) reporter: &'r mut dyn Reporter,
    pub(crate) knows: Knows<'r>,
}

/// What a run knows when it starts, and how it runs what it runs.
#[derive(Clone, Copy)]
pub(crate) struct Knows<'r> {
    /// The sandbox's limits for each guest call.
    pub(crate) limits: Limits,
    pub(crate) batch: &'r BatchPolicy,
    pub(crate) throttle: &'r Throttle,
    /// Who runs the batches of batched migrations.
    pub(crate) mode: Mode,
    /// Batched migrations a migration of this run requires finished: never queued, and
    /// finished by this run even when a worker owns them.
    pub(crate) needed: &'r [Need<'r>],
    /// The transforms queued for workers when the run started.
    pub(crate) queued: &'r [TransformRow],
    /// The history as the run found it: where an unfinished transform resumes.
    pub(crate) applied: &'r [AppliedMigration],
    /// The packs whose grants confine their migrations.
    pub(crate) packs: &'r [Pack],
    /// Another tool's history table, written beside godwit's as steps commit.
    pub(crate) keep: Option<&'r Keep>,
    /// How long statements wait for locks, and how often a migration that gave up is tried
    /// again (PostgreSQL).
    pub(crate) lock_waits: LockWaits,
    /// The linter's levels, when the run lints: the statements a component migration sends
    /// are linted after its call.
    pub(crate) lint: Option<&'r crate::lint::Levels>,
}

/// Who runs the batches of a batched migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
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

impl Mode {
    /// Whether a run in this mode leaves `migration`'s transform to a worker, unless a
    /// migration of the run needs it finished.
    pub(crate) fn defers(self, migration: &Migration) -> bool {
        match self {
            Mode::Queue => true,
            Mode::AsDeclared => migration.defers_transform(),
            Mode::Run | Mode::Worker => false,
        }
    }
}

/// A batched migration whose transform a migration of the run (`by`) requires finished.
#[derive(Clone, Debug)]
pub(crate) struct Need<'a> {
    pub(crate) required: &'a Migration,
    pub(crate) by: String,
}

/// Whether a transform stopped where nobody runs it (paused, cancelled or failed): its
/// migration may be reverted, and the revert drops its row.
pub(crate) fn stopped(state: TransformState) -> bool {
    matches!(state, TransformState::Paused | TransformState::Cancelled | TransformState::Failed)
}

impl<'r> Knows<'r> {
    /// The stopped transform a revert step drops with its migration, if it has one.
    pub(crate) fn dropped(&self, step: &Step<'_>) -> Option<&'r TransformRow> {
        let of_step = |row: &&TransformRow| row.is_of(step.migration) && stopped(row.state);
        self.queued.iter().filter(|_| step.action == Action::Revert).find(of_step)
    }

    /// The need for `migration`'s transform, if a migration of the run has one.
    pub(crate) fn needs(&self, migration: &Migration) -> Option<&'r Need<'r>> {
        self.needed.iter().find(|need| std::ptr::eq(need.required, migration))
    }

    /// Whether this run applies `migration`'s `up` and leaves its transform to a worker.
    pub(crate) fn queues(&self, migration: &Migration) -> bool {
        self.mode.defers(migration) && self.needs(migration).is_none()
    }

    /// Whether this run finishes `migration`'s transform although a worker owns it.
    pub(crate) fn takes_over(&self, migration: &Migration) -> bool {
        self.needs(migration).is_some() && self.queued.iter().any(|row| row.is_of(migration))
    }

    /// The pack a migration belongs to.
    pub(crate) fn pack_of(&self, migration: &Migration) -> Option<&'r Pack> {
        self.packs.iter().find(|p| p.stream() == migration.stream)
    }
}

impl<'r> Run<'r> {
    /// The connection's driver.
    pub(crate) fn driver(&mut self) -> Result<&mut dyn Driver, Error> {
        Ok(self.conn.driver()?)
    }

    /// Runs `body` confined to the grant of the migration's pack, if it has one; the
    /// confinement is lifted whatever the outcome, before godwit records anything.
    pub(crate) fn confined<T>(
        &mut self,
        migration: &Migration,
        body: impl FnOnce(&mut Run<'r>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(pack) = self.knows.pack_of(migration) else {
            return body(self);
        };
        self.driver()?.confine(Some(pack.confine())).map_err(|source| Error::Database {
            context: format!(
                "cannot run {} under the grant of pack `{}`",
                migration.label, pack.name
            ),
            source,
        })?;
        let result = body(self);
        let lifted = self.driver().and_then(|driver| {
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

    /// Moves the connection's driver into one guest call, puts it back, and reports what the
    /// guest printed. The database's first error in the call comes back with the guest's
    /// result.
    pub(crate) fn lend<T>(
        &mut self,
        label: &str,
        call: impl FnOnce(Box<dyn Driver>) -> Outcome<T>,
    ) -> Result<Lent<T>, Error> {
        let Outcome { driver, output, result, database, sent } = call(self.conn.lend()?);
        if let Some(driver) = driver {
            self.conn.give_back(driver);
        }
        for line in &output {
            self.reporter.report(Event::GuestOutput { label, line });
        }
        Ok(Lent { output, result, database, sent })
    }
}
