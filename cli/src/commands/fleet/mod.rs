//! `godwit up` and `godwit status` on a fleet (`--targets FILE`, `--fleet`): each database
//! migrated or read as the single command would, a bounded number at a time, a line per
//! database as it ends, a failure told and the rest going on; status as a matrix that groups
//! the databases standing at the same place.

mod read;

pub use read::{lint, status, transforms, validate};

use super::{connect_options, count};
use crate::cli::FleetArgs;
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{GREEN, Printer, RED};
use godwit::fleet::{self, Outcome, Rollout, Target};
use godwit::{Migrator, NoReport, Request};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The fleet the arguments name, after `--shard`; `None` when they name none (one database).
pub fn targets(settings: &Settings, args: &FleetArgs) -> anyhow::Result<Option<Vec<Target>>> {
    let all = match (&args.targets, args.fleet, &settings.fleet) {
        (Some(file), _, _) => Some(from_file(file)?),
        (None, true, Some(config)) => Some(from_config(settings, config)?),
        (None, true, None) => {
            return Err(Failure::config("--fleet: godwit.toml has no [fleet]")
                .hint("list the databases under [fleet] (targets, file or sqlite_dir), or give --targets FILE")
                .into());
        }
        (None, false, _) => None,
    };
    let Some(all) = all else { return Ok(None) };
    match &args.shard {
        Some(text) => {
            let (index, n) =
                fleet::parse_shard(text).map_err(|e| Failure::config(e.to_string()))?;
            Ok(Some(fleet::shard(all, index, n)))
        }
        None => Ok(Some(all)),
    }
}

fn from_file(file: &std::path::Path) -> anyhow::Result<Vec<Target>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::config(format!("cannot read {}: {e}", file.display())))?;
    Ok(fleet::parse(&text, &file.display().to_string())
        .map_err(|e| Failure::config(e.to_string()))?)
}

fn from_config(
    settings: &Settings,
    config: &crate::config::FleetConfig,
) -> anyhow::Result<Vec<Target>> {
    if let Some(file) = &config.file {
        return from_file(file);
    }
    if let Some(dir) = &config.sqlite_dir {
        return Ok(fleet::sqlite_files(dir).map_err(invalid)?);
    }
    if !config.schemas.is_empty() {
        return Ok(fleet::schemas(&settings.database, &config.schemas, "schemas").map_err(invalid)?);
    }
    if let Some(query) = &config.query {
        return from_query(settings, query);
    }
    if let Some(command) = &config.command {
        return from_command(command);
    }
    Ok(fleet::parse(&config.targets.join("\n"), "targets").map_err(invalid)?)
}

fn invalid(error: fleet::FleetError) -> Failure {
    Failure::config(format!("invalid [fleet] in godwit.toml: {error}"))
}

