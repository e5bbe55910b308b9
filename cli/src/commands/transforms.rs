//! `godwit transforms run | status | pause | resume | cancel | retry`: the worker that runs
//! transforms queued by `godwit up --defer-transforms`, what each one is doing, and the
//! controls another process uses on them.

use super::{count, load, load_and_connect};
use crate::cli::{Format, TransformsCommand};
use crate::config::Settings;
use crate::printer::{CYAN, GREEN, Printer, YELLOW};
use crate::progress::thousands;
use crate::report::CliReporter;
use godwit::history::AppliedMigration;
use godwit::transforms::{Control, TransformRow, TransformState};
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(
    settings: &Settings,
    printer: &mut Printer,
    command: &TransformsCommand,
) -> anyhow::Result<ExitCode> {
    let (control, which) = match command {
        TransformsCommand::Run { parallel, batch } => {
            return work(settings, printer, *parallel, batch);
        }
        TransformsCommand::Status { format, fleet: args } => {
            return match super::fleet::targets(settings, args)? {
                Some(targets) => {
                    super::fleet::transforms(settings, printer, &targets, args, *format)
                }
                None => status(settings, printer, *format),
            };
        }
        TransformsCommand::Pause { migration } => (Control::Pause, migration),
        TransformsCommand::Resume { migration } => (Control::Resume, migration),
        TransformsCommand::Cancel { migration } => (Control::Cancel, migration),
        TransformsCommand::Retry { migration } => (Control::Retry, migration),
    };
    let (migrator, mut db) = load_and_connect(settings, || load(settings, printer))?;
    let row = migrator.control(&mut db, which, control)?;
    let (verb, what) = match control {
        Control::Pause => ("Paused", "its worker stops at the next batch boundary"),
        Control::Resume => ("Resumed", "queued for `godwit transforms run`"),
        Control::Cancel => ("Cancelled", "its worker stops at the next batch boundary"),
        _ => ("Retrying", "queued for `godwit transforms run`; it goes on from its cursor"),
    };
    printer.status(verb, GREEN, format!("{} ({what})", row.label));
    Ok(ExitCode::SUCCESS)
}

fn work(
    settings: &Settings,
    printer: &mut Printer,
    parallel: usize,
    batch: &crate::batching::BatchArgs,
) -> anyhow::Result<ExitCode> {
    if parallel == 0 {
        return Err(crate::failure::Failure::config("--parallel must be at least 1").into());
    }
    let (policy, throttle) = batch.settings()?;
    let (migrator, mut db) = load_and_connect(settings, || {
        let migrator = load(settings, printer)?.with_batch_policy(policy).with_throttle(throttle);
        migrator.check_pins()?;
        Ok(migrator)
    })?;
    let worked = match parallel {
        1 => migrator.work(&mut db, &mut CliReporter::new(printer))?,
        n => work_in_parallel(settings, printer, &migrator, db, n)?,
    };
    let n = |n: usize| count(n, "transform", "transforms");
    // Each stopped or failed transform was said as it happened.
    if worked.failed.is_empty() {
        let message = match worked.finished.len() {
            0 => "no transform is queued".to_owned(),
            done => format!("ran {} to the end", n(done)),
        };
        printer.status("Finished", GREEN, message);
        return Ok(ExitCode::SUCCESS);
    }
    printer.status(
        "Finished",
        YELLOW,
        format!(
            "{} failed (see `godwit transforms status`; fix it, then `godwit transforms retry`)",
            n(worked.failed.len())
        ),
    );
    Ok(ExitCode::from(1))
}

