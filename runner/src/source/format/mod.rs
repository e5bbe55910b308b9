//! Other tools' migration folders, read the way those tools read them: which files are
//! migrations, how versions order, what each directive means and whether a migration runs in
//! a transaction. Each format turns its files into the same [`Migration`](crate::migration::Migration)s
//! godwit's own layout gives, so everything after reading (plan, history, locks) is shared. A
//! folder in another format may also hold godwit's own components and migration directories.

mod dbmate;
mod diesel;
mod flyway;
mod golang_migrate;
mod goose;
mod refinery;
mod sqlx;
mod statements;

use super::name::NameProblem;
use crate::migration::{DownParse, Key, Refusal, SqlScript};
use crate::version::Version;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Whose layout a migration folder is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Format {
    /// godwit's own: `<version>_<name>.sql` with `-- godwit:up`, components, directories.
    #[default]
    Godwit,
    Diesel,
    Sqlx,
    GolangMigrate,
    Goose,
    Dbmate,
    Flyway,
    Refinery,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Godwit,
        Format::Diesel,
        Format::Sqlx,
        Format::GolangMigrate,
        Format::Goose,
        Format::Dbmate,
        Format::Flyway,
        Format::Refinery,
    ];

    /// The name used in godwit.toml and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Godwit => "godwit",
            Format::Diesel => "diesel",
            Format::Sqlx => "sqlx",
            Format::GolangMigrate => "golang-migrate",
            Format::Goose => "goose",
            Format::Dbmate => "dbmate",
            Format::Flyway => "flyway",
            Format::Refinery => "refinery",
        }
    }

    /// Whether migrations may sit in subdirectories (the tool walks the folder's tree).
    pub(crate) fn recursive(self) -> bool {
        matches!(self, Format::Flyway | Format::Refinery)
    }

    /// Whether the tool orders versions as text rather than as numbers.
    pub(crate) fn orders_as_text(self) -> bool {
        matches!(self, Format::Diesel | Format::Dbmate)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that godwit does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a migration format godwit reads (godwit, diesel, sqlx, golang-migrate, goose, dbmate, flyway, refinery)"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(text: &str) -> Result<Format, UnknownFormat> {
        let lower = text.to_ascii_lowercase();
        let wanted = match lower.as_str() {
            "migrate" | "golang_migrate" => "golang-migrate",
            other => other,
        };
        Format::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| UnknownFormat(text.to_owned()))
    }
}

/// Which part of a migration a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// Everything: up, and down where the format keeps it in the same file.
    Whole,
    Up,
    Down,
    /// A side file of the up file (Flyway's `<script>.conf`).
    Config,
}

/// What a directory entry's name makes it in a format.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Named {
    Part {
        key: Key,
        name: String,
        role: Role,
    },
    /// Not the format's: read by godwit's own rules (components and migration directories).
    Own,
    Ignored,
    Invalid(NameProblem),
}

/// Classifies a directory entry of a folder in `format` (not godwit's own).
pub(crate) fn classify(format: Format, file_name: &str, dir: Option<&Path>) -> Named {
    if super::name::is_backup(file_name) {
        return Named::Ignored;
    }
    let ext = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    if dir.is_none() && ext.as_deref() == Some("wasm") {
        return Named::Own;
    }
    // In a diesel folder every directory is taken for diesel's until reading it shows it is
    // godwit's own migration directory (no up.sql, a language's marker): a thousand
    // directories would otherwise cost a thousand lookups of every marker.
    if format != Format::Diesel && dir.is_some_and(|path| crate::guest_build::detect(path).is_ok())
    {
        return Named::Own;
    }
    match format {
        Format::Godwit => Named::Own,
        Format::Diesel => diesel::classify(file_name, dir.is_some()),
        Format::Sqlx => sqlx::classify(file_name, dir.is_some()),
        Format::GolangMigrate => golang_migrate::classify(file_name, dir.is_some()),
        Format::Goose => goose::classify(file_name, dir.is_some()),
        Format::Dbmate => dbmate::classify(file_name, dir.is_some()),
        Format::Flyway => flyway::classify(file_name, dir.is_some()),
        Format::Refinery => refinery::classify(file_name, dir.is_some()),
    }
}

/// The texts one migration is read from.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    pub up: String,
    /// A side file the format reads (diesel's `metadata.toml`).
    pub meta: Option<String>,
}

