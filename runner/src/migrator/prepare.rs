//! What a run settles before its first step, each a helper of `Migrator::run`: the history as
//! the plan sees it, the plan and the transforms it needs finished, the tables it writes (the
//! history, godwit_transforms, the tool's table kept), and what the run knows.

use super::{Migrator, Request, TransformMode, database, runnable};
use crate::driver::Connection;
use crate::error::Error;
use crate::history::{self, AppliedMigration, Keep};
use crate::plan::{Action, Plan, Step, Target, plan};
use crate::run::{Knows, Mode, Need};
use crate::transforms::worker;
use crate::transforms::{Health, TransformRow, state};

impl TransformMode {
    /// Who runs the batches, as the run's steps see it.
    pub(super) fn mode(self) -> Mode {
        match self {
            TransformMode::Defer => Mode::Queue,
            TransformMode::Run => Mode::Run,
            TransformMode::AsDeclared => Mode::AsDeclared,
        }
    }
}

impl Migrator {
    /// The history rows, as a plan for `target` reads them: a revert sees a batched migration
    /// whose transform stopped as applied (its down undoes what the batches did).
    pub(super) fn history_for(
        &self,
        conn: &mut Connection,
        target: &Target,
        queued: &[TransformRow],
    ) -> Result<Vec<AppliedMigration>, Error> {
        let applied = self.history(conn)?;
        match target {
            Target::Down { .. } => worker::revertible(applied, queued),
            Target::Up { .. } => Ok(applied),
        }
    }

    /// The plan, once every step of it can run, with the transforms its migrations need
    /// finished. Transforms queued for a worker are the worker's: the run leaves them alone,
    /// unless a migration it applies needs one finished first.
    pub(super) fn plan_run<'a>(
        &'a self,
        request: &Request,
        applied: &'a [AppliedMigration],
        queued: &[TransformRow],
    ) -> Result<(Plan<'a>, Vec<Need<'a>>), Error> {
        let mut plan = plan(&self.migrations, applied, &request.target, &self.order())?;
        runnable::check_steps(&plan.steps)?;
        let needed = worker::needed(&self.migrations, &plan.steps, applied)?;
        worker::check_needed(&needed, queued, request.wait_for_transforms)?;
        worker::leave_to_workers(&mut plan.steps, queued, &needed);
        Ok((plan, needed))
    }

    /// Before anything runs: the health signals of batched migrations read once (a probe that
    /// fails fails here, with the database as it was), the tool's table looked for where it
    /// is kept, and the history and godwit_transforms created (or upgraded) once the plan
    /// stands, so a refused plan leaves the database as it was and a run with nothing to do on
    /// a database that has a history does not touch it. The tool's table kept, as found.
    pub(super) fn prepare(
        &self,
        conn: &mut Connection,
        request: &Request,
        steps: &[Step<'_>],
        applied: &[AppliedMigration],
        mode: Mode,
    ) -> Result<Option<Keep>, Error> {
        if request.dry_run {
            return Ok(self.keep.clone());
        }
        if steps.iter().any(|s| s.migration.is_batched() && s.action != Action::Revert) {
            let checked = Health::default().check(&self.throttle, conn.driver()?);
            checked.map_err(|failed| {
                database(
                    format!("cannot read {} before running batched migrations", failed.what),
                    failed.source,
                )
            })?;
        }
        // Flyway's table from before Flyway 5 has another name: it is written where it was
        // found.
        let keep = match self.keep.as_ref().filter(|_| !steps.is_empty()) {
            Some(keep) => {
                let found = history::adopt::read(conn.driver()?, keep.tool, &keep.table)?;
                Some(Keep::new(keep.tool, Some(found.table)))
            }
            None => self.keep.clone(),
        };
        if !steps.is_empty() || applied.is_empty() {
            history::ensure(conn.driver()?)?;
        }
        let queues = steps.iter().any(|s| {
            s.action == Action::Apply && s.migration.is_batched() && mode.defers(s.migration)
        });
        if queues {
            let target = conn.target().to_owned();
            state::ensure(conn.driver()?).map_err(|source| {
                database(format!("cannot create godwit_transforms in {target}"), source)
            })?;
        }
        Ok(keep)
    }

    /// What the run knows when its first step starts.
    pub(super) fn knows<'r>(
        &'r self,
        mode: Mode,
        needed: &'r [Need<'r>],
        queued: &'r [TransformRow],
        applied: &'r [AppliedMigration],
        keep: Option<&'r Keep>,
        lint: bool,
    ) -> Knows<'r> {
        Knows {
            limits: self.limits,
            batch: &self.batch,
            throttle: &self.throttle,
            mode,
            needed,
            queued,
            applied,
            packs: &self.packs,
            keep,
            lock_waits: self.lock_waits,
            lint: lint.then_some(&self.lint),
        }
    }
}
