//! Transforms run apart from the deploy. `up` with deferred transforms applies a batched
//! migration's `up` and queues its batches in `godwit_transforms`; a worker
//! ([`Migrator::work`]) takes each queued transform under a lock of its own (not the
//! migration lock, so deploys go on while a backfill runs for a day), runs its batches, and
//! marks it done or failed; another process pauses, resumes, cancels or retries it through
//! the same table ([`Migrator::control`]).

use super::batch_loop::{Ended, run_transform};
use crate::driver::{Connection, DbError, Driver};
use crate::error::Error;
use crate::history::{AppliedMigration, RecordState};
use crate::migration::{Migration, Script, WasmScript};
use crate::pack::Pack;
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::run::{Knows, Mode, Need, Run, stopped};
use crate::transforms::state::{self, TransformRow, TransformState};
use crate::transforms::{BatchPolicy, Throttle, TransformError};
use crate::wasm::Limits;
use std::time::{Duration, Instant};

/// What a worker did: the transforms it finished, stopped (paused or cancelled from
/// elsewhere) and marked failed, by label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Worked {
    pub finished: Vec<String>,
    pub stopped: Vec<(String, TransformState)>,
    pub failed: Vec<(String, String)>,
}

fn database(context: String, source: DbError) -> Error {
    Error::Database { context, source }
}

/// The transforms table's rows.
pub(crate) fn queued(db: &mut dyn Driver) -> Result<Vec<TransformRow>, Error> {
    let target = db.target().to_owned();
    state::list(db)
        .map_err(|source| database(format!("cannot read godwit_transforms in {target}"), source))
}

/// Drops the steps that would resume a transform a worker owns (any not done), except those
/// a migration of the run needs finished.
pub(crate) fn leave_to_workers(
    steps: &mut Vec<Step<'_>>,
    queued: &[TransformRow],
    needed: &[Need<'_>],
) {
    steps.retain(|step| {
        let owned =
            queued.iter().any(|row| row.is_of(step.migration) && row.state != TransformState::Done);
        step.action != Action::Resume
            || needed.iter().any(|need| std::ptr::eq(need.required, step.migration))
            || !owned
    });
}

/// The batched migrations whose transforms the steps that apply migrations require finished
/// (`-- godwit:requires`) and that are not finished yet; refuses a requirement that names no
/// batched migration, or one that would only run after the migration that needs it.
pub(crate) fn needed<'m>(
    migrations: &'m [Migration],
    steps: &[Step<'m>],
    applied: &[crate::history::AppliedMigration],
) -> Result<Vec<Need<'m>>, Error> {
    let mut needed: Vec<Need<'m>> = Vec::new();
    for (at, step) in steps.iter().enumerate() {
        if step.action == Action::Revert {
            continue;
        }
        for name in step.migration.requires() {
            let bad = |why: &str| TransformError::BadRequirement {
                label: step.migration.label.clone(),
                required: name.clone(),
                why: why.to_owned(),
            };
            let required = migrations
                .iter()
                .find(|m| m.stream == step.migration.stream && names(name, m))
                .ok_or_else(|| bad("which is no migration of its project or pack"))?;
            if !required.is_batched() {
                return Err(bad("which is not a batched migration").into());
            }
            let record = applied.iter().find(|r| r.records(required));
            if record.is_some_and(|r| r.state == RecordState::Applied) {
                continue;
            }
            let runs_before = steps[..at].iter().any(|s| std::ptr::eq(s.migration, required));
            if !runs_before && record.is_none() {
                return Err(bad("which would only be applied after it").into());
            }
            if !needed.iter().any(|need| std::ptr::eq(need.required, required)) {
                needed.push(Need { required, by: step.migration.label.clone() });
            }
        }
    }
    Ok(needed)
}

/// Whether `name` (a version or a file name) names `migration`.
pub(crate) fn names(name: &str, migration: &Migration) -> bool {
    let version = name.parse::<crate::Version>().ok();
    migration.label == name || (version.is_some() && migration.version() == version)
}

