//! `godwit schema dump` and `godwit drift`: the database's schema as SQL, and how it differs
//! from what its applied migrations produce; and the dump `up` and `down` write after a
//! change when godwit.toml names a file (`dump_schema`).

use super::{connect, connect_options, count, load};
use crate::cli::Format;
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{GREEN, Printer, YELLOW};
use godwit::schema::Schema;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn dump(
    settings: &Settings,
    printer: &mut Printer,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut db = connect(settings)?;
    let schema = read(&mut db)?;
    match out {
        Some(path) => {
            write(path, &schema)?;
            printer.status(
                "Dumped",
                GREEN,
                format!("the schema of {} to {}", db.target(), path.display()),
            );
        }
        None => printer.data(schema.dump().trim_end().to_owned())?,
    }
    for object in &schema.unsupported {
        printer.status(
            "Warning",
            YELLOW,
            format!("{object} is not dumped: godwit's schema model does not read its kind"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn drift(
    settings: &Settings,
    printer: &mut Printer,
    dev: Option<&str>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    let found = migrator.drift(&settings.database, &connect_options(settings), dev)?;
    let target = godwit::driver::redact(&settings.database);
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "schema_version": 1,
                "target": target,
                "drifted": !found.differences.is_empty(),
                "differences": found.differences,
            });
            printer.data(serde_json::to_string_pretty(&json)?)?;
        }
        Format::Text => {
            // The project's first, then each pack's under its name.
            let mut streams: Vec<&godwit::Stream> = Vec::new();
            for drifted in &found.differences {
                if !streams.contains(&&drifted.stream) {
                    streams.push(&drifted.stream);
                }
            }
            streams.sort_by_key(|s| **s != godwit::Stream::Project);
            for stream in streams {
                if *stream != godwit::Stream::Project {
                    printer.data(format!("{stream}:"))?;
                }
                let indent = if *stream == godwit::Stream::Project { "" } else { "  " };
                for drifted in found.differences.iter().filter(|d| d.stream == *stream) {
                    printer.data(format!("{indent}{}", drifted.difference))?;
                }
            }
        }
    }
    if found.differences.is_empty() {
        printer.status("Drift", GREEN, format!("none: {target} is what its migrations make it"));
        return Ok(ExitCode::SUCCESS);
    }
    let n = count(found.differences.len(), "difference", "differences");
    printer.status("Drift", YELLOW, format!("{n} between {target} and its migrations"));
    Ok(ExitCode::from(1))
}

/// `godwit squash --to V`.
pub fn squash(
    settings: &Settings,
    printer: &mut Printer,
    to: godwit::Version,
    dev: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let migrator = load(settings, printer)?;
    let done = migrator.squash(&settings.database, &connect_options(settings), dev, to)?;
    for path in &done.removed {
        printer.status("Removed", GREEN, path.display().to_string());
    }
    let n = count(done.replaced.len(), "migration", "migrations");
    printer.status("Squashed", GREEN, format!("{n} into {}", done.path.display()));
    Ok(ExitCode::SUCCESS)
}

/// Refuses a run on a database that has drifted from its migrations (`up --check-drift`);
/// a database godwit has never migrated has nothing to drift from.
pub fn refuse_drift(
    settings: &Settings,
    printer: &mut Printer,
    migrator: &godwit::Migrator,
    dev: Option<&str>,
) -> anyhow::Result<()> {
    let found = match migrator.drift(&settings.database, &connect_options(settings), dev) {
        Err(godwit::Error::Schema(godwit::schema::SchemaError::NeverMigrated { .. })) => {
            return Ok(());
        }
        found => found?,
    };
    if found.differences.is_empty() {
        return Ok(());
    }
    for drifted in &found.differences {
        printer.status("Drift", YELLOW, drifted.difference.to_string());
    }
    let n = count(found.differences.len(), "difference", "differences");
    let target = godwit::driver::redact(&settings.database);
    Err(Failure::check(format!(
        "{target} has drifted from its migrations ({n}); nothing was applied"
    ))
    .hint("bring the database back to what the migrations make (or write a migration for the change), then run `godwit up` again; `godwit drift` lists the differences")
    .into())
}

/// Writes the schema to the file `dump_schema` names, after a run that changed something.
pub fn dump_after_run(
    settings: &Settings,
    printer: &mut Printer,
    db: &mut godwit::Connection,
) -> anyhow::Result<()> {
    let Some(path) = &settings.dump_schema else { return Ok(()) };
    let schema = read(db)?;
    write(path, &schema)?;
    printer.status("Dumped", GREEN, format!("the schema to {}", path.display()));
    Ok(())
}

fn read(db: &mut godwit::Connection) -> anyhow::Result<Schema> {
    let target = db.target().to_owned();
    let schema = Schema::read(db.driver().map_err(godwit::Error::from)?).map_err(|source| {
        godwit::Error::from(godwit::schema::SchemaError::Read { target, source })
    })?;
    Ok(schema)
}

fn write(path: &Path, schema: &Schema) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| cannot_write(path, e))?;
    }
    std::fs::write(path, schema.dump()).map_err(|e| cannot_write(path, e))?;
    Ok(())
}

fn cannot_write(path: &Path, error: std::io::Error) -> Failure {
    let path: PathBuf = path.to_owned();
    Failure::check(format!("cannot write the schema to {}: {error}", path.display()))
}
