//! `godwit up` and `godwit down`: load, connect, run the request through the engine, and say
//! what it did.

use super::{count, load, load_and_connect};
use crate::cli::Format;
use crate::config::Settings;
use crate::printer::{CYAN, GREEN, Printer, RED};
use crate::report::{CliReporter, duration};
use godwit::Request;
use godwit::plan::Target;
use godwit::transforms::{BatchPolicy, Throttle};
use std::process::ExitCode;

pub fn migrate(
    settings: &Settings,
    printer: &mut Printer,
    request: Request,
    (policy, throttle): (BatchPolicy, Throttle),
    format: Format,
    drift: Option<Option<String>>,
) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || {
        // The engine refuses packs and components that godwit.lock does not pin; here, before
        // a connection is waited for, so that nothing else delays the refusal.
        let migrator = load(settings, printer)?.with_batch_policy(policy).with_throttle(throttle);
        migrator.check_pins()?;
        Ok(migrator)
    })?;
    if let Some(dev) = &drift {
        super::schema::refuse_drift(settings, printer, &migrator, dev.as_deref())?;
    }
    let target = db.target().to_owned();
    let started = std::time::Instant::now();
    let mut reporter = CliReporter::new(printer);
    reporter.plan_on_stdout = format == Format::Text;
    let report = migrator.run(&mut db, &request, &mut reporter)?;
    if let Some(e) = reporter.stdout_error.take() {
        return Err(e.into());
    }
    if format == Format::Json {
        printer.data(serde_json::to_string_pretty(&json(&report, &target))?)?;
    }
    if !report.refused.is_empty() {
        for finding in &report.refused {
            printer.status("Error", RED, super::lint::one_line(finding));
        }
        let errors = count(report.refused.len(), "lint error", "lint errors");
        let message = format!("godwit up would refuse to run: {errors} (see `godwit lint`)");
        printer.status("Dry run", RED, message);
        return Ok(ExitCode::from(2));
    }
    if !report.dry_run && !report.steps.is_empty() {
        super::schema::dump_after_run(settings, printer, &mut db)?;
    }
    let reverting = matches!(request.target, Target::Down { .. });
    let migrations = count(report.steps.len(), "migration", "migrations");
    let what = if reverting { "reverted" } else { "applied" };
    match (report.steps.len(), report.dry_run) {
        (0, _) if reverting => {
            printer.status("Finished", GREEN, format!("nothing to revert in {target}"))
        }
        (0, _) => printer.status("Finished", GREEN, format!("{target} is up to date")),
        (_, true) => printer.status(
            "Dry run",
            CYAN,
            format!("{migrations} would be {what}; nothing was changed"),
        ),
        (_, false) => {
            let elapsed = duration(started.elapsed());
            printer.status("Finished", GREEN, format!("{what} {migrations} in {elapsed}"))
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The run as `--format json` prints it: each step, and in a dry run its statements with the
/// locks they would take.
fn json(report: &godwit::Report, target: &str) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = report
        .steps
        .iter()
        .map(|step| {
            serde_json::json!({
                "action": step.action,
                "migration": step.label,
                "elapsed_ms": step.elapsed.as_millis() as u64,
                "statements": step.statements,
            })
        })
        .collect();
    let refused: Vec<serde_json::Value> = report.refused.iter().map(super::lint::json).collect();
    serde_json::json!({
        "schema_version": 1,
        "target": target,
        "dry_run": report.dry_run,
        "steps": steps,
        "refused": refused,
    })
}