/// Turns a migration's texts into what runs.
pub(crate) fn parse(format: Format, texts: &Texts) -> Result<SqlScript, FormatError> {
    let script = match format {
        Format::Godwit => unreachable!("godwit's own files are read by sql_file"),
        Format::Diesel => diesel::parse(texts)?,
        Format::Sqlx => sqlx::parse(texts),
        Format::GolangMigrate => statements::database_rule(&texts.up),
        Format::Flyway => flyway::parse(texts)?,
        Format::Goose => goose::parse(&texts.up)?,
        Format::Dbmate => dbmate::parse(&texts.up)?,
        Format::Refinery => refinery::parse(&texts.up),
    };
    Ok(script)
}

/// How a format reads a down file of its own, for a migration whose up reads as `script`;
/// `None` for formats that keep the down beside the up.
pub(crate) fn down_reader(format: Format, script: &SqlScript) -> Option<DownParse> {
    match format {
        Format::Sqlx => Some(sqlx::down),
        Format::GolangMigrate => Some(statements::database_rule_down),
        Format::Flyway => Some(flyway::down),
        Format::Diesel if script.transaction => Some(diesel::down_in_transaction),
        Format::Diesel => Some(diesel::down_alone),
        _ => None,
    }
}

/// How messages name a migration read from `path`: its file name without the extensions.
pub(crate) fn label(format: Format, path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let stem = match format {
        Format::Sqlx | Format::GolangMigrate => stem.strip_suffix(".up").unwrap_or(stem),
        _ => stem,
    };
    stem.to_owned()
}

/// The files a migration of a folder-per-migration format (diesel) is read from.
pub(crate) fn files_in_dir(format: Format) -> Option<(&'static str, &'static str, &'static str)> {
    match format {
        Format::Diesel => Some(("up.sql", "down.sql", "metadata.toml")),
        _ => None,
    }
}

/// Why a file of another tool's format cannot be run as that tool would run it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    #[error("no `{marker}` line: {format} needs it to know where the up migration starts")]
    NoUp { format: Format, marker: &'static str },
    #[error(
        "line {line} comes before `{marker}`; {format} runs nothing outside its sections, and the up section comes first"
    )]
    BeforeUp { format: Format, marker: &'static str, line: usize },
    #[error("line {line}: a second `{marker}`")]
    Repeated { marker: &'static str, line: usize },
    #[error("line {line}: `{text}` is not a {format} annotation")]
    UnknownAnnotation { format: Format, line: usize, text: String },
    #[error("line {line}: `{text}`: {why}")]
    Unsupported { line: usize, text: String, why: &'static str },
    #[error("{file} is empty; {format} refuses to run an empty migration")]
    EmptyFile { format: Format, file: &'static str },
    #[error("{file}: {reason}")]
    BadSideFile { file: &'static str, reason: String },
    /// A script godwit reads but does not run as its tool would (a Flyway placeholder).
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// What `--format auto` found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    #[error("cannot read {dir}: {reason}")]
    Read { dir: String, reason: String },
    #[error(
        "{dir} could be read as {}: {why}",
        names(.candidates)
    )]
    Ambiguous { dir: String, candidates: Vec<Format>, why: String },
    #[error(
        "{dir} mixes {}: {why}; a folder is read in one format (godwit's own components may sit beside it)",
        names(.found)
    )]
    Mixed { dir: String, found: Vec<Format>, why: String },
}

pub(super) fn names(formats: &[Format]) -> String {
    let names: Vec<_> = formats.iter().map(|f| f.name()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// A version made of digits only (no dotted version), as the numeric part of a file name.
pub(crate) fn digits_version(text: &str) -> Result<Version, NameProblem> {
    match text.contains('.') {
        true => Err(NameProblem::Version(crate::VersionError::NotDigits(text.to_owned()))),
        false => text.parse::<Version>().map_err(NameProblem::Version),
    }
}

mod detect;

impl Format {
    /// The format of the migration folder `dir`, told by its file names and section markers;
    /// an empty folder, or one holding only godwit's own files, is godwit's.
    pub fn detect(dir: &Path) -> Result<Format, DetectError> {
        detect::detect(dir)
    }
}

#[cfg(test)]
mod tests;
