//! The project's files: `godwit init` (the migrations directory and godwit.toml),
//! `godwit new` (the next migration, SQL or a Rust crate) and `godwit build` (crate
//! migrations into components).

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
    let newest =
        godwit::DirSource::new(&settings.dir).newest_version().map_err(godwit::Error::from)?;
    let file_name = match timestamp || settings.versioning == Versioning::Timestamp {
        true => {
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            let mut version: i64 = now
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .context("cannot read the clock")?;
            if let Some((newest, _)) = newest.filter(|(n, _)| n.get() >= version) {
                version = newest.get() + 1;
            }
            format!("{version}_{slug}")
        }
        false => {
            let (next, width) = newest.map_or((1, 4), |(n, width)| (n.get() + 1, width));
            format!("{next:0width$}_{slug}")
        }
    };
    if kind == NewKind::Rust {
        let dir = settings.dir.join(&file_name);
        scaffold_crate(&dir, &file_name, name, sdk)?;
        printer.status("Created", GREEN, format!("{}/", dir.display()));
        printer.data(dir.display())?;
        return Ok(ExitCode::SUCCESS);
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

/// A Rust guest crate migration: its own workspace (so it builds inside another one), the
/// SDK from this checkout when there is one, and an `up` that fails until it is written.
fn scaffold_crate(
    dir: &Path,
    stem: &str,
    description: &str,
    sdk: Option<&Path>,
) -> anyhow::Result<()> {
    let sdk = match sdk {
        Some(path) => Some(path.to_owned()),
        None => std::env::current_dir().ok().and_then(|cwd| {
            cwd.ancestors().map(|a| a.join("sdk")).find(|s| s.join("Cargo.toml").is_file())
        }),
    }
    .and_then(|sdk| std::fs::canonicalize(sdk).ok());
    let dependency = match sdk {
        Some(path) => format!("{{ path = {} }}", toml_string(&path.display().to_string())),
        None => "\"0.1\"".to_owned(),
    };
    let manifest = format!(
        "[package]\nname = \"migration-{}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\ngodwit-sdk = {dependency}\n\n\
         # A migration crate builds on its own, even inside another Cargo workspace.\n[workspace]\n\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\ndebug = false\n",
        stem.replace('_', "-")
    );
    let description = description.replace('\\', "\\\\").replace('"', "\\\"");
    let source = format!(
        "//! {description}\n\nuse godwit_sdk::{{Migration, Result}};\n\nstruct Change;\n\n\
         impl Migration for Change {{\n    fn description() -> String {{\n        \"{description}\".into()\n    }}\n\n\
         \x20   fn reversible() -> bool {{\n        true\n    }}\n\n\
         \x20   fn up() -> Result<()> {{\n\
         \x20       // godwit_sdk::sql::execute(\"CREATE TABLE ...\", godwit_sdk::params![])?;\n\
         \x20       Err(\"write this migration's up in src/lib.rs\".into())\n    }}\n\n\
         \x20   fn down() -> Result<()> {{\n        Err(\"write this migration's down in src/lib.rs\".into())\n    }}\n}}\n\n\
         godwit_sdk::migration!(Change);\n"
    );
    if dir.exists() {
        return Err(Failure::config(format!("{} already exists", dir.display())).into());
    }
    std::fs::create_dir_all(dir.join("src"))
        .and_then(|()| std::fs::write(dir.join("Cargo.toml"), manifest))
        .and_then(|()| std::fs::write(dir.join("src/lib.rs"), source))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(())
}

pub fn build(settings: &Settings, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let migrator = load_building(settings, printer, godwit::build::BuildMode::Build)?;
    let crates: Vec<_> = migrator.migrations().iter().filter(|m| m.path.is_dir()).collect();
    for migration in &crates {
        printer.status(
            "Built",
            GREEN,
            format!("{} ({})", migration.label, migration.path.display()),
        );
    }
    let built = count(crates.len(), "crate migration", "crate migrations");
    printer.status("Finished", GREEN, format!("{built} built and checked against godwit's world"));
    Ok(ExitCode::SUCCESS)
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
