//! The resolved migration: what a source produced from one file, whatever its kind, with the
//! identity, checksum and runnable script the plan and the drivers work with.

use crate::checksum::Checksum;
use crate::stream::Stream;
use crate::version::Version;
use crate::wasm::{Compiled, GuestInfo};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// How a migration is identified in the history: by version, or by name for repeatables.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Versioned(Version),
    Repeatable(String),
}

impl Key {
    pub fn version(&self) -> Option<Version> {
        match self {
            Key::Versioned(v) => Some(*v),
            Key::Repeatable(_) => None,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Versioned(v) => write!(f, "{v}"),
            Key::Repeatable(name) => write!(f, "R_{name}"),
        }
    }
}

/// The kind of a migration, as recorded in the history's `kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    Sql,
    Wasm,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sql => "sql",
            Kind::Wasm => "wasm",
        }
    }
}

/// One statement of a script and the line of the file it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub line: usize,
}

/// A SQL file's runnable parts.
#[derive(Clone, Debug)]
pub struct SqlScript {
    pub up: Vec<Statement>,
    /// `None` when the file has no down section: the migration cannot be reverted (unless its
    /// down is in a file of its own, `down_file`).
    pub down: Option<Vec<Statement>>,
    /// False for `-- godwit:no-transaction` files, whose statements run one by one outside any
    /// transaction.
    pub transaction: bool,
    /// `-- godwit:requires`: the batched migrations (versions or file names) whose transforms
    /// must be finished before this one runs.
    pub requires: Vec<String>,
    /// Another tool's down file, read the first time a revert (or a listing) needs it: a run
    /// that only applies never opens it.
    pub down_file: Option<DownFile>,
    /// Why the script cannot run as its tool would run it (a Flyway placeholder): the folder
    /// is still read, listed and adopted (an applied migration never runs again), and a run
    /// that would apply it stops before anything runs.
    pub refused: Option<Refusal>,
    /// `-- godwit:allow <rule> <reason>`: lint findings the file accepts.
    pub allows: Vec<Allow>,
    /// `-- godwit:lock-timeout 30s` (or `off`): how long its statements wait for a lock,
    /// instead of the run's timeout.
    pub lock_timeout: Option<crate::locks::LockTimeout>,
    /// `-- godwit:squashes <label> <checksum>`: the migrations this baseline replaces (`godwit
    /// squash`), each with the checksum it was applied with; a database that applied them is
    /// validated against these, a new one runs the baseline.
    pub squashes: Vec<Squashed>,
}

/// A migration a baseline replaced, as it was applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Squashed {
    pub version: Version,
    pub label: String,
    pub checksum: Checksum,
}

/// A lint rule whose findings a file accepts (`-- godwit:allow drops-data the table moved to
/// the archive`), and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Allow {
    /// The rule's id, one `godwit::lint::Rule` has.
    pub rule: String,
    pub reason: String,
    /// The directive's line.
    pub line: usize,
}

impl SqlScript {
    /// Another tool's file: its up statements, no down section of its own (a down file or
    /// none), no directive.
    pub(crate) fn up_only(up: Vec<Statement>, transaction: bool) -> SqlScript {
        SqlScript {
            up,
            down: None,
            transaction,
            requires: Vec::new(),
            down_file: None,
            refused: None,
            allows: Vec::new(),
            lock_timeout: None,
            squashes: Vec::new(),
        }
    }

    /// The statements that revert the migration; `None` when it cannot be reverted. A down
    /// file is read (once) here.
    pub fn down_statements(&self) -> Result<Option<&[Statement]>, DownFileError> {
        match (&self.down, &self.down_file) {
            (Some(down), _) => Ok(Some(down)),
            (None, Some(file)) => file.read().map(|read| Some(read.statements.as_slice())),
            (None, None) => Ok(None),
        }
    }

    /// Whether the migration can be reverted: it has a down section, or a down file that is
    /// there (looked for, and read, on the first call).
    pub fn has_down(&self) -> bool {
        self.down.is_some()
            || self
                .down_file
                .as_ref()
                .is_some_and(|file| !matches!(file.read(), Err(e) if e.missing))
    }

    /// Whether the statements of this direction run in one transaction; a down file says so
    /// for its own statements, as its tool reads it.
    pub fn in_transaction(&self, revert: bool) -> bool {
        match (revert, &self.down_file) {
            (true, Some(file)) if self.down.is_none() => {
                file.read().map_or(self.transaction, |read| read.transaction)
            }
            _ => self.transaction,
        }
    }
}

/// Why a script of another tool's folder cannot run as its tool would run it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error(
        "line {line}: Flyway placeholder `${{{name}}}`: godwit runs the text it checksums, never one with values filled in"
    )]
    Placeholder { line: usize, name: String },
}

/// A down script in a file of its own, read when first needed.
#[derive(Clone, Debug)]
pub struct DownFile {
    pub path: PathBuf,
    parse: DownParse,
    read: Arc<OnceLock<Result<DownRead, DownFileError>>>,
}

/// How a format reads its down file: the file's path (a side file may sit beside it) and
/// text, into what runs, or why it cannot run.
pub(crate) type DownParse = fn(&std::path::Path, &str) -> Result<DownRead, String>;

/// A down file as its tool reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownRead {
    pub statements: Vec<Statement>,
    pub transaction: bool,
}

