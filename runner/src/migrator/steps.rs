//! The run's steps in order: shown for a dry run; SQL steps sent together where the driver
//! can; a batched migration's batches run by the batch loop, or by this run on behalf of the
//! worker that owns them; every other step run on its own (`run::execute`).

use super::{PlannedStatement, Report, StepReport};
use crate::driver::Dialect;
use crate::error::Error;
use crate::lint;
use crate::migration::{Script, Statement};
use crate::plan::{Action, Step};
use crate::report::Event;
use crate::run::{self, Run};
use crate::transforms::{batch_loop, worker};
use std::time::Duration;

pub(super) fn run(
    run: &mut Run<'_>,
    steps: &[Step<'_>],
    dry_run: bool,
    report: &mut Report,
) -> Result<(), Error> {
    if dry_run {
        let postgres = run.driver()?.dialect() == Dialect::Postgres;
        for step in steps {
            run.reporter.report(Event::StepStarted { step, dry_run });
            let mut planned = Vec::new();
            for Statement { sql, line } in run::statements(step)? {
                let locks = match postgres {
                    true => lint::in_database(run.driver()?, lint::locks_taken(sql)),
                    false => Vec::new(),
                };
                let (line, locks_ref) = (*line, &locks);
                run.reporter.report(Event::Statement { sql, line, dry_run, locks: locks_ref });
                planned.push(PlannedStatement { line, sql: sql.clone(), locks });
            }
            finished(report, step, Duration::ZERO);
            if let Some(last) = report.steps.last_mut() {
                last.statements = planned;
            }
        }
        return Ok(());
    }
    let depth = run.driver()?.pipeline_depth().max(1);
    let mut at = 0;
    while at < steps.len() {
        let sendable = steps[at..].iter().take(depth).take_while(|s| run::sendable(run, s)).count();
        if sendable > 0 {
            let mut done = |step: &Step<'_>, elapsed| finished(report, step, elapsed);
            let sent = run::send(run, &steps[at..at + sendable], &mut done)?;
            at += sent;
            if sent < sendable {
                // It gave up waiting for a lock: tried again on its own, after the pause.
                let step = &steps[at];
                let elapsed = run::execute_after(run, step, 1)?;
                run.reporter.report(Event::StepFinished { step, elapsed });
                finished(report, step, elapsed);
                at += 1;
            }
            continue;
        }
        let step = &steps[at];
        run.reporter.report(Event::StepStarted { step, dry_run });
        let elapsed = one(run, step)?;
        run.reporter.report(Event::StepFinished { step, elapsed });
        finished(report, step, elapsed);
        at += 1;
    }
    Ok(())
}

/// One step: a batched migration's `up` and batches, or anything else.
fn one(run: &mut Run<'_>, step: &Step<'_>) -> Result<Duration, Error> {
    let migration = step.migration;
    match &migration.script {
        Script::Wasm(wasm) if migration.is_batched() && step.action != Action::Revert => {
            if run.knows.takes_over(migration) {
                return worker::finish_first(run, step, wasm);
            }
            batch_loop::run_batched(run, step, wasm)
        }
        _ => run::execute(run, step),
    }
}

fn finished(report: &mut Report, step: &Step<'_>, elapsed: Duration) {
    let label = step.migration.label.clone();
    let statements = Vec::new();
    report.steps.push(StepReport { action: step.action, label, elapsed, statements });
}
