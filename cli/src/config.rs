//! `godwit.toml` and how settings are resolved: a flag wins over an environment variable,
//! which wins over the file, which wins over the built-in default.

use crate::cli::Global;
use crate::failure::Failure;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const CONFIG_FILE: &str = "godwit.toml";
pub const DEFAULT_DATABASE: &str = "sqlite:godwit.db";
pub const DEFAULT_DIR: &str = "migrations";

pub const TEMPLATE: &str = r#"# godwit configuration. Command-line flags and DATABASE_URL override these settings.

# Where the migration files live, relative to this file.
dir = "migrations"

# The database: sqlite:PATH (created if missing), sqlite::memory:, or
# postgres://user:password@host:port/db?sslmode=prefer (also disable, require, verify-ca,
# verify-full; sslrootcert=PATH names the CA for the verify modes).
# database = "sqlite:godwit.db"

# The layout of the migrations directory, when another tool wrote it: "diesel", "sqlx",
# "golang-migrate", "goose", "dbmate", "flyway", "refinery", or "auto" to tell it from the
# files. godwit runs the folder as it is (see docs/adopting.md).
# format = "godwit"

# Keep that tool's history table up to date as godwit applies and reverts the folder's
# migrations, so that the team can go back to the tool (see docs/adopting.md).
# keep = "sqlx"

# How `godwit new` numbers migrations: "sequential" (0001, 0002, ...) or
# "timestamp" (UTC, like 20261122093000).
# versioning = "sequential"

# How long to wait for another godwit that holds the migration lock.
# lock_timeout = "60s"

# How long each statement of a migration waits for a table lock on PostgreSQL before the
# migration gives up, is rolled back and tried again ("0s": as long as the server lets it),
# and how often (docs/safe-migrations.md).
# statement_lock_timeout = "5s"
# lock_retries = 3

# Write the database's schema here (`godwit schema dump`) after every `up` and `down` that
# changed something, so a pull request shows the schema change beside the migration.
# dump_schema = "db/schema.sql"

# A fleet: the databases `godwit up --fleet` and `godwit status --fleet` run on, listed here,
# in a file (one URL per line) or as the SQLite files of a directory.
# [fleet]
# targets = ["postgres://app@db1/shop", "postgres://app@db2/shop"]
# file = "tenants.txt"
# sqlite_dir = "tenants"
# schemas = ["tenant_a", "tenant_b"]    # schemas of `database`, one tenant each
# query = "select url from tenants where active"   # run on `database`: URLs or schemas
# command = "./list-tenants"           # its output: one URL per line

# PostgreSQL schema of the godwit_history table (default: the connection's current schema).
# schema = "public"

# Sandbox limits for WebAssembly migrations: time for one call, and memory.
# wasm_timeout = "60s"
# wasm_memory = "256MiB"

# How much each rule of `godwit lint` matters: "error", "warning" or "off" (docs/lint.md).
# [lint]
# drops-data = "error"
# column-type-change = "warning"

# Packs: directories with a godwit-pack.toml and migrations written by someone else. Each
# runs in its own stream of the history, confined to the grant its manifest declares.
# A pack's migrations run before the project's, or after the project's migration `after`.
# [[pack]]
# path = "packs/billing"
# after = 3
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    dir: Option<PathBuf>,
    format: Option<String>,
    keep: Option<String>,
    database: Option<String>,
    versioning: Option<Versioning>,
    lock_timeout: Option<String>,
    statement_lock_timeout: Option<String>,
    lock_retries: Option<u32>,
    schema: Option<String>,
    dump_schema: Option<PathBuf>,
    wasm_timeout: Option<String>,
    wasm_memory: Option<String>,
    #[serde(default, rename = "pack")]
    packs: Vec<PackEntry>,
    /// `[lint]`: a rule's id and its level.
    #[serde(default)]
    lint: std::collections::BTreeMap<String, String>,
    fleet: Option<FleetConfig>,
}

/// `[fleet]` of godwit.toml: the databases, one way or another.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    /// Schemas of the configured database, one tenant each.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// SQL run on the configured database: each row's first value a URL, or a schema of it.
    pub query: Option<String>,
    /// A shell command whose output lists the databases, one URL per line.
    pub command: Option<String>,
    pub file: Option<PathBuf>,
    pub sqlite_dir: Option<PathBuf>,
}

