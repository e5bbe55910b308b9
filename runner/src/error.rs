//! The engine's errors. Each variant carries what a user needs to act: the file, the
//! migration, the statement, and a hint; the binary prints them as `error:`, `Caused by:` and
//! `hint:`, and maps them to exit codes with [`Error::exit_code`].

use crate::driver::DbError;
use crate::source::NameProblem;
use crate::sql_file::SqlFileError;
use crate::status::Problem;
use crate::version::Version;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the migrations directory {}", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", list("invalid migration file", problems))]
    InvalidMigrations { problems: Vec<SourceProblem> },
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: DbError,
    },
    #[error("{context}")]
    Database {
        context: String,
        #[source]
        source: DbError,
    },
    #[error(
        "another godwit still holds the migration lock on {target} after {}",
        humantime::format_duration(*waited)
    )]
    LockTimeout { target: String, waited: Duration },
    #[error(transparent)]
    MigrationFailed(Box<MigrationFailure>),
    #[error(transparent)]
    GuestFailed(Box<GuestFailure>),
    #[error("cannot start the WebAssembly runtime: {reason}")]
    WasmRuntime { reason: String },
    #[error("{}", list("problem with applied migrations", problems))]
    Inconsistent { problems: Vec<Problem> },
    #[error(
        "{} older than the newest applied migration {newest}: {}",
        plural(pending.len(), "pending migration is", "pending migrations are"),
        pending.join(", ")
    )]
    OutOfOrder { pending: Vec<String>, newest: String },
    #[error(
        "cannot revert {}: {} no `-- godwit:down` section; nothing was reverted",
        labels.join(", "),
        if labels.len() == 1 { "it has" } else { "they have" }
    )]
    Irreversible { labels: Vec<String> },
    #[error("{label} is a batched migration that has not finished")]
    Unfinished { label: String },
    #[error("no migration has version {version}")]
    UnknownVersion { version: Version },
    #[error(
        "pack `{pack}` is set to run after the project's migration {version}, which does not exist"
    )]
    UnknownAfter { pack: String, version: Version },
    #[error("no pack named `{pack}` is configured or in the history")]
    UnknownPack { pack: String },
    #[error(transparent)]
    BeyondGrant(Box<BeyondGrant>),
    #[error("invalid pack {}: {reason}", path.display())]
    InvalidPack { path: PathBuf, reason: String },
    #[error(
        "the history already has {} applied; baseline only marks an unmigrated database",
        plural(*applied, "migration", "migrations")
    )]
    BaselineOnMigrated { applied: usize },
}

/// A pack's step that left objects (triggers) acting beyond the pack's grant.
#[derive(Debug, thiserror::Error)]
#[error("{label} ({}) leaves objects that go beyond the grant of pack `{pack}`", path.display())]
pub struct BeyondGrant {
    pub label: String,
    pub path: PathBuf,
    pub pack: String,
    #[source]
    pub source: DbError,
}

