//! Running a plan's steps: each migration and its history row in one transaction (or, for a
//! `no-transaction` file, its statements one by one and then its row), reported as it goes.

use super::guests::{self, Guests};
use super::undo_guards::{Tx, in_transaction};
use super::{Report, StepReport};
use crate::driver::Write;
use crate::driver::{Connection, DbError, Driver, StepFailure, StepWork};
use crate::error::{Error, MigrationFailure};
use crate::history::Keep;
use crate::history::{NewRecord, RecordState};
use crate::migration::{Migration, Script, Statement};
use crate::plan::{Action, PlanError, Step};
use crate::report::{Event, Reporter};
use crate::transforms::state;
use std::time::{Duration, Instant};

pub(super) fn run(
    conn: &mut Connection,
    guests: &Guests<'_>,
    steps: &[Step<'_>],
    dry_run: bool,
    reporter: &mut dyn Reporter,
    report: &mut Report,
) -> Result<(), Error> {
    if dry_run {
        for step in steps {
            reporter.report(Event::StepStarted { step, dry_run });
            for Statement { sql, line } in statements(step)? {
                reporter.report(Event::Statement { sql, line: *line, dry_run });
            }
            finished(report, step, Duration::ZERO);
        }
        return Ok(());
    }
    let depth = conn.driver()?.pipeline_depth().max(1);
    let mut at = 0;
    while at < steps.len() {
        let sendable = steps[at..].iter().take(depth).take_while(|s| sendable(s, guests)).count();
        if sendable > 0 {
            send(conn, &steps[at..at + sendable], guests.keep, reporter, report)?;
            at += sendable;
            continue;
        }
        let step = &steps[at];
        reporter.report(Event::StepStarted { step, dry_run });
        let elapsed = execute(conn, step, guests, reporter)?;
        reporter.report(Event::StepFinished { step, elapsed });
        finished(report, step, elapsed);
        at += 1;
    }
    Ok(())
}

fn finished(report: &mut Report, step: &Step<'_>, elapsed: Duration) {
    let label = step.migration.label.clone();
    report.steps.push(StepReport { action: step.action, label, elapsed });
}

/// Whether a step is SQL statements in a transaction of their own, outside any pack's grant:
/// what a driver may send together with the steps around it.
fn sendable(step: &Step<'_>, guests: &Guests<'_>) -> bool {
    let migration = step.migration;
    matches!(migration.script, Script::Sql(_))
        && migration.runs_in_transaction_when(step.action == Action::Revert)
        && guests.pack_of(migration).is_none()
        && statements(step).is_ok()
}

/// Steps the driver runs as a batch (sent together where it can), each committed with its
/// history row; the first that fails stops the rest.
fn send(
    conn: &mut Connection,
    steps: &[Step<'_>],
    keep: Option<&Keep>,
    reporter: &mut dyn Reporter,
    report: &mut Report,
) -> Result<(), Error> {
    let db = conn.driver()?;
    let mut work = Vec::with_capacity(steps.len());
    for step in steps {
        reporter.report(Event::StepStarted { step, dry_run: false });
        let statements = statements(step)?;
        for statement in statements {
            let (sql, line) = (&statement.sql, statement.line);
            reporter.report(Event::Statement { sql, line, dry_run: false });
        }
        let statements = statements.iter().map(|s| s.sql.as_str()).collect();
        work.push(StepWork { statements, writes: records(&*db, step, None, keep) });
    }
    let run = db.run_steps(&work);
    for (step, elapsed) in steps.iter().zip(run.took) {
        reporter.report(Event::StepFinished { step, elapsed });
        finished(report, step, elapsed);
    }
    let Some(StepFailure { step, statement, error }) = run.failure else {
        return Ok(());
    };
    let step = &steps[step];
    match statement.and_then(|n| statements(step).ok()?.get(n)) {
        Some(statement) => Err(failure(step, statement, error, false)),
        None => Err(Error::Database { context: record_context(step.migration), source: error }),
    }
}

/// The statements a SQL step runs; none for a component.
fn statements<'m>(step: &Step<'m>) -> Result<&'m [Statement], Error> {
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

/// What a step records when it succeeds (in godwit's history, and in the table of the tool
/// kept up to date); `ms: None` leaves its time to the driver.
fn records(db: &dyn Driver, step: &Step<'_>, ms: Option<i64>, keep: Option<&Keep>) -> Vec<Write> {
    let migration = step.migration;
    let forget = || crate::history::forget(db, &migration.stream, &migration.key);
    let applied =
        || crate::history::record(db, &NewRecord::of(migration, RecordState::Applied, ms));
    let mut writes = match step.action {
        Action::Apply => vec![applied()],
        Action::Reapply => vec![forget(), applied()],
        Action::Revert | Action::Resume => vec![forget()],
    };
    if let Some(keep) = keep.filter(|_| migration.stream.is_project()) {
        let ms = ms.unwrap_or(0);
        match step.action {
            Action::Apply | Action::Reapply => writes.extend(keep.writes(db, migration, true, ms)),
            Action::Revert => writes.extend(keep.writes(db, migration, false, ms)),
            Action::Resume => {}
        }
    }
    writes
}

fn record_context(migration: &Migration) -> String {
    format!("cannot record {} ({}) in the history", migration.label, migration.path.display())
}

/// Runs one step and records it. In a transaction, a failure rolls back both; outside one
/// (`no-transaction`), the migration is recorded as failed so that `up` stops until repaired.
fn execute(
    conn: &mut Connection,
    step: &Step<'_>,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Duration, Error> {
    let migration = step.migration;
    if let Script::Wasm(wasm) = &migration.script
        && migration.is_batched()
        && step.action != Action::Revert
    {
        if guests.takes_over(migration) {
            return super::worker::finish_first(conn, step, wasm, guests, reporter);
        }
        return super::batched::run_batched(conn, step, wasm, guests, reporter);
    }
    if !migration.runs_in_transaction_when(step.action == Action::Revert) {
        return execute_alone(conn, step, guests, reporter);
    }
    let started = Instant::now();
    let mut tx = Tx::begin(conn, record_context(migration))?;
    guests.confined(tx.conn(), migration, |conn| body(conn, step, guests, reporter))?;
    let elapsed = started.elapsed();
    let mut writes = records(tx.driver()?, step, Some(elapsed_ms(started)), guests.keep);
    writes.extend(drop_transform(tx.driver()?, step, guests));
    tx.finish(&writes)?;
    report_dropped(step, guests, reporter);
    Ok(elapsed)
}

/// The write that drops the stopped transform a revert undoes, with the history row.
fn drop_transform(db: &dyn Driver, step: &Step<'_>, guests: &Guests<'_>) -> Option<Write> {
    let migration = step.migration;
    guests.dropped(step).map(|_| state::forget(db, &migration.stream, &migration.key))
}

fn report_dropped(step: &Step<'_>, guests: &Guests<'_>, reporter: &mut dyn Reporter) {
    if let Some(row) = guests.dropped(step) {
        let label = &step.migration.label;
        reporter.report(Event::TransformDropped { label, state: row.state });
    }
}

/// A `no-transaction` migration: statements that refuse to run in a transaction run one by
/// one, then the history row is written in a transaction of its own.
fn execute_alone(
    conn: &mut Connection,
    step: &Step<'_>,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<Duration, Error> {
    let migration = step.migration;
    let started = Instant::now();
    // They must not run in a transaction still open either.
    super::sync(conn)?;
    let outcome = guests.confined(conn, migration, |conn| body(conn, step, guests, reporter));
    let elapsed = started.elapsed();
    let ms = elapsed_ms(started);
    let driver = conn.driver()?;
    let writes = match &outcome {
        Ok(()) => {
            let mut writes = records(driver, step, Some(ms), guests.keep);
            writes.extend(drop_transform(driver, step, guests));
            writes
        }
        Err(_) => vec![
            crate::history::forget(driver, &migration.stream, &migration.key),
            crate::history::record(
                driver,
                &NewRecord::of(migration, RecordState::Failed, Some(ms)),
            ),
        ],
    };
    in_transaction(conn, record_context(migration), &writes)?;
    if outcome.is_ok() {
        report_dropped(step, guests, reporter);
    }
    outcome.map(|()| elapsed)
}

/// What the step runs: its SQL statements, or its component's `up` or `down`.
fn body(
    conn: &mut Connection,
    step: &Step<'_>,
    guests: &Guests<'_>,
    reporter: &mut dyn Reporter,
) -> Result<(), Error> {
    match &step.migration.script {
        Script::Sql(_) => run_statements(conn.driver()?, step, reporter),
        Script::Wasm(wasm) => guests::run_guest(conn, step, wasm, guests, reporter),
    }
}

fn run_statements(
    db: &mut dyn Driver,
    step: &Step<'_>,
    reporter: &mut dyn Reporter,
) -> Result<(), Error> {
    let recorded_failed = !step.migration.runs_in_transaction_when(step.action == Action::Revert);
    for statement in statements(step)? {
        reporter.report(Event::Statement {
            sql: &statement.sql,
            line: statement.line,
            dry_run: false,
        });
        db.execute(&statement.sql)
            .map_err(|source| failure(step, statement, source, recorded_failed))?;
    }
    Ok(())
}

pub(super) fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn failure(
    step: &Step<'_>,
    statement: &Statement,
    source: DbError,
    recorded_failed: bool,
) -> Error {
    // PostgreSQL points at a character of the statement; count the lines before it.
    let line = statement.line
        + source.position.map_or(0, |at| {
            statement.sql.chars().take(at.saturating_sub(1)).filter(|c| *c == '\n').count()
        });
    Error::MigrationFailed(Box::new(MigrationFailure {
        label: step.migration.label.clone(),
        path: step.migration.path.clone(),
        line,
        statement: statement.sql.clone(),
        reverting: step.action == Action::Revert,
        recorded_failed,
        source,
    }))
}
