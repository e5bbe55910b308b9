//! Running one step: a migration and its history row in one transaction (or, for a
//! `no-transaction` file, its statements one by one and then its row), reported as it goes;
//! and SQL steps sent together where the driver can. The batches of a batched migration run
//! in `transforms::batch_loop`.

use super::{Knows, Run, Tx, in_transaction, lock_wait, run_guest};
use crate::driver::{DbError, Driver, StepFailure, StepWork, Write};
use crate::error::{Error, MigrationFailure};
use crate::history::{NewRecord, RecordState};
use crate::migration::{Migration, Script, Statement};
use crate::plan::{Action, PlanError, Step};
use crate::report::Event;
use crate::transforms::state;
use std::time::{Duration, Instant};

/// Whether a step is SQL statements in a transaction of their own, outside any pack's grant:
/// what a driver may send together with the steps around it.
pub(crate) fn sendable(run: &Run<'_>, step: &Step<'_>) -> bool {
    let migration = step.migration;
    matches!(migration.script, Script::Sql(_))
        && migration.runs_in_transaction_when(step.action == Action::Revert)
        && run.knows.pack_of(migration).is_none()
        && statements(step).is_ok()
}

/// Steps the driver runs as a batch (sent together where it can), each committed with its
/// history row; the first that fails stops the rest. `finished` hears of each that committed.
/// How many committed: fewer than `steps` when one gave up waiting for a lock and is to be
/// tried again ([`execute_after`], after the pause this waited).
pub(crate) fn send(
    run: &mut Run<'_>,
    steps: &[Step<'_>],
    finished: &mut dyn FnMut(&Step<'_>, Duration),
) -> Result<usize, Error> {
    let knows = run.knows;
    let preludes: Vec<Option<String>> =
        steps.iter().map(|step| lock_wait::prelude(run, step.migration)).collect();
    let mut work = Vec::with_capacity(steps.len());
    for (step, prelude) in steps.iter().zip(&preludes) {
        run.reporter.report(Event::StepStarted { step, dry_run: false });
        let statements = statements(step)?;
        for statement in statements {
            let (sql, line) = (&statement.sql, statement.line);
            run.reporter.report(Event::Statement { sql, line, dry_run: false, locks: &[] });
        }
        let statements = prelude.iter().map(String::as_str);
        let statements = statements.chain(statements_of(step)?).collect();
        work.push(StepWork { statements, writes: records(run.driver()?, step, None, &knows) });
    }
    let sent = run.driver()?.run_steps(&work);
    for (step, elapsed) in steps.iter().zip(sent.took) {
        run.reporter.report(Event::StepFinished { step, elapsed });
        finished(step, elapsed);
    }
    let Some(StepFailure { step: at, statement, error }) = sent.failure else {
        return Ok(steps.len());
    };
    let step = &steps[at];
    // The statements sent begin with the step's prelude, when it has one.
    let statement = match preludes[at] {
        Some(_) => statement.and_then(|n| n.checked_sub(1)),
        None => statement,
    };
    let Some(statement) = statement.and_then(|n| statements(step).ok()?.get(n)) else {
        return Err(Error::Database { context: record_context(step.migration), source: error });
    };
    let mut failure = failure_of(step, statement, error, false);
    if !lock_wait::gave_up_on(&failure) {
        return Err(Error::MigrationFailed(failure));
    }
    let blockers = lock_wait::blockers(run.driver()?, &failure.statement);
    if run.knows.lock_waits.retries == 0 {
        failure.blocked_by = blockers;
        return Err(Error::MigrationFailed(failure));
    }
    lock_wait::pause_before(run, step, 1, &blockers);
    Ok(at)
}

/// The SQL of the statements a SQL step runs.
fn statements_of<'m>(step: &Step<'m>) -> Result<impl Iterator<Item = &'m str>, Error> {
    Ok(statements(step)?.iter().map(|s| s.sql.as_str()))
}

/// The statements a SQL step runs; none for a component.
pub(crate) fn statements<'m>(step: &Step<'m>) -> Result<&'m [Statement], Error> {
    let Script::Sql(script) = &step.migration.script else {
        return Ok(&[]);
    };
    match step.action {
        Action::Apply | Action::Reapply | Action::Resume => Ok(&script.up),
        Action::Revert => match script.down_statements() {
            Ok(Some(down)) => Ok(down),
            Err(error) if !error.missing => Err(Error::DownFile(error)),
            _ => Err(PlanError::Irreversible { labels: vec![step.migration.label.clone()] }.into()),
        },
    }
}

/// What a step records when it succeeds: its history row, the tool's row where a tool's table
/// is kept up to date, and for a revert of a batched migration whose transform stopped, the
/// transform's row dropped; `ms: None` leaves its time to the driver.
fn records(db: &dyn Driver, step: &Step<'_>, ms: Option<i64>, knows: &Knows<'_>) -> Vec<Write> {
    let migration = step.migration;
    let forget = || crate::history::forget(db, &migration.stream, &migration.key);
    let applied =
        || crate::history::record(db, &NewRecord::of(migration, RecordState::Applied, ms));
    let mut writes = match step.action {
        Action::Apply => vec![applied()],
        Action::Reapply => vec![forget(), applied()],
        Action::Revert | Action::Resume => vec![forget()],
    };
    if let Some(keep) = knows.keep.filter(|_| migration.stream.is_project()) {
        let ms = ms.unwrap_or(0);
        match step.action {
            Action::Apply | Action::Reapply => writes.extend(keep.writes(db, migration, true, ms)),
            Action::Revert => writes.extend(keep.writes(db, migration, false, ms)),
            Action::Resume => {}
        }
    }
    if knows.dropped(step).is_some() {
        writes.push(state::forget(db, &migration.stream, &migration.key));
    }
    writes
}

