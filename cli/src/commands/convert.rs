//! `godwit convert --to godwit OUT`: the project's folder rewritten in godwit's own layout,
//! checked by reading it back, and the history's checksums made to follow.

use super::{connect, count, load};
use crate::config::Settings;
use crate::failure::Failure;
use crate::printer::{CYAN, GREEN, Printer};
use crate::report::CliReporter;
use anyhow::Context;
use godwit::migration::Script;
use godwit::source::convert::{Contents, Converted, to_godwit};
use godwit::source::{DirSource, Format, MigrationSource};
use std::path::Path;
use std::process::ExitCode;

pub fn convert(
    settings: &Settings,
    printer: &mut Printer,
    to: &str,
    out: &Path,
    no_history: bool,
) -> anyhow::Result<ExitCode> {
    if to.parse::<Format>().ok() != Some(Format::Godwit) {
        return Err(Failure::config(format!(
            "--to {to}: godwit converts folders to its own layout only"
        ))
        .hint("drop --to, or say --to godwit")
        .into());
    }
    let migrator = load(settings, printer)?;
    let project: Vec<_> =
        migrator.migrations().iter().filter(|m| m.stream.is_project()).cloned().collect();
    let converted = to_godwit(&project).map_err(godwit::Error::from)?;
    let written = write(out, &converted)?;
    check(out, &project, &converted)?;
    let verb = if written { "Converted" } else { "Checked" };
    printer.status(
        verb,
        GREEN,
        format!("{} into {}/", count(converted.len(), "migration", "migrations"), out.display()),
    );
    if !no_history && godwit::connect_changes_nothing(&settings.database) {
        let mut db = connect(settings)?;
        let changes: Vec<_> =
            converted.iter().map(|c| (c.key.clone(), c.old.clone(), c.new.clone())).collect();
        let mut reporter = CliReporter::new(printer);
        let followed = migrator.follow_checksums(&mut db, &changes, &mut reporter)?;
        printer.status(
            "Followed",
            GREEN,
            format!("{} in {}", count(followed.len(), "history row", "history rows"), db.target()),
        );
    }
    printer.status(
        "Next",
        CYAN,
        format!("set dir = \"{}\" and remove `format` in godwit.toml", out.display()),
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the converted folder; `false` when `out` already holds exactly this conversion
/// (run again for another database of the project).
fn write(out: &Path, converted: &[Converted]) -> anyhow::Result<bool> {
    let occupied = out.read_dir().is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        let same = converted.iter().all(|c| match &c.contents {
            Contents::Text(text) => {
                std::fs::read_to_string(out.join(&c.file)).is_ok_and(|t| &t == text)
            }
            _ => out.join(&c.file).exists(),
        });
        if !same {
            return Err(Failure::config(format!(
                "{} is not empty and does not hold this conversion",
                out.display()
            ))
            .hint("convert into a new directory")
            .into());
        }
        return Ok(false);
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for c in converted {
        let target = out.join(&c.file);
        match &c.contents {
            Contents::Text(text) => std::fs::write(&target, text),
            _ => copy(&c.from, &target),
        }
        .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(true)
}

fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.is_dir() {
        return std::fs::copy(from, to).map(|_| ());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name() == "target" || entry.file_name() == "node_modules" {
            continue;
        }
        copy(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

/// Reads the new folder back and checks that every migration runs the same statements in
/// the same transactions as the one it comes from.
fn check(
    out: &Path,
    original: &[godwit::migration::Migration],
    converted: &[Converted],
) -> anyhow::Result<()> {
    let read = DirSource::new(out)
        .building(godwit::guest_build::BuildMode::NoBuild)
        .resolve(&mut |_| {})
        .map_err(godwit::Error::from)?;
    for migration in original {
        let again = read.iter().find(|m| m.key == migration.key);
        let same = match (again.map(|m| &m.script), &migration.script) {
            (Some(Script::Sql(a)), Script::Sql(b)) => {
                let sql = |s: &[godwit::migration::Statement]| {
                    s.iter().map(|s| s.sql.clone()).collect::<Vec<_>>()
                };
                let down =
                    |s: &godwit::migration::SqlScript| s.down_statements().ok().flatten().map(sql);
                sql(&a.up) == sql(&b.up)
                    && down(a) == down(b)
                    && a.transaction == (b.in_transaction(false) && b.in_transaction(true))
            }
            (Some(_), _) => true,
            (None, _) => false,
        };
        if !same {
            let file = converted.iter().find(|c| c.key == migration.key).map(|c| out.join(&c.file));
            anyhow::bail!(
                "{} does not read back as {} does",
                file.unwrap_or_else(|| out.to_owned()).display(),
                migration.path.display()
            );
        }
    }
    Ok(())
}
