//! The project's files: `godwit init` (the migrations directory and godwit.toml),
//! `godwit new` (the next migration: a SQL file, or a Rust, Python, JavaScript or C directory)
//! and `godwit build` (source migrations into components).

use super::new_in_format;
use super::scaffold::{self, Skeleton};
use super::{count, load_building};
use crate::cli::{Cli, NewKind};
use crate::config::{self, Settings, Versioning};
use crate::failure::Failure;
use crate::printer::{CYAN, GREEN, Printer};
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

pub fn init(cli: &Cli, settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let config_path = cli.global.config.as_deref().unwrap_or(Path::new(config::CONFIG_FILE));
    if config_path.exists() {
        return Err(Failure::config(format!("{} already exists", config_path.display()))
            .hint("edit it, or remove it to start over")
            .into());
    }
    if settings.dir.is_dir() {
        printer.status("Found", CYAN, format!("{}/", settings.dir.display()));
    } else {
        std::fs::create_dir_all(&settings.dir)
            .with_context(|| format!("cannot create {}", settings.dir.display()))?;
        printer.status("Created", GREEN, format!("{}/", settings.dir.display()));
    }
    let dir_line = format!("dir = {}", toml_string(&settings.dir.display().to_string()));
    let text = config::TEMPLATE.replacen("dir = \"migrations\"", &dir_line, 1);
    std::fs::write(config_path, text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    printer.status("Created", GREEN, config_path.display());
    printer.status("Next", CYAN, "`godwit new <name>` creates your first migration");
    Ok(ExitCode::SUCCESS)
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Lowercase words joined by `_`: `Add Email to Users!` becomes `add_email_to_users`.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    slug.trim_end_matches('_').to_owned()
}

pub fn new(
    settings: &Settings,
    printer: &mut Printer,
    name: &str,
    timestamp: bool,
    kind: NewKind,
    batched: bool,
    sdk: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let slug = slug(name);
    if slug.is_empty() {
        return Err(Failure::config(format!(
            "`{name}` has no letters or digits to name a migration"
        ))
        .hint("describe the change, like `godwit new add_email_to_users`")
        .into());
    }
    let format = settings.format()?;
    let newest = godwit::source::DirSource::new(&settings.dir)
        .format(format)
        .newest_version()
        .map_err(godwit::Error::from)?;
    let by_time = new_in_format::numbers_by_time(format) && kind == NewKind::Sql;
    let file_name = match timestamp || by_time || settings.versioning == Versioning::Timestamp {
        true => {
            let stamp: godwit::Version =
                new_in_format::utc_stamp().parse().context("cannot read the clock")?;
            let version = match newest.filter(|(n, _)| *n >= stamp) {
                Some((newest, _)) => after(newest)?,
                None => stamp,
            };
            format!("{version}_{slug}")
        }
        false => match newest {
            None => format!("{:0width$}_{slug}", 1, width = new_in_format::first_width(format)),
            Some((newest, width)) => match after(newest)? {
                next if next.is_dotted() => format!("{next}_{slug}"),
                next => format!("{next:0width$}_{slug}"),
            },
        },
    };
    if sdk.is_some() && kind != NewKind::Rust {
        return Err(Failure::config("--sdk names the godwit-sdk crate of a Rust migration")
            .hint("drop --sdk, or add --kind rust")
            .into());
    }
    if let Some(language) = kind.language() {
        let dir = settings.dir.join(&file_name);
        let description = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let skeleton = Skeleton { stem: &file_name, description: &description, batched, sdk };
        if dir.exists() {
            return Err(Failure::config(format!("{} already exists", dir.display())).into());
        }
        for (relative, text) in scaffold::files(language, &skeleton) {
            let path = dir.join(relative);
            std::fs::create_dir_all(path.parent().unwrap_or(&dir))
                .and_then(|()| std::fs::write(&path, text))
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        printer.status("Created", GREEN, format!("{}/ ({language})", dir.display()));
        printer.data(dir.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if batched {
        return Err(Failure::config("a SQL migration cannot be --batched")
            .hint("batched transforms are WebAssembly components: add --kind rust, python, js or c")
            .into());
    }
    if format != godwit::source::Format::Godwit {
        return new_in_tool_format(settings, printer, format, &file_name, &slug);
    }
    let path = settings.dir.join(format!("{file_name}.sql"));
    let template = format!(
        "-- {name}\n\n-- godwit:up\n\n\n-- godwit:down\n-- Undo the up section here. Delete this section if the change cannot be undone;\n-- an empty one reverts as a no-op.\n"
    );
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, template.as_bytes()))
        .with_context(|| format!("cannot create {}", path.display()))?;
    printer.status("Created", GREEN, path.display());
    printer.data(path.display())?;
    Ok(ExitCode::SUCCESS)
}

/// A SQL migration in the folder's own format, as its tool would create it.
fn new_in_tool_format(
    settings: &Settings,
    printer: &mut Printer,
    format: godwit::source::Format,
    file_name: &str,
    slug: &str,
) -> anyhow::Result<ExitCode> {
    let version = file_name.split('_').next().unwrap_or_default();
    let reversible = std::fs::read_dir(&settings.dir).is_ok_and(|entries| {
        entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".up.sql"))
    });
    let files = new_in_format::files(format, version, slug, reversible);
    for (relative, text) in &files {
        let path = settings.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .with_context(|| format!("cannot create {}", path.display()))?;
        printer.status("Created", GREEN, format!("{} ({format})", path.display()));
    }
    if let Some((first, _)) = files.first() {
        printer.data(settings.dir.join(first).display())?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn build(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let migrator = load_building(settings, printer, godwit::guest_build::BuildMode::Build)?;
    let sources: Vec<_> = migrator.migrations().iter().filter(|m| m.path.is_dir()).collect();
    for migration in &sources {
        let language = godwit::guest_build::detect(&migration.path)
            .map_or_else(|_| String::new(), |language| format!("{language}, "));
        let path = migration.path.display();
        printer.status("Built", GREEN, format!("{} ({language}{path})", migration.label));
    }
    let built = count(sources.len(), "source migration", "source migrations");
    printer.status("Finished", GREEN, format!("{built} built and checked against godwit's world"));
    Ok(ExitCode::SUCCESS)
}

/// The version a new migration takes after `newest`.
fn after(newest: godwit::Version) -> anyhow::Result<godwit::Version> {
    newest.next().ok_or_else(|| {
        Failure::config(format!("version {newest} is the largest godwit can store"))
            .hint("number the new migration yourself, below the largest")
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs() {
        assert_eq!(slug("Add Email to Users!"), "add_email_to_users");
        assert_eq!(slug("  --backfill--names "), "backfill_names");
        assert_eq!(slug("!!!"), "");
    }
}