fn record_context(migration: &Migration) -> String {
    format!("cannot record {} ({}) in the history", migration.label, migration.path.display())
}

/// Runs one step that is not a batched migration's batches, and records it. In a
/// transaction, a failure rolls back both; outside one (`no-transaction`), the migration is
/// recorded as failed so that `up` stops until repaired.
pub(crate) fn execute(run: &mut Run<'_>, step: &Step<'_>) -> Result<Duration, Error> {
    execute_after(run, step, 0)
}

/// [`execute`], after `tried` tries that gave up waiting for a lock.
pub(crate) fn execute_after(
    run: &mut Run<'_>,
    step: &Step<'_>,
    tried: u32,
) -> Result<Duration, Error> {
    match step.migration.runs_in_transaction_when(step.action == Action::Revert) {
        true => lock_wait::retrying(run, step, tried, |run| in_transaction_of_its_own(run, step)),
        false => execute_alone(run, step),
    }
}

/// One try of a step in its transaction.
fn in_transaction_of_its_own(run: &mut Run<'_>, step: &Step<'_>) -> Result<Duration, Error> {
    let migration = step.migration;
    let started = Instant::now();
    let prelude = lock_wait::prelude(run, migration);
    let mut tx = Tx::begin(run, record_context(migration))?;
    if let Some(prelude) = prelude {
        let context = format!("cannot set the lock timeout of {}", migration.label);
        tx.driver()?.execute(&prelude).map_err(|source| Error::Database { context, source })?;
    }
    tx.run().confined(migration, |run| body(run, step))?;
    let elapsed = started.elapsed();
    let knows = tx.run().knows;
    let writes = records(tx.driver()?, step, Some(elapsed_ms(started)), &knows);
    tx.finish(&writes)?;
    report_dropped(run, step);
    Ok(elapsed)
}

/// Says that a revert dropped the transform it undid.
fn report_dropped(run: &mut Run<'_>, step: &Step<'_>) {
    if let Some(row) = run.knows.dropped(step) {
        let label = &step.migration.label;
        run.reporter.report(Event::TransformDropped { label, state: row.state });
    }
}

/// A `no-transaction` migration: statements that refuse to run in a transaction run one by
/// one, then the history row is written in a transaction of its own.
fn execute_alone(run: &mut Run<'_>, step: &Step<'_>) -> Result<Duration, Error> {
    let migration = step.migration;
    let started = Instant::now();
    // They must not run in a transaction still open either.
    let context = format!("cannot commit the migrations applied to {}", run.conn.target());
    run.driver()?.sync().map_err(|source| Error::Database { context, source })?;
    let outcome = run.confined(migration, |run| body(run, step));
    let elapsed = started.elapsed();
    let ms = elapsed_ms(started);
    let knows = run.knows;
    let driver = run.driver()?;
    let writes = match &outcome {
        Ok(()) => records(driver, step, Some(ms), &knows),
        Err(_) => vec![
            crate::history::forget(driver, &migration.stream, &migration.key),
            crate::history::record(
                driver,
                &NewRecord::of(migration, RecordState::Failed, Some(ms)),
            ),
        ],
    };
    in_transaction(run.conn, record_context(migration), &writes)?;
    if outcome.is_ok() {
        report_dropped(run, step);
    }
    outcome.map(|()| elapsed)
}

/// What the step runs: its SQL statements, or its component's `up` or `down`.
fn body(run: &mut Run<'_>, step: &Step<'_>) -> Result<(), Error> {
    match &step.migration.script {
        Script::Sql(_) => run_statements(run, step),
        Script::Wasm(wasm) => run_guest(run, step, wasm),
    }
}

fn run_statements(run: &mut Run<'_>, step: &Step<'_>) -> Result<(), Error> {
    let alone = !step.migration.runs_in_transaction_when(step.action == Action::Revert);
    let mut waits = lock_wait::Alone::default();
    for statement in statements(step)? {
        run.reporter.report(Event::Statement {
            sql: &statement.sql,
            line: statement.line,
            dry_run: false,
            locks: &[],
        });
        if !alone {
            run.driver()?
                .execute(&statement.sql)
                .map_err(|source| failure(step, statement, source, false))?;
            continue;
        }
        // Outside a transaction a statement that gave up did nothing: it is tried again.
        waits.before(run, step.migration, &statement.sql)?;
        lock_wait::retrying(run, step, 0, |run| {
            let sent = run.driver()?.execute(&statement.sql);
            sent.map(|()| Duration::ZERO).map_err(|source| failure(step, statement, source, true))
        })?;
    }
    waits.after(run)
}

pub(crate) fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn failure(
    step: &Step<'_>,
    statement: &Statement,
    source: DbError,
    recorded_failed: bool,
) -> Error {
    Error::MigrationFailed(failure_of(step, statement, source, recorded_failed))
}

fn failure_of(
    step: &Step<'_>,
    statement: &Statement,
    source: DbError,
    recorded_failed: bool,
) -> Box<MigrationFailure> {
    // PostgreSQL points at a character of the statement; count the lines before it.
    let line = statement.line
        + source.position.map_or(0, |at| {
            statement.sql.chars().take(at.saturating_sub(1)).filter(|c| *c == '\n').count()
        });
    Box::new(MigrationFailure {
        label: step.migration.label.clone(),
        path: step.migration.path.clone(),
        line,
        statement: statement.sql.clone(),
        reverting: step.action == Action::Revert,
        recorded_failed,
        source,
        blocked_by: Vec::new(),
    })
}