/// A `[[pack]]` of godwit.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackEntry {
    /// The pack's directory (relative to the configuration file once resolved).
    pub path: PathBuf,
    /// The project migration the pack's migrations wait for.
    pub after: Option<godwit::Version>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Versioning {
    #[default]
    Sequential,
    Timestamp,
}

/// Every setting, resolved.
#[derive(Debug)]
pub struct Settings {
    pub dir: PathBuf,
    /// The migrations directory's format; `None` to tell it from the files.
    pub format: Option<godwit::source::Format>,
    /// The tool whose history table is kept up to date beside godwit's.
    pub keep: Option<godwit::source::Format>,
    pub database: String,
    pub versioning: Versioning,
    pub lock_timeout: Duration,
    /// How long statements wait for table locks, and how often a migration that gave up is
    /// tried again.
    pub lock_waits: godwit::locks::LockWaits,
    pub schema: Option<String>,
    pub wasm: godwit::wasm::Limits,
    pub build: godwit::guest_build::BuildMode,
    /// `godwit.lock`, next to the configuration file; the paths in it are relative to the
    /// file's directory.
    pub lock_file: PathBuf,
    pub packs: Vec<PackEntry>,
    /// The levels `[lint]` gives the rules of `godwit lint`.
    pub lint: godwit::lint::Levels,
    /// Where `up` and `down` write the schema after changing it (`dump_schema`).
    pub dump_schema: Option<PathBuf>,
    /// `[fleet]`, its paths relative to the configuration file.
    pub fleet: Option<FleetConfig>,
}

impl Settings {
    pub fn resolve(global: &Global) -> anyhow::Result<Settings> {
        let (file, base) = load(global.config.as_deref())?;
        let file_timeout = match &file.lock_timeout {
            Some(text) => Some(crate::cli::parse_duration(text).map_err(|e| {
                Failure::config(format!("invalid lock_timeout in {}: {e}", base.display()))
            })?),
            None => None,
        };
        let file_statement_timeout = match &file.statement_lock_timeout {
            Some(text) => Some(crate::cli::parse_duration(text).map_err(|e| {
                let base = base.display();
                Failure::config(format!("invalid statement_lock_timeout in {base}: {e}"))
            })?),
            None => None,
        };
        let defaults = godwit::locks::LockWaits::default();
        let lock_waits = godwit::locks::LockWaits {
            timeout: match global.statement_lock_timeout.or(file_statement_timeout) {
                Some(timeout) if timeout.is_zero() => None,
                Some(timeout) => Some(timeout),
                None => defaults.timeout,
            },
            retries: global.lock_retries.or(file.lock_retries).unwrap_or(defaults.retries),
        };
        let file_wasm_timeout = match &file.wasm_timeout {
            Some(text) => Some(crate::cli::parse_duration(text).map_err(|e| {
                Failure::config(format!("invalid wasm_timeout in {}: {e}", base.display()))
            })?),
            None => None,
        };
        let file_wasm_memory = match &file.wasm_memory {
            Some(text) => Some(crate::cli::parse_size(text).map_err(|e| {
                Failure::config(format!("invalid wasm_memory in {}: {e}", base.display()))
            })?),
            None => None,
        };
        let defaults = godwit::wasm::Limits::default();
        let wasm = defaults
            .timeout(global.wasm_timeout.or(file_wasm_timeout).unwrap_or(defaults.timeout))
            .memory(global.wasm_memory.or(file_wasm_memory).unwrap_or(defaults.memory));
        let dir = match (&global.dir, &file.dir) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => relative_to(&base, dir),
            (None, None) => PathBuf::from(DEFAULT_DIR),
        };
        let format = match (&global.dir_format, &file.format) {
            (Some(text), _) => {
                parse_format(text).map_err(|e| Failure::config(format!("--dir-format: {e}")))?
            }
            (None, Some(text)) => parse_format(text).map_err(|e| {
                Failure::config(format!("invalid format in {}: {e}", base.display()))
            })?,
            (None, None) => Some(godwit::source::Format::Godwit),
        };
        let keep = match (&global.keep, &file.keep) {
            (Some(text), _) => {
                Some(parse_tool(text).map_err(|e| Failure::config(format!("--keep: {e}")))?)
            }
            (None, Some(text)) => Some(parse_tool(text).map_err(|e| {
                Failure::config(format!("invalid keep in {}: {e}", base.display()))
            })?),
            (None, None) => None,
        };
        let lint = lint_levels(&file.lint)
            .map_err(|e| Failure::config(format!("invalid [lint] in {}: {e}", base.display())))?;
        Ok(Settings {
            lint,
            dump_schema: file.dump_schema.map(|path| relative_to(&base, &path)),
            fleet: file.fleet.map(|fleet| FleetConfig {
                file: fleet.file.map(|path| relative_to(&base, &path)),
                sqlite_dir: fleet.sqlite_dir.map(|path| relative_to(&base, &path)),
                ..fleet
            }),
            dir,
            format,
            keep,
            database: global
                .database
                .clone()
                .or(file.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            versioning: file.versioning.unwrap_or_default(),
            lock_timeout: global.lock_timeout.or(file_timeout).unwrap_or(Duration::from_secs(60)),
            lock_waits,
            schema: global.schema.clone().or(file.schema),
            wasm,
            build: match global.no_build {
                true => godwit::guest_build::BuildMode::NoBuild,
                false => godwit::guest_build::BuildMode::Build,
            },
            lock_file: relative_to(&base, Path::new(godwit::lock_file::LOCK_FILE)),
            packs: file
                .packs
                .into_iter()
                .map(|entry| PackEntry { path: relative_to(&base, &entry.path), ..entry })
                .collect(),
        })
    }
}

