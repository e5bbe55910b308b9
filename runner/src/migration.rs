//! The resolved migration: what a source produced from one file, whatever its kind, with the
//! identity, checksum and runnable script the plan and the drivers work with.

use crate::checksum::Checksum;
use crate::stream::Stream;
use crate::version::Version;
use crate::wasm::{Compiled, GuestInfo};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// `None` when the file has no down section: the migration cannot be reverted.
    pub down: Option<Vec<Statement>>,
    /// False for `-- godwit:no-transaction` files, whose statements run one by one outside any
    /// transaction.
    pub transaction: bool,
    /// `-- godwit:requires`: the batched migrations (versions or file names) whose transforms
    /// must be finished before this one runs.
    pub requires: Vec<String>,
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
            Script::Sql(sql) => sql.down.is_some(),
            Script::Wasm(wasm) => wasm.info().is_some_and(|info| info.reversible),
        }
    }

    /// Whether a component migration's transform runs batch after batch.
    pub fn is_batched(&self) -> bool {
        matches!(&self.script, Script::Wasm(wasm) if wasm.info().is_some_and(|info| info.batched))
    }

    pub fn runs_in_transaction(&self) -> bool {
        match &self.script {
            Script::Sql(sql) => sql.transaction,
            Script::Wasm(_) => true,
        }
    }
}