/// Refuses a run whose migrations need a transform a worker owns finished, when the run
/// must not wait for it, or when it was paused, cancelled or failed (finishing it would
/// override whoever stopped it).
pub(crate) fn check_needed(
    needed: &[Need<'_>],
    queued: &[TransformRow],
    wait: bool,
) -> Result<(), Error> {
    for need in needed {
        let Some(row) = queued.iter().find(|row| row.is_of(need.required)) else { continue };
        if row.state == TransformState::Done || (wait && !stopped(row.state)) {
            continue;
        }
        let (label, required) = (need.by.clone(), need.required.label.clone());
        return Err(TransformError::Unfinished { label, required, state: row.state }.into());
    }
    Ok(())
}

/// Finishes, inside a run that needs it, a transform a worker owns: waits for a worker that
/// holds it to let go, then runs the rest of its batches as a worker would.
pub(crate) fn finish_first(
    run: &mut Run<'_>,
    step: &Step<'_>,
    wasm: &WasmScript,
) -> Result<Duration, Error> {
    let migration = step.migration;
    let label = migration.label.clone();
    let started = Instant::now();
    let Some(row) = run.knows.queued.iter().find(|row| row.is_of(migration)) else {
        return Err(TransformError::NotQueued { label }.into());
    };
    let mut announced = false;
    loop {
        if try_lock(run.conn, row)? {
            break;
        }
        if !announced {
            run.reporter.report(Event::WaitingForTransform { label: &label });
            announced = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let outcome = finish_locked(run, step, wasm);
    outcome.and(unlock(run.conn, row)).map(|()| started.elapsed())
}

fn finish_locked(run: &mut Run<'_>, step: &Step<'_>, wasm: &WasmScript) -> Result<(), Error> {
    let migration = step.migration;
    let label = migration.label.clone();
    let db = run.driver()?;
    let state = state::state_of(db, migration)
        .map_err(|source| database(format!("cannot read {label}'s transform"), source))?;
    let history = crate::history::read(db)?;
    let record = history.iter().find(|r| r.records(migration));
    if state == Some(TransformState::Done)
        || record.is_some_and(|r| r.state == RecordState::Applied)
    {
        return Ok(()); // a worker finished it while this run waited
    }
    let from = [TransformState::Queued, TransformState::Running];
    let (stream, key) = (&migration.stream, &migration.key);
    let started = state::change(db, stream, key, &from, TransformState::Running, None)
        .map_err(|source| database(format!("cannot start {label}'s transform"), source))?;
    let needed_by = run.knows.needs(migration).map_or_else(String::new, |need| need.by.clone());
    let unfinished = |state| {
        let (label, required) = (needed_by.clone(), migration.label.clone());
        Error::from(TransformError::Unfinished { label, required, state })
    };
    if !started {
        return Err(unfinished(state.unwrap_or(TransformState::Queued)));
    }
    // Where the worker left it: the history as it is now, not as the run found it.
    let knows = Knows { mode: Mode::Worker, applied: &history, ..run.knows };
    let mut worker = Run { conn: &mut *run.conn, reporter: &mut *run.reporter, knows };
    match run_transform(&mut worker, step, wasm) {
        Ok(Ended::Stopped(state)) => Err(unfinished(state)),
        Ok(_) => Ok(()),
        Err(error) if error.connection_lost() => Err(error),
        Err(error) => {
            mark_failed(run.conn, migration, error.one_line())?;
            Err(error)
        }
    }
}

/// The name of a transform's lock.
fn lock_name(db: &dyn Driver, row: &TransformRow) -> String {
    format!("{}/{}/{}", db.history_table(), row.stream, row.key)
}

/// Takes the lock of `row`'s transform without waiting; whether it did.
fn try_lock(conn: &mut Connection, row: &TransformRow) -> Result<bool, Error> {
    let db = conn.driver()?;
    let name = lock_name(db, row);
    db.try_lock_transform(&name).map_err(|source| {
        database(format!("cannot take the lock of {}'s transform", row.label), source)
    })
}

fn unlock(conn: &mut Connection, row: &TransformRow) -> Result<(), Error> {
    let db = conn.driver()?;
    let name = lock_name(db, row);
    db.unlock_transform(&name).map_err(|source| {
        database(format!("cannot release the lock of {}'s transform", row.label), source)
    })
}

/// What a worker needs of the migrator: the migrations, the packs' grants, and how batches run.
#[derive(Clone, Copy)]
pub(crate) struct Shop<'m> {
    pub(crate) migrations: &'m [Migration],
    pub(crate) packs: &'m [Pack],
    pub(crate) batch: &'m BatchPolicy,
    pub(crate) throttle: &'m Throttle,
    pub(crate) limits: Limits,
}

/// Runs queued transforms, one after another, until none is left that another worker does
/// not hold. A transform that fails is marked failed (with its error) and the worker goes on
/// with the next; one paused or cancelled from elsewhere stops at its next batch boundary.
pub(crate) fn work(
    shop: Shop<'_>,
    conn: &mut Connection,
    reporter: &mut dyn Reporter,
) -> Result<Worked, Error> {
    let mut worked = Worked::default();
    let mut held_elsewhere: Vec<(String, String)> = Vec::new();
    loop {
        let rows = queued(conn.driver()?)?;
        let next = rows.into_iter().find(|row| {
            matches!(row.state, TransformState::Queued | TransformState::Running)
                && !held_elsewhere.contains(&(row.stream.clone(), row.key.clone()))
        });
        let Some(row) = next else { return Ok(worked) };
        if !try_lock(conn, &row)? {
            held_elsewhere.push((row.stream.clone(), row.key.clone()));
            continue;
        }
        let outcome = work_on(shop, conn, &row, reporter, &mut worked);
        outcome.and(unlock(conn, &row))?;
    }
}

/// Runs one transform whose lock this worker holds.
fn work_on(
    shop: Shop<'_>,
    conn: &mut Connection,
    row: &TransformRow,
    reporter: &mut dyn Reporter,
    worked: &mut Worked,
) -> Result<(), Error> {
    let label = row.label.clone();
    let Some(migration) = shop.migrations.iter().find(|m| row.is_of(m)) else {
        // Its file is gone: nothing here can run it; the row stays for a runner that can.
        worked.failed.push((label.clone(), format!("no migration file for {label}")));
        return Ok(());
    };
    let Some(applied) = claim(conn, migration, worked)? else { return Ok(()) };
    let Script::Wasm(wasm) = &migration.script else {
        return Err(TransformError::NotBatched { label }.into());
    };
    let knows = Knows {
        limits: shop.limits,
        batch: shop.batch,
        throttle: shop.throttle,
        mode: Mode::Worker,
        needed: &[],
        queued: &[],
        applied: &applied,
        packs: shop.packs,
        keep: None,
        lock_waits: crate::locks::LockWaits::default(),
        lint: None,
    };
    let mut run = Run { conn: &mut *conn, reporter: &mut *reporter, knows };
    let step = Step { action: Action::Resume, migration };
    run.reporter.report(Event::StepStarted { step: &step, dry_run: false });
    let started = std::time::Instant::now();
    match run_transform(&mut run, &step, wasm) {
        Ok(Ended::Finished | Ended::Queued) => {
            reporter.report(Event::StepFinished { step: &step, elapsed: started.elapsed() });
            worked.finished.push(label);
        }
        Ok(Ended::Stopped(state)) => {
            reporter.report(Event::TransformStopped { label: &label, state });
            worked.stopped.push((label, state));
        }
        Err(error) if error.connection_lost() => return Err(error),
        Err(error) => {
            let reason = mark_failed(conn, migration, error.one_line())?;
            let failed = Event::TransformFailed { label: &label, error: &error, reason: &reason };
            reporter.report(failed);
            worked.failed.push((label, reason));
        }
    }
    Ok(())
}

/// Under the transform's lock, whether it is still this worker's to run: the history as it
/// is now, or `None` when another worker finished it meanwhile, its migration is applied
/// (then it is marked done), or it cannot run (then it is marked failed, in `worked`).
fn claim(
    conn: &mut Connection,
    migration: &Migration,
    worked: &mut Worked,
) -> Result<Option<Vec<AppliedMigration>>, Error> {
    let label = migration.label.clone();
    let db = conn.driver()?;
    let now = state::state_of(db, migration)
        .map_err(|source| database(format!("cannot read {label}'s transform"), source))?;
    if !matches!(now, Some(TransformState::Queued | TransformState::Running)) {
        return Ok(None);
    }
    let applied = crate::history::read(db)?;
    let Some(record) = applied.iter().find(|r| r.records(migration)) else {
        let reason = TransformError::NotQueued { label: label.clone() }.to_string();
        worked.failed.push((label, mark_failed(conn, migration, reason)?));
        return Ok(None);
    };
    if record.checksum != migration.checksum {
        let reason = TransformError::Modified {
            label: label.clone(),
            recorded: record.checksum.to_string(),
            current: migration.checksum.to_string(),
        };
        worked.failed.push((label, mark_failed(conn, migration, reason.to_string())?));
        return Ok(None);
    }
    let db = conn.driver()?;
    let from = [TransformState::Queued, TransformState::Running];
    let (stream, key) = (&migration.stream, &migration.key);
    if record.state == RecordState::Applied {
        state::change(db, stream, key, &from, TransformState::Done, None)
            .map_err(|source| database(format!("cannot mark {label} done"), source))?;
        return Ok(None);
    }
    state::change(db, stream, key, &from, TransformState::Running, None)
        .map_err(|source| database(format!("cannot start {label}'s transform"), source))?;
    Ok(Some(applied))
}

/// Marks `migration`'s transform failed with `reason`, and gives the reason back.
fn mark_failed(
    conn: &mut Connection,
    migration: &Migration,
    reason: String,
) -> Result<String, Error> {
    let from = [TransformState::Queued, TransformState::Running];
    let (stream, key) = (&migration.stream, &migration.key);
    let db = conn.driver()?;
    // The failed batch's transaction is over; the mark commits on its own.
    let marked = db.sync().and_then(|()| {
        state::change(db, stream, key, &from, TransformState::Failed, Some(&reason))?;
        db.sync()
    });
    marked.map_err(|source| database(format!("cannot mark {} failed", migration.label), source))?;
    Ok(reason)
}

/// The history as a revert plans with it: a batched migration whose transform stopped is
/// reverted like an applied one (its down undoes what the batches did so far). One whose
/// transform is queued or running in a worker is refused, naming its state.
pub(crate) fn revertible(
    mut applied: Vec<crate::history::AppliedMigration>,
    queued: &[TransformRow],
) -> Result<Vec<crate::history::AppliedMigration>, Error> {
    for record in applied.iter_mut().filter(|r| r.state == RecordState::InProgress) {
        let Some(row) = queued.iter().find(|row| row.is_for(&record.stream, &record.key())) else {
            continue;
        };
        match row.state {
            state if stopped(state) => record.state = RecordState::Applied,
            TransformState::Queued | TransformState::Running => {
                let label = row.label.clone();
                return Err(TransformError::NotStopped { label, state: row.state }.into());
            }
            _ => {}
        }
    }
    Ok(applied)
}