/// The levels of `[lint]`: each key a rule, each value `error`, `warning` or `off`.
fn lint_levels(
    table: &std::collections::BTreeMap<String, String>,
) -> Result<godwit::lint::Levels, String> {
    use godwit::lint::{Level, Rule};
    let mut levels = godwit::lint::Levels::default();
    for (rule, level) in table {
        let rule: Rule = rule.parse().map_err(|e: godwit::lint::UnknownRule| e.to_string())?;
        let level = match level.as_str() {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "off" => None,
            other => {
                return Err(format!("`{rule} = \"{other}\"`: a level is error, warning or off"));
            }
        };
        levels = levels.set(rule, level);
    }
    Ok(levels)
}

/// `auto` (`None`) or a format's name.
fn parse_format(text: &str) -> Result<Option<godwit::source::Format>, String> {
    match text.eq_ignore_ascii_case("auto") {
        true => Ok(None),
        false => text
            .parse()
            .map(Some)
            .map_err(|e: godwit::source::UnknownFormat| format!("{e}, or auto")),
    }
}

/// A tool whose history table godwit can keep up to date.
fn parse_tool(text: &str) -> Result<godwit::source::Format, String> {
    match text.parse() {
        Ok(godwit::source::Format::Godwit) => Err("name another tool than godwit".to_owned()),
        Ok(tool) => Ok(tool),
        Err(e) => Err(e.to_string()),
    }
}

impl Settings {
    /// The migrations directory's format, told from its files when the setting is `auto`.
    pub fn format(&self) -> anyhow::Result<godwit::source::Format> {
        match self.format {
            Some(format) => Ok(format),
            None => Ok(godwit::source::Format::detect(&self.dir)
                .map_err(|e| godwit::Error::from(godwit::source::SourceError::from(e)))?),
        }
    }
}

/// Reads the configuration file; `base` is the file's path (for messages and relative dirs).
fn load(explicit: Option<&Path>) -> anyhow::Result<(File, PathBuf)> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None if Path::new(CONFIG_FILE).is_file() => PathBuf::from(CONFIG_FILE),
        None => return Ok((File::default(), PathBuf::from(CONFIG_FILE))),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(Failure::config(format!("configuration file {} does not exist", path.display())))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let file: File = toml::from_str(&text).map_err(|e| {
        Failure::config(format!("invalid {}: {}", path.display(), e.to_string().trim_end()))
    })?;
    Ok((file, path))
}

fn relative_to(config: &Path, dir: &Path) -> PathBuf {
    match config.parent() {
        Some(parent) if dir.is_relative() && !parent.as_os_str().is_empty() => parent.join(dir),
        _ => dir.to_owned(),
    }
}
