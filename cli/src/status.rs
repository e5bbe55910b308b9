//! `godwit status`: a table for people, JSON (with a schema version) for scripts.

use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use anstyle::Style;
use godwit::status::{Entry, EntryState};
use serde::Serialize;

/// Bumped when a field changes meaning or disappears; new fields do not bump it.
const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonStatus<'a> {
    schema_version: u32,
    database: &'a str,
    migrations: Vec<JsonEntry<'a>>,
    packs: Vec<JsonPack<'a>>,
    /// The transforms queued for workers (`godwit up --defer-transforms`).
    transforms: &'a [crate::commands::View<'a>],
}

#[derive(Serialize)]
struct JsonPack<'a> {
    name: &'a str,
    version: &'a str,
    description: Option<&'a str>,
    dir: String,
    sha256: String,
    after: Option<godwit::Version>,
    grant: &'a godwit::driver::Grant,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    /// The pack the migration belongs to; absent for the project's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pack: Option<&'a str>,
    version: Option<godwit::Version>,
    name: String,
    label: &'a str,
    state: EntryState,
    out_of_order: bool,
    kind: Option<&'a str>,
    path: Option<String>,
    reversible: Option<bool>,
    checksum: Option<&'a str>,
    applied_checksum: Option<&'a str>,
    applied_at: Option<&'a str>,
    execution_ms: Option<i64>,
    applied_by: Option<&'a str>,
    /// The lint findings the file accepts (`-- godwit:allow`), with their reasons.
    allows: &'a [godwit::migration::Allow],
}

pub fn json(
    printer: &mut Printer,
    database: &str,
    entries: &[Entry<'_>],
    migrator: &godwit::Migrator,
    transforms: &[crate::commands::View<'_>],
) -> std::io::Result<()> {
    let migrations = entries
        .iter()
        .map(|e| JsonEntry {
            pack: e.stream.pack_name(),
            version: e.key.version(),
            name: e
                .migration
                .map(|m| m.name.clone())
                .or_else(|| e.record.map(|r| r.name.clone()))
                .unwrap_or_default(),
            label: &e.label,
            state: e.state,
            out_of_order: e.out_of_order,
            kind: e.migration.map(|m| m.kind.as_str()).or(e.record.map(|r| r.kind.as_str())),
            path: e.migration.map(|m| m.path.display().to_string()),
            reversible: e.migration.map(|m| m.is_reversible()),
            checksum: e.migration.map(|m| m.checksum.as_str()),
            applied_checksum: e.record.map(|r| r.checksum.as_str()),
            applied_at: e.record.map(|r| r.applied_at.as_str()),
            execution_ms: e.record.map(|r| r.execution_ms),
            applied_by: e.record.map(|r| r.godwit_version.as_str()),
            allows: e.migration.map_or(&[], |m| m.allows()),
        })
        .collect();
    let packs = migrator
        .packs()
        .iter()
        .map(|p| JsonPack {
            name: &p.name,
            version: &p.version,
            description: p.description.as_deref(),
            dir: p.dir.display().to_string(),
            sha256: p.checksum(migrator.migrations()).to_string(),
            after: p.after,
            grant: &p.grant,
        })
        .collect();
    let status =
        JsonStatus { schema_version: SCHEMA_VERSION, database, migrations, packs, transforms };
    let text = serde_json::to_string_pretty(&status).map_err(std::io::Error::other)?;
    printer.data(text)
}

fn state_style(state: EntryState) -> Style {
    match state {
        EntryState::Applied => GREEN,
        EntryState::Pending | EntryState::Changed | EntryState::Running => YELLOW,
        EntryState::Modified | EntryState::Missing | EntryState::Failed => RED,
        _ => YELLOW,
    }
}

pub fn table(printer: &mut Printer, entries: &[Entry<'_>]) -> std::io::Result<()> {
    let width = entries.iter().map(|e| e.label.len()).max().unwrap_or(9).max(9);
    printer.data(format!(
        "{DIM}{:<9} {:<width$} {:<20} {:>9}{DIM:#}",
        "STATE", "MIGRATION", "APPLIED AT", "TIME"
    ))?;
    for entry in entries {
        let state = match (entry.state, entry.out_of_order) {
            (EntryState::Pending, true) => "pending*".to_owned(),
            (state, _) => serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        };
        let style = state_style(entry.state);
        let (at, time) = match entry.record {
            Some(r) => (r.applied_at.as_str(), format!("{} ms", r.execution_ms)),
            None => ("", String::new()),
        };
        let mut line =
            format!("{style}{state:<9}{style:#} {:<width$} {at:<20} {time:>9}", entry.label);
        match (entry.state, entry.migration, entry.record) {
            (EntryState::Modified | EntryState::Changed, Some(m), Some(r)) => {
                line.push_str(&format!(
                    "  {DIM}checksum {} now {}{DIM:#}",
                    r.checksum.short(),
                    m.checksum.short()
                ))
            }
            (EntryState::Missing, None, _) => {
                line.push_str(&format!("  {DIM}file not found{DIM:#}"))
            }
            (EntryState::Running, _, Some(r)) => line.push_str(&format!(
                "  {DIM}{} rows done, resumes after cursor {}{DIM:#}",
                r.rows_done,
                r.cursor.as_deref().unwrap_or("(start)")
            )),
            (_, Some(m), _) if m.version().is_some() && !m.is_reversible() => {
                line.push_str(&format!("  {DIM}irreversible{DIM:#}"))
            }
            _ => {}
        }
        printer.data(line.trim_end())?;
        for allow in entry.migration.map_or(&[][..], |m| m.allows()) {
            let (rule, reason) = (&allow.rule, &allow.reason);
            printer.data(format!("{:10}{DIM}allows {rule}: {reason}{DIM:#}", ""))?;
        }
    }
    if entries.iter().any(|e| e.out_of_order) {
        printer.data("* older than the newest applied migration: `godwit up --allow-out-of-order` applies it")?;
    }
    Ok(())
}

/// The packs under the table: version, what the lock pins, when they run and their grant.
pub fn packs(printer: &mut Printer, migrator: &godwit::Migrator) -> std::io::Result<()> {
    if migrator.packs().is_empty() {
        return Ok(());
    }
    printer.data("")?;
    printer.data(format!("{DIM}PACKS{DIM:#}"))?;
    for pack in migrator.packs() {
        let runs = match pack.after {
            Some(after) => format!("runs after {after}"),
            None => "runs first".to_owned(),
        };
        let sha = pack.checksum(migrator.migrations());
        printer.data(format!(
            "{} {}  {}  sha256:{}  {runs}",
            pack.name,
            pack.version,
            pack.dir.display(),
            sha.short()
        ))?;
        printer.data(format!("  grant: {}", pack.grant.summary()))?;
    }
    Ok(())
}

/// `3 applied, 1 pending, 1 modified` for the stderr summary.
pub fn summary(entries: &[Entry<'_>]) -> String {
    let order = [
        (EntryState::Applied, "applied"),
        (EntryState::Pending, "pending"),
        (EntryState::Changed, "changed"),
        (EntryState::Modified, "modified"),
        (EntryState::Missing, "missing"),
        (EntryState::Failed, "failed"),
        (EntryState::Running, "running"),
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|(state, word)| {
            let n = entries.iter().filter(|e| e.state == *state).count();
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
    match parts.is_empty() {
        true => "no migrations".to_owned(),
        false => parts.join(", "),
    }
}
