//! `godwit lint --trace`: the pending migrations run on PostgreSQL (on a scratch database
//! beside the target, or with `--in-transaction` in a transaction on the target that is
//! rolled back), with the locks each statement took beside the ones the plan shows.

use super::{connect, connect_options, count, load, load_and_connect};
use crate::cli::LintFormat;
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{GREEN, Printer, YELLOW};
use godwit::lint::{Lock, Outcome, TracedStatement};
use std::process::ExitCode;

pub fn trace(
    settings: &Settings,
    printer: &mut Printer,
    in_transaction: bool,
    dev: Option<&str>,
    format: LintFormat,
) -> anyhow::Result<ExitCode> {
    if format == LintFormat::Sarif {
        return Err(Failure::config(
            "lint --trace reports locks, not findings: SARIF cannot carry them",
        )
        .hint("use --format text or --format json with --trace")
        .into());
    }
    let traced = match in_transaction {
        true => {
            let (migrator, mut db) = load_and_connect(settings, || load(settings, printer))?;
            migrator.trace(&mut db)?
        }
        false => {
            let migrator = load(settings, printer)?;
            // Connecting first names an unreachable server or a bad URL as every command does.
            drop(connect(settings)?);
            migrator.trace_on_scratch(&settings.database, &connect_options(settings), dev)?
        }
    };
    match format {
        LintFormat::Json => {
            let statements: Vec<_> = traced.statements.iter().map(json).collect();
            let on = if in_transaction { "transaction" } else { "scratch" };
            let out = serde_json::json!({
                "schema_version": 1,
                "traced_on": on,
                "scratch_database": traced.scratch_database,
                "statements": statements,
            });
            printer.data(serde_json::to_string_pretty(&out)?)?;
        }
        _ => text(printer, &traced.statements)?,
    }
    summary(printer, &traced.statements, in_transaction)
}

fn text(printer: &mut Printer, traced: &[TracedStatement]) -> anyhow::Result<()> {
    let mut last: Option<&str> = None;
    for statement in traced {
        if last != Some(statement.migration.as_str()) {
            let path = statement.path.display();
            printer.data(format!("-- {} ({path})", statement.migration))?;
            last = Some(&statement.migration);
        }
        let sql = statement.sql.lines().next().unwrap_or("");
        let head = match statement.line {
            0 => String::new(),
            line => format!("line {line}: {sql}\n"),
        };
        let body = match &statement.outcome {
            Outcome::NotTraced(reason) => format!("  not traced: {reason}"),
            Outcome::Failed(error) => format!("  failed: {error}"),
            _ => {
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
                let took = match (statement.taken.is_empty(), statement.expected.is_empty()) {
                    (true, true) => "no lock another session could wait for".to_owned(),
                    (true, false) => {
                        let planned: Vec<String> = statement
                            .expected
                            .iter()
                            .map(|l| format!("{} on {}", l.mode, l.relation))
                            .collect();
                        format!("nothing new (its transaction held {} already)", planned.join(", "))
                    }
                    _ => statement.taken.iter().map(taken).collect::<Vec<_>>().join(", "),
                };
                let verdict = match &statement.disagrees {
                    None => "as planned".to_owned(),
                    Some(how) => format!("NOT as planned: {how}"),
                };
                let (elapsed, held) = (ms(statement.elapsed), ms(statement.held));
                format!("  took {took} in {elapsed:.1} ms, held {held:.1} ms: {verdict}")
            }
        };
        printer.data(format!("{head}{body}"))?;
    }
    Ok(())
}

fn taken(lock: &Lock) -> String {
    let rewrote = if lock.rewrites { " (rewrote it)" } else { "" };
    format!("{} on {}{rewrote}", lock.mode, lock.relation)
}

fn summary(
    printer: &mut Printer,
    traced: &[TracedStatement],
    in_transaction: bool,
) -> anyhow::Result<ExitCode> {
    let ran = |s: &&TracedStatement| matches!(s.outcome, Outcome::Ran | Outcome::Observed);
    let agreed = traced.iter().filter(ran).filter(|s| s.disagrees.is_none()).count();
    let differs = traced.iter().filter(ran).count() - agreed;
    let failed = traced.iter().filter(|s| matches!(s.outcome, Outcome::Failed(_))).count();
    let skipped = traced.iter().filter(|s| matches!(s.outcome, Outcome::NotTraced(_))).count();
    let mut migrations: Vec<&str> = traced.iter().map(|s| s.migration.as_str()).collect();
    migrations.dedup();
    let on = match in_transaction {
        true => "in a transaction that was rolled back",
        false => "on a scratch database that was dropped",
    };
    let mut said = format!(
        "{} of {} {on}: {agreed} as planned",
        count(traced.len(), "statement", "statements"),
        count(migrations.len(), "migration", "migrations")
    );
    for (n, what) in [(differs, "not as planned"), (failed, "failed"), (skipped, "not traced")] {
        if n > 0 {
            said.push_str(&format!(", {n} {what}"));
        }
    }
    match failed {
        0 => printer.status("Traced", if differs > 0 { YELLOW } else { GREEN }, said),
        _ => printer.status("Traced", YELLOW, said),
    }
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn json(statement: &TracedStatement) -> serde_json::Value {
    let (outcome, reason) = match &statement.outcome {
        Outcome::Ran => ("ran", None),
        Outcome::Observed => ("observed", None),
        Outcome::Failed(error) => ("failed", Some(error.as_str())),
        Outcome::NotTraced(why) => ("not traced", Some(why.as_str())),
        _ => ("unknown", None),
    };
    serde_json::json!({
        "migration": statement.migration,
        "path": statement.path.display().to_string(),
        "line": statement.line,
        "sql": statement.sql,
        "expected": statement.expected,
        "taken": statement.taken,
        "elapsed_ms": statement.elapsed.as_secs_f64() * 1000.0,
        "held_ms": statement.held.as_secs_f64() * 1000.0,
        "outcome": outcome,
        "reason": reason,
        "agrees": matches!(statement.outcome, Outcome::Ran | Outcome::Observed).then_some(statement.disagrees.is_none()),
        "differs": statement.disagrees,
    })
}