/// Why a down file could not be read when a revert needed it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {}: {reason}", path.display())]
pub struct DownFileError {
    pub path: PathBuf,
    pub reason: String,
    /// The file is not there: the migration cannot be reverted.
    pub missing: bool,
}

impl DownFile {
    pub(crate) fn new(path: PathBuf, parse: DownParse) -> DownFile {
        DownFile { path, parse, read: Arc::default() }
    }

    fn read(&self) -> Result<&DownRead, DownFileError> {
        let read = self.read.get_or_init(|| {
            let fail =
                |reason: String| DownFileError { path: self.path.clone(), reason, missing: false };
            let bytes = std::fs::read(&self.path).map_err(|e| DownFileError {
                missing: e.kind() == std::io::ErrorKind::NotFound,
                ..fail(e.to_string())
            })?;
            let text = String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))?;
            if text.contains('\0') {
                return Err(fail("it holds a NUL byte; a SQL migration is a text file".into()));
            }
            (self.parse)(&self.path, &text).map_err(fail)
        });
        read.as_ref().map_err(Clone::clone)
    }
}

/// A WebAssembly component migration: its bytes (what the checksum covers) and, once a
/// [`Migrator`](crate::Migrator) holds it, the component compiled and described by its
/// runtime.
#[derive(Clone)]
pub struct WasmScript {
    pub bytes: Arc<Vec<u8>>,
    compiled: Option<Arc<Compiled>>,
}

impl WasmScript {
    pub fn new(bytes: Vec<u8>) -> WasmScript {
        WasmScript { bytes: Arc::new(bytes), compiled: None }
    }

    /// What the component says about itself, once compiled.
    pub fn info(&self) -> Option<&GuestInfo> {
        self.compiled.as_deref().map(Compiled::info)
    }

    pub(crate) fn compiled(&self) -> Option<&Compiled> {
        self.compiled.as_deref()
    }

    pub(crate) fn set_compiled(&mut self, compiled: Compiled) {
        self.compiled = Some(Arc::new(compiled));
    }
}

impl fmt::Debug for WasmScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmScript")
            .field("bytes", &self.bytes.len())
            .field("info", &self.info())
            .finish()
    }
}

/// What runs when a migration is applied or reverted.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Script {
    Sql(SqlScript),
    Wasm(WasmScript),
}

/// A migration resolved from a source.
#[derive(Clone, Debug)]
pub struct Migration {
    /// The project's, or a pack's.
    pub stream: Stream,
    pub key: Key,
    /// The descriptive part of the file name (`add_email` in `0003_add_email.sql`).
    pub name: String,
    /// The file name without its extension, how messages refer to the migration; a pack's
    /// migrations are prefixed with the pack's name (`billing:0001_invoices`).
    pub label: String,
    pub path: PathBuf,
    pub kind: Kind,
    pub checksum: Checksum,
    pub script: Script,
    /// For a folder whose tool orders versions as text (diesel, dbmate), the version as the
    /// tool compares it (`20240313` for diesel's `2024-03-13_170000_x`): its stream runs in
    /// that order, as the tool runs it. `None` orders by number.
    pub text_order: Option<String>,
}

impl Migration {
    pub fn version(&self) -> Option<Version> {
        self.key.version()
    }

    /// The batched migrations (versions or file names) whose transforms must be finished
    /// before this one runs.
    pub fn requires(&self) -> &[String] {
        match &self.script {
            Script::Sql(sql) => &sql.requires,
            Script::Wasm(wasm) => wasm.info().map_or(&[], |info| &info.options.requires),
        }
    }

    /// The lint rules whose findings the file accepts, and why (`-- godwit:allow`).
    pub fn allows(&self) -> &[Allow] {
        match &self.script {
            Script::Sql(sql) => &sql.allows,
            Script::Wasm(_) => &[],
        }
    }

    /// The migrations this baseline replaces (`godwit squash`); empty for any other.
    pub fn squashes(&self) -> &[Squashed] {
        match &self.script {
            Script::Sql(sql) => &sql.squashes,
            Script::Wasm(_) => &[],
        }
    }

    /// How a component migration asked to be run; `None` for SQL files.
    pub fn run_options(&self) -> Option<&crate::wasm::RunOptions> {
        match &self.script {
            Script::Sql(_) => None,
            Script::Wasm(wasm) => wasm.info().map(|info| &info.options),
        }
    }

    /// Whether a batched migration asked for its transform to be queued for a worker.
    pub fn defers_transform(&self) -> bool {
        self.is_batched() && self.run_options().is_some_and(|options| options.defer_transform)
    }

    pub fn is_reversible(&self) -> bool {
        match &self.script {
            Script::Sql(sql) => sql.has_down(),
            Script::Wasm(wasm) => wasm.info().is_some_and(|info| info.reversible),
        }
    }

    /// Whether a component migration's transform runs batch after batch.
    pub fn is_batched(&self) -> bool {
        matches!(&self.script, Script::Wasm(wasm) if wasm.info().is_some_and(|info| info.batched))
    }

    pub fn runs_in_transaction(&self) -> bool {
        self.runs_in_transaction_when(false)
    }

    /// Whether its statements run in one transaction when it is applied, or reverted.
    pub fn runs_in_transaction_when(&self, revert: bool) -> bool {
        match &self.script {
            Script::Sql(sql) => sql.in_transaction(revert),
            Script::Wasm(_) => true,
        }
    }
}