/// The targets a shell command prints, one URL per line (run with `sh -c`, in the current
/// directory); a command that fails is refused with what it printed on stderr.
fn from_command(command: &str) -> anyhow::Result<Vec<Target>> {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Failure::config(format!("cannot run the [fleet] command `{command}`: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr.trim();
        return Err(Failure::config(format!(
            "the [fleet] command `{command}` failed ({}){}",
            output.status,
            if said.is_empty() { String::new() } else { format!(": {said}") }
        ))
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(fleet::parse(&text, "the [fleet] command's output").map_err(invalid)?)
}

/// The targets a query on the configured database names: each row's first value a URL, or
/// a schema of that database.
fn from_query(settings: &Settings, query: &str) -> anyhow::Result<Vec<Target>> {
    let mut db = super::connect(settings)?;
    let target = db.target().to_owned();
    let rows = db.driver().map_err(godwit::Error::from)?.query(query, &[]).map_err(|source| {
        godwit::Error::Database { context: format!("the [fleet] query failed on {target}"), source }
    })?;
    let values: Vec<String> = rows
        .iter()
        .filter_map(|row| match row.first() {
            Some(godwit::driver::Value::Text(text)) => Some(text.clone()),
            _ => None,
        })
        .collect();
    let (urls, schemas): (Vec<String>, Vec<String>) =
        values.into_iter().partition(|v| godwit::driver::dialect_of(v).is_some());
    let mut targets = match urls.is_empty() {
        true => Vec::new(),
        false => fleet::parse(&urls.join("\n"), "the [fleet] query").map_err(invalid)?,
    };
    if !schemas.is_empty() {
        let list = "the [fleet] query";
        targets.extend(fleet::schemas(&settings.database, &schemas, list).map_err(invalid)?);
    }
    if targets.is_empty() {
        return Err(Failure::config("the [fleet] query names no database").into());
    }
    Ok(targets)
}

fn rollout(args: &FleetArgs) -> Rollout {
    Rollout {
        parallel: args.parallel.max(1),
        fail_fast: args.fail_fast,
        max_failures: args.max_failures,
    }
}

pub fn up(
    settings: &Settings,
    printer: &mut Printer,
    targets: &[Target],
    args: &FleetArgs,
    request: &Request,
    migrator: Migrator,
) -> anyhow::Result<ExitCode> {
    migrator.check_pins()?;
    let options = connect_options(settings);
    // On a terminal, a bar of the databases done, failed and running, the lines above it.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = (terminal && printer.verbosity >= crate::printer::Verbosity::Normal)
        .then(|| crate::progress::fleet_bar(targets.len()));
    let (running, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let tell = |bar: &Option<indicatif::ProgressBar>| {
        if let Some(bar) = bar {
            let (running, failed) = (running.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
            bar.set_message(format!("{failed} failed, {running} running"));
        }
    };
    let printer = Mutex::new(printer);
    let run = |targets: &[Target]| {
        fleet::each(
            targets,
            rollout(args),
            |target| {
                running.fetch_add(1, Ordering::SeqCst);
                tell(&bar);
                let mut db = godwit::connect(&target.url, &options)?;
                migrator.run(&mut db, request, &mut NoReport)
            },
            |target, result: &Result<godwit::Report, godwit::Error>| {
                running.fetch_sub(1, Ordering::SeqCst);
                if result.is_err() {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut printer) = printer.lock() else { return };
                match &bar {
                    Some(bar) => {
                        bar.suspend(|| told(&mut printer, target, result));
                        bar.inc(1);
                    }
                    None => told(&mut printer, target, result),
                }
                tell(&bar);
            },
        )
    };
    // The canaries first; the rest only when every one of them went through.
    let canaries = args.canary.unwrap_or(0).min(targets.len());
    let mut outcomes = run(&targets[..canaries]);
    let sound = outcomes.iter().all(|o| matches!(o.result, Some(Ok(_))));
    match sound {
        true => outcomes.extend(run(&targets[canaries..])),
        false => outcomes.extend(
            targets[canaries..].iter().map(|t| Outcome { target: t.clone(), result: None }),
        ),
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let printer =
        printer.into_inner().map_err(|_| Failure::check("a fleet run's printer failed"))?;
    let done = |f: fn(&Outcome<godwit::Report, godwit::Error>) -> bool| {
        outcomes.iter().filter(|o| f(o)).count()
    };
    let migrated = done(|o| matches!(&o.result, Some(Ok(r)) if !r.steps.is_empty()));
    let current = done(|o| matches!(&o.result, Some(Ok(r)) if r.steps.is_empty()));
    let failed = done(|o| matches!(o.result, Some(Err(_))));
    let skipped = done(|o| o.result.is_none());
    let mut said = format!(
        "{}: {migrated} migrated, {current} unchanged",
        count(targets.len(), "database", "databases")
    );
    if failed > 0 {
        said.push_str(&format!(", {failed} failed"));
    }
    if skipped > 0 {
        said.push_str(&format!(", {skipped} not started (the rollout stopped)"));
    }
    match failed {
        0 => {
            printer.status("Fleet", GREEN, said);
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            printer.status("Fleet", RED, said);
            Ok(ExitCode::from(1))
        }
    }
}

/// One database's line as it ends.
fn told(printer: &mut Printer, target: &Target, result: &Result<godwit::Report, godwit::Error>) {
    let name = target.name();
    match result {
        Ok(report) if report.steps.is_empty() => printer.status("Unchanged", GREEN, name),
        Ok(report) => {
            let n = count(report.steps.len(), "migration", "migrations");
            let what = match (report.dry_run, report.steps.first().map(|s| s.action)) {
                (true, Some(godwit::plan::Action::Revert)) => "would revert",
                (true, _) => "would apply",
                (false, Some(godwit::plan::Action::Revert)) => "reverted",
                (false, _) => "applied",
            };
            let verb = if report.dry_run { "Dry run" } else { "Migrated" };
            printer.status(verb, GREEN, format!("{name}: {what} {n}"));
        }
        Err(error) => printer.status("Failed", RED, format!("{name}: {}", error.one_line())),
    }
}