/// Where a migration failed, what ran, and whether the history now records it as failed.
#[derive(Debug)]
pub struct MigrationFailure {
    pub label: String,
    pub path: PathBuf,
    pub line: usize,
    pub statement: String,
    pub reverting: bool,
    /// True when the migration ran outside a transaction and is now recorded as failed.
    pub recorded_failed: bool,
    pub source: DbError,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.reverting { "reverting" } else { "applying" };
        writeln!(f, "{verb} {} failed at {}:{}", self.label, self.path.display(), self.line)?;
        for line in self.statement.lines() {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}

/// A component migration that trapped, ran out of time or memory, or returned an error.
#[derive(Debug)]
pub struct GuestFailure {
    pub label: String,
    pub path: PathBuf,
    pub reverting: bool,
    /// For a failed batch of a transform: the rows done by the batches committed before it,
    /// which stay, so that `godwit up` resumes after them.
    pub resumable: Option<i64>,
    pub source: crate::wasm::GuestError,
    /// What the guest logged and printed before it failed.
    pub output: Vec<String>,
}

impl fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.reverting { "reverting" } else { "applying" };
        write!(f, "{verb} {} failed ({})", self.label, self.path.display())?;
        let shown = self.output.len().saturating_sub(10);
        if !self.output.is_empty() {
            write!(f, "\n\nthe migration's last output:")?;
        }
        for line in &self.output[shown..] {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GuestFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl std::error::Error for MigrationFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Error {
    /// 1 when a migration or a check failed; 2 when the input (configuration, URL, migration
    /// files, arguments) must be fixed before anything can run.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ReadDir { .. }
            | Error::InvalidMigrations { .. }
            | Error::InvalidUrl { .. }
            | Error::Connect { .. }
            | Error::UnknownVersion { .. }
            | Error::UnknownAfter { .. }
            | Error::UnknownPack { .. }
            | Error::InvalidPack { .. } => 2,
            _ => 1,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::ReadDir { .. } => {
                "run `godwit init` to create it, or point `--dir` at your migrations".to_owned()
            }
            Error::InvalidMigrations { problems } => {
                let mut hints: Vec<&str> = problems.iter().map(SourceProblem::hint).collect();
                hints.dedup();
                hints.join("\n")
            }
            Error::InvalidUrl { .. } => {
                "use `sqlite:PATH`, `sqlite::memory:` or `postgres://user:password@host:port/db`"
                    .to_owned()
            }
            Error::Connect { .. } => {
                "check the URL given by --database, DATABASE_URL or godwit.toml, and that the server is running".to_owned()
            }
            Error::Database { .. } => return None,
            Error::LockTimeout { .. } => {
                "wait for the other run to finish, or raise --lock-timeout".to_owned()
            }
            Error::MigrationFailed(failure) if failure.recorded_failed => format!(
                "{} ran outside a transaction, so statements before line {} stay applied and it is recorded as failed; \
                 fix the database by hand, then run `godwit repair` and `godwit up`",
                failure.label, failure.line
            ),
            Error::GuestFailed(failure) => {
                let label = &failure.label;
                let mut hint = match failure.resumable {
                    Some(rows) => format!(
                        "the failed batch was rolled back; the batches before it stay committed \
                         ({rows} rows done) and {label} stays in progress: fix the cause and run \
                         `godwit up` to resume after them"
                    ),
                    None => format!("{label} was rolled back and the database is as it was before it"),
                };
                match failure.source {
                    crate::wasm::GuestError::Timeout(_) => hint.push_str(
                        "; `--wasm-timeout` (wasm_timeout in godwit.toml) raises the time limit",
                    ),
                    crate::wasm::GuestError::Memory(_) => hint.push_str(
                        "; `--wasm-memory` (wasm_memory in godwit.toml) raises the memory limit",
                    ),
                    _ => {}
                }
                hint
            }
            Error::WasmRuntime { .. } => return None,
            Error::MigrationFailed(failure) => format!(
                "{} was rolled back and the database is as it was before it; fix {} and run godwit again",
                failure.label,
                failure.path.display()
            ),
            Error::Inconsistent { .. } => {
                "restore the applied files, or run `godwit repair` to accept the current files as applied".to_owned()
            }
            Error::OutOfOrder { .. } => {
                "give the pending migrations a newer version, or pass --allow-out-of-order to apply them anyway".to_owned()
            }
            Error::Irreversible { .. } => {
                "add a `-- godwit:down` section to them, or revert to a later version with --to".to_owned()
            }
            Error::UnknownVersion { .. } => "`godwit status` lists the versions".to_owned(),
            Error::UnknownAfter { pack, .. } => format!(
                "set `after` of pack `{pack}` in godwit.toml to a version `godwit status` lists"
            ),
            Error::UnknownPack { .. } => {
                "`godwit status` lists the packs; packs are listed as [[pack]] in godwit.toml"
                    .to_owned()
            }
            Error::BeyondGrant(failure) => format!(
                "{} was rolled back and the database is as it was before it; what a pack leaves \
                 to run later (triggers, functions) runs for whoever uses it, so it must stay \
                 within the pack's grant too",
                failure.label
            ),
            Error::InvalidPack { .. } => {
                "a pack's godwit-pack.toml needs `name` and `version`; see \"Packs\" in the README"
                    .to_owned()
            }
            Error::Unfinished { label } => {
                format!("run `godwit up` to finish {label} first; then it can be reverted")
            }
            Error::BaselineOnMigrated { .. } => {
                "`godwit status` shows what is applied; baseline is for databases godwit has not migrated yet".to_owned()
            }
        })
    }
}

/// One problem with one file of a migration source.
#[derive(Debug)]
pub struct SourceProblem {
    pub path: PathBuf,
    pub kind: ProblemKind,
}

#[derive(Debug)]
pub enum ProblemKind {
    Name(NameProblem),
    NotUtf8Name,
    NotUtf8 {
        line: usize,
    },
    Empty,
    Content(SqlFileError),
    Duplicate {
        first: PathBuf,
    },
    Io(String),
    /// A `.wasm` file that is not a godwit migration component.
    Component(String),
    /// A Rust guest crate that could not be built.
    Build(crate::build::BuildError),
}

impl SourceProblem {
    pub(crate) fn new(path: &Path, kind: ProblemKind) -> SourceProblem {
        SourceProblem { path: path.to_owned(), kind }
    }

    pub fn hint(&self) -> &'static str {
        match &self.kind {
            ProblemKind::Name(problem) => problem.hint(),
            ProblemKind::NotUtf8Name | ProblemKind::NotUtf8 { .. } => {
                "save migration files as UTF-8"
            }
            ProblemKind::Empty => "write the migration, or delete the file",
            ProblemKind::Content(problem) => problem.hint(),
            ProblemKind::Duplicate { .. } => {
                "give each migration its own version; `godwit new` picks the next one"
            }
            ProblemKind::Io(_) => "check the file's permissions",
            ProblemKind::Build(error) => error.hint(),
            ProblemKind::Component(_) => {
                "build it against wit/migration.wit (godwit:migration@0.2.0), for instance with the godwit-sdk crate"
            }
        }
    }
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ProblemKind::Name(problem) => write!(f, "{path}: {problem}"),
            ProblemKind::NotUtf8Name => write!(f, "{path}: the file name is not valid UTF-8"),
            ProblemKind::NotUtf8 { line } => write!(f, "{path}: invalid UTF-8 on line {line}"),
            ProblemKind::Empty => write!(f, "{path}: the file is empty"),
            ProblemKind::Content(problem) => write!(f, "{path}: {problem}"),
            ProblemKind::Duplicate { first } => {
                write!(f, "{path}: same version as {}", first.display())
            }
            ProblemKind::Io(message) => write!(f, "{path}: {message}"),
            ProblemKind::Component(message) => write!(f, "{path}: {message}"),
            ProblemKind::Build(error) => write!(f, "{path}: {error}"),
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// A one-line summary, or a count followed by one indented line per item.
fn list<T: fmt::Display>(what: &str, items: &[T]) -> String {
    match items {
        [one] => one.to_string(),
        _ => {
            let mut text = plural(items.len(), what, &format!("{what}s"));
            for item in items {
                text.push_str(&format!("\n  {item}"));
            }
            text
        }
    }
}