/// `n` workers at once, each on a connection of its own, their progress as lines; what they
/// did together. Each takes the transforms no other holds, so they share the queue.
fn work_in_parallel(
    settings: &Settings,
    printer: &Printer,
    migrator: &godwit::Migrator,
    first: godwit::Connection,
    n: usize,
) -> anyhow::Result<godwit::Worked> {
    let mut connections = vec![first];
    for _ in 1..n {
        connections.push(super::connect(settings)?);
    }
    let results: Vec<Result<godwit::Worked, godwit::Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = connections
            .into_iter()
            .map(|mut db| {
                let mut printer = printer.duplicate();
                scope.spawn(move || migrator.work(&mut db, &mut CliReporter::lines(&mut printer)))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut all = godwit::Worked::default();
    for result in results {
        let worked = result?;
        all.finished.extend(worked.finished);
        all.stopped.extend(worked.stopped);
        all.failed.extend(worked.failed);
    }
    Ok(all)
}

/// One transform as `transforms status` and `status` show it.
#[derive(Serialize)]
pub struct View<'a> {
    pub label: &'a str,
    pub state: TransformState,
    pub rows_done: i64,
    pub estimated_total: Option<i64>,
    pub rows_per_second: Option<f64>,
    pub batch_size: Option<i64>,
    pub eta_seconds: Option<u64>,
    pub cursor: Option<&'a str>,
    pub throttled: Option<&'a str>,
    pub last_error: Option<&'a str>,
    pub updated_at: &'a str,
}

pub fn views<'a>(rows: &'a [TransformRow], applied: &'a [AppliedMigration]) -> Vec<View<'a>> {
    rows.iter()
        .map(|row| {
            let record = applied.iter().find(|r| row.is_for(&r.stream, &r.key()));
            let rows_done = record.map_or(0, |r| r.rows_done);
            let rate = row.rate.filter(|r| *r > 0.0);
            let eta_seconds = match (row.state, row.estimated_total, rate) {
                (TransformState::Running, Some(total), Some(rate)) if total > rows_done => {
                    Some(((total - rows_done) as f64 / rate).ceil() as u64)
                }
                _ => None,
            };
            View {
                label: &row.label,
                state: row.state,
                rows_done,
                estimated_total: row.estimated_total,
                rows_per_second: rate.map(f64::round),
                batch_size: row.batch_size,
                eta_seconds,
                cursor: record.and_then(|r| r.cursor.as_deref()),
                throttled: row.throttled.as_deref(),
                last_error: row.last_error.as_deref(),
                updated_at: &row.updated_at,
            }
        })
        .collect()
}

/// The table of `views`, one line each.
pub fn table(printer: &mut Printer, views: &[View<'_>]) -> std::io::Result<()> {
    let width = views.iter().map(|v| v.label.len()).max().unwrap_or(9).max(9);
    printer.data(format!(
        "{:<9} {:<width$} {:>21} {:>10} {:>7} {:>9}  NOTE",
        "TRANSFORM", "MIGRATION", "ROWS", "ROWS/S", "BATCH", "ETA"
    ))?;
    for v in views {
        let rows = match v.estimated_total {
            Some(total) => {
                format!("{}/{}", thousands(v.rows_done as u64), thousands(total.max(0) as u64))
            }
            None => thousands(v.rows_done.max(0) as u64),
        };
        let rate = v.rows_per_second.map_or("-".to_owned(), |r| thousands(r as u64));
        let batch = v.batch_size.map_or("-".to_owned(), |b| thousands(b.max(0) as u64));
        let eta = v.eta_seconds.map_or("-".to_owned(), |s| {
            humantime::format_duration(Duration::from_secs(s)).to_string()
        });
        let note = match (v.throttled, v.last_error) {
            (Some(reason), _) if v.state == TransformState::Running => {
                format!("holding off: {reason}")
            }
            (_, Some(error)) if v.state == TransformState::Failed => error.to_owned(),
            _ => String::new(),
        };
        printer.data(format!(
            "{:<9} {:<width$} {rows:>21} {rate:>10} {batch:>7} {eta:>9}  {note}",
            v.state.as_str(),
            v.label
        ))?;
    }
    Ok(())
}

fn status(settings: &Settings, printer: &mut Printer, format: Format) -> anyhow::Result<ExitCode> {
    let (migrator, mut db) = load_and_connect(settings, || load(settings, printer))?;
    let rows = migrator.transforms(&mut db)?;
    let applied = migrator.history(&mut db)?;
    let views = views(&rows, &applied);
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&views)?;
            printer.data(text)?;
        }
        Format::Text if views.is_empty() => printer.status(
            "Status",
            CYAN,
            format!(
                "{}: no transform is queued (`godwit up --defer-transforms` queues them)",
                db.target()
            ),
        ),
        Format::Text => {
            table(printer, &views)?;
            let running = views.iter().filter(|v| v.state == TransformState::Running).count();
            let queued = views.iter().filter(|v| v.state == TransformState::Queued).count();
            printer.status(
                "Status",
                CYAN,
                format!(
                    "{}: {}, {running} running, {queued} queued",
                    db.target(),
                    count(views.len(), "transform", "transforms")
                ),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
