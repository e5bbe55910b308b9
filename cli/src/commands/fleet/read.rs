//! The fleet commands that read: `status` as a matrix of databases grouped by where they
//! stand, `validate` with each database's problems, and `lint` with each finding once.

use super::rollout;
use crate::cli::{FleetArgs, Format};
use crate::commands::{connect_options, count, load};
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{CYAN, GREEN, Printer, RED, YELLOW};
use godwit::fleet::{self, Outcome, Target};
use godwit::status::{EntryState, problems};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;

/// `godwit validate` on every database: its problems, or none.
pub fn validate(
    settings: &Settings,
    printer: &mut Printer,
    targets: &[Target],
    args: &FleetArgs,
) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    migrator.check_pins()?;
    let options = connect_options(settings);
    let printer = Mutex::new(printer);
    let outcomes = fleet::each(
        targets,
        rollout(args),
        |target| migrator.validate(&mut godwit::connect(&target.url, &options)?),
        |target, result: &Result<Vec<godwit::status::Problem>, godwit::Error>| {
            let Ok(mut printer) = printer.lock() else { return };
            let name = target.name();
            match result {
                Ok(problems) if problems.is_empty() => printer.status("Validated", GREEN, name),
                Ok(problems) => {
                    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    printer.status("Problems", RED, format!("{name}: {}", listed.join("; ")));
                }
                Err(error) => {
                    printer.status("Failed", RED, format!("{name}: {}", error.one_line()))
                }
            }
        },
    );
    let printer =
        printer.into_inner().map_err(|_| Failure::check("a fleet run's printer failed"))?;
    let bad = outcomes.iter().filter(|o| !matches!(&o.result, Some(Ok(p)) if p.is_empty())).count();
    let said = format!(
        "{}, {bad} with problems or unreadable",
        count(targets.len(), "database", "databases")
    );
    printer.status("Fleet", if bad == 0 { GREEN } else { RED }, said);
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `godwit lint` on every database's pending migrations: each finding once, with how many
/// databases would apply it.
pub fn lint(
    settings: &Settings,
    printer: &mut Printer,
    targets: &[Target],
    args: &FleetArgs,
    format: crate::cli::LintFormat,
) -> anyhow::Result<ExitCode> {
    if format != crate::cli::LintFormat::Text {
        return Err(Failure::config(
            "lint on a fleet prints text; lint one database for JSON or SARIF",
        )
        .into());
    }
    let outcomes = read_each(settings, printer, targets, args, |migrator, db| {
        let applied = migrator.history(db)?;
        let pending: Vec<&godwit::migration::Migration> =
            godwit::status::status(migrator.migrations(), &applied)
                .into_iter()
                .filter(|e| matches!(e.state, EntryState::Pending | EntryState::Changed))
                .filter_map(|e| e.migration)
                .collect();
        let findings =
            godwit::lint::lint(pending, db.dialect(), &settings.lint, &settings.lock_waits);
        let standing = findings.iter().filter(|f| f.allowed.is_none());
        Ok(standing.map(|f| (f.level, crate::commands::lint::one_line(f))).collect::<Vec<_>>())
    })?;
    let mut seen: BTreeMap<String, (godwit::lint::Level, usize)> = BTreeMap::new();
    let mut unreadable = 0;
    for outcome in &outcomes {
        match &outcome.result {
            Some(Ok(findings)) => {
                for (level, line) in findings {
                    seen.entry(line.clone()).or_insert((*level, 0)).1 += 1;
                }
            }
            Some(Err(error)) => {
                unreadable += 1;
                printer.status(
                    "Failed",
                    RED,
                    format!("{}: {}", outcome.target.name(), error.one_line()),
                );
            }
            None => unreadable += 1,
        }
    }
    for (line, (_, databases)) in &seen {
        printer.data(format!("{line} ({})", count(*databases, "database", "databases")))?;
    }
    let errors = seen.values().filter(|(level, _)| *level == godwit::lint::Level::Error).count();
    let said = format!(
        "{}: {} and {} in their pending migrations, {unreadable} unreadable",
        count(targets.len(), "database", "databases"),
        count(errors, "error", "errors"),
        count(seen.len() - errors, "warning", "warnings"),
    );
    let fine = errors == 0 && unreadable == 0;
    printer.status("Linted", if fine { GREEN } else { YELLOW }, said);
    Ok(if fine { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Where one database stands.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Standing {
    newest: String,
    pending: usize,
    problems: usize,
}

pub fn status(
    settings: &Settings,
    printer: &mut Printer,
    targets: &[Target],
    args: &FleetArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let outcomes = read_each(settings, printer, targets, args, |migrator, db| {
        let applied = migrator.history(db)?;
        let entries = godwit::status::status(migrator.migrations(), &applied);
        let newest = entries
            .iter()
            .filter(|e| e.record.is_some() && e.key.version().is_some())
            .map(|e| e.label.clone())
            .next_back()
            .unwrap_or_else(|| "(none)".to_owned());
        let pending = entries
            .iter()
            .filter(|e| matches!(e.state, EntryState::Pending | EntryState::Changed))
            .count();
        Ok(Standing { newest, pending, problems: problems(&entries).len() })
    })?;
    if format == Format::Json {
        let all: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| match &o.result {
                Some(Ok(s)) => serde_json::json!({
                    "target": o.target.name(), "newest": s.newest, "pending": s.pending,
                    "problems": s.problems,
                }),
                Some(Err(e)) => {
                    serde_json::json!({ "target": o.target.name(), "error": e.one_line() })
                }
                None => serde_json::json!({ "target": o.target.name(), "error": "not read" }),
            })
            .collect();
        printer.data(serde_json::to_string_pretty(
            &serde_json::json!({ "schema_version": 1, "targets": all }),
        )?)?;
    } else {
        matrix(printer, &outcomes)?;
    }
    let failed = outcomes.iter().filter(|o| !matches!(o.result, Some(Ok(_)))).count();
    let said = format!("{}, {failed} unreadable", count(targets.len(), "database", "databases"));
    printer.status("Fleet", if failed == 0 { CYAN } else { YELLOW }, said);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The databases grouped by where they stand, the largest group first, at most three names
/// shown per group.
fn matrix(
    printer: &mut Printer,
    outcomes: &[Outcome<Standing, godwit::Error>],
) -> anyhow::Result<()> {
    let mut groups: BTreeMap<Result<Standing, String>, Vec<String>> = BTreeMap::new();
    for outcome in outcomes {
        let key = match &outcome.result {
            Some(Ok(standing)) => Ok(standing.clone()),
            Some(Err(error)) => Err(error.one_line()),
            None => Err("not read".to_owned()),
        };
        groups.entry(key).or_default().push(outcome.target.name());
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
    printer.data(format!(
        "{:>9}  {:<30} {:>7} {:>8}  EXAMPLES",
        "DATABASES", "NEWEST APPLIED", "PENDING", "PROBLEMS"
    ))?;
    for (standing, names) in groups {
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let more =
            if names.len() > 3 { format!(" and {} more", names.len() - 3) } else { String::new() };
        let examples = format!("{}{more}", shown.join(", "));
        let line = match standing {
            Ok(s) => format!(
                "{:>9}  {:<30} {:>7} {:>8}  {examples}",
                names.len(),
                s.newest,
                s.pending,
                s.problems
            ),
            Err(error) => format!("{:>9}  unreadable: {error}  {examples}", names.len()),
        };
        printer.data(line)?;
    }
    Ok(())
}

/// `read` on every database, each on a connection of its own that is closed after.
fn read_each<T: Send>(
    settings: &Settings,
    printer: &mut Printer,
    targets: &[Target],
    args: &FleetArgs,
    read: impl Fn(&godwit::Migrator, &mut godwit::Connection) -> Result<T, godwit::Error> + Sync,
) -> anyhow::Result<Vec<Outcome<T, godwit::Error>>> {
    let migrator = load(settings, printer)?;
    let options = connect_options(settings);
    let each = |target: &Target| read(&migrator, &mut godwit::connect(&target.url, &options)?);
    Ok(fleet::each(targets, rollout(args), each, |_, _| {}))
}

/// `godwit transforms status` on every database: how many transforms stand in each state,
/// databases in the same state on one line.
pub fn transforms(
    settings: &Settings,
    printer: &mut Printer,
    targets: &[Target],
    args: &FleetArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let outcomes = read_each(settings, printer, targets, args, |migrator, db| {
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        for row in &migrator.transforms(db)? {
            *states.entry(row.state.to_string()).or_default() += 1;
        }
        Ok(states)
    })?;
    if format == Format::Json {
        let all: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| match &o.result {
                Some(Ok(states)) => {
                    serde_json::json!({ "target": o.target.name(), "transforms": states })
                }
                Some(Err(e)) => {
                    serde_json::json!({ "target": o.target.name(), "error": e.one_line() })
                }
                None => serde_json::json!({ "target": o.target.name(), "error": "not read" }),
            })
            .collect();
        let json = serde_json::json!({ "schema_version": 1, "targets": all });
        printer.data(serde_json::to_string_pretty(&json)?)?;
    } else {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for outcome in &outcomes {
            let key = match &outcome.result {
                Some(Ok(states)) if states.is_empty() => "no transform".to_owned(),
                Some(Ok(states)) => {
                    let parts: Vec<String> =
                        states.iter().map(|(state, n)| format!("{n} {state}")).collect();
                    parts.join(", ")
                }
                Some(Err(error)) => format!("unreadable: {}", error.one_line()),
                None => "not read".to_owned(),
            };
            groups.entry(key).or_default().push(outcome.target.name());
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
        printer.data(format!("{:>9}  {:<40} EXAMPLES", "DATABASES", "TRANSFORMS"))?;
        for (state, names) in groups {
            let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
            let more = match names.len() > 3 {
                true => format!(" and {} more", names.len() - 3),
                false => String::new(),
            };
            printer.data(format!("{:>9}  {state:<40} {}{more}", names.len(), shown.join(", ")))?;
        }
    }
    let failed = outcomes.iter().filter(|o| !matches!(o.result, Some(Ok(_)))).count();
    let said = format!("{}, {failed} unreadable", count(targets.len(), "database", "databases"));
    printer.status("Fleet", if failed == 0 { CYAN } else { YELLOW }, said);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
