//! WebAssembly component migrations: one wasmtime `Engine` and `Linker` per run, one `Store`
//! per guest call, and a sandbox. A guest gets an empty WASI context (no files, environment,
//! arguments, network or inherited stdio; its stdout and stderr are captured and capped), a
//! wall-clock budget enforced by epoch interruption, and a memory cap; it reaches the database
//! only through the `sql` interface of `wit/migration.wit`, inside the transaction the engine
//! opened for its step.

mod cache;
mod capture;
mod host;
mod json;
mod runtime;

pub use self::runtime::Runtime;
pub(crate) use self::runtime::{Compiled, Outcome, Transformer};

use std::time::Duration;

/// The host side of `wit/migration.wit`, generated; wasmtime's types stay in this module.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "migration-component",
    });
}

/// Epoch ticks per second; a guest's deadline is counted in ticks.
const TICK: Duration = Duration::from_millis(10);

/// How much a guest may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Wall-clock time for one call into the guest.
    pub timeout: Duration,
    /// Linear memory, in bytes, across all of the guest's memories.
    pub memory: usize,
    /// Bytes of stdout and of stderr kept from one call.
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { timeout: Duration::from_secs(60), memory: 256 << 20, output: 64 << 10 }
    }
}

impl Limits {
    /// The default limits with this time limit for one call.
    pub fn timeout(mut self, timeout: Duration) -> Limits {
        self.timeout = timeout;
        self
    }

    /// The default limits with this memory limit.
    pub fn memory(mut self, bytes: usize) -> Limits {
        self.memory = bytes;
        self
    }

    /// The time limit in epoch ticks.
    fn ticks(&self) -> u64 {
        u64::try_from(self.timeout.as_millis() / TICK.as_millis()).unwrap_or(u64::MAX).max(1)
    }
}

/// What a component says about itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GuestInfo {
    pub description: String,
    pub reversible: bool,
    pub batched: bool,
    /// How it asked to be run (all defaults when it did not ask).
    pub options: RunOptions,
}

/// How a component migration asked to be run: what its `describe` passed to the contract's
/// `options.declare` (contract 0.2.2). A component that did not call it, like every one built
/// against an older contract, has the defaults: nothing deferred, the run's batch sizing, no
/// requirements.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RunOptions {
    /// Queue the transform for a worker instead of running it inside `up`.
    pub defer_transform: bool,
    /// How long each batch should take.
    #[serde(rename = "batch_target_ms", serialize_with = "millis")]
    pub batch_target: Option<Duration>,
    /// The bounds of the batch size, in rows.
    pub batch_min: Option<u32>,
    pub batch_max: Option<u32>,
    /// The batched migrations (versions or file names) whose transforms must be finished
    /// before this one runs.
    pub requires: Vec<String>,
}

impl RunOptions {
    /// Why these options cannot be followed, if they cannot.
    fn problem(&self) -> Option<String> {
        if self.batch_target.is_some_and(|target| target.is_zero()) {
            return Some("declares a batch target of 0 ms".to_owned());
        }
        if self.batch_min == Some(0) || self.batch_max == Some(0) {
            return Some("declares a batch size bound of 0 rows".to_owned());
        }
        if let (Some(min), Some(max)) = (self.batch_min, self.batch_max)
            && min > max
        {
            return Some(format!("declares batch-min {min} above batch-max {max}"));
        }
        self.requires.iter().any(|name| name.trim().is_empty() || name.trim() != name).then(|| {
            format!("declares a requirement that is no migration name: {:?}", self.requires)
        })
    }
}

fn millis<S: serde::Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(duration) => s.serialize_some(&duration.as_millis()),
        None => s.serialize_none(),
    }
}

/// What `godwit inspect` shows about a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub size: usize,
    pub sha256: crate::Checksum,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// What the component says about itself, or why it is not a godwit migration.
    pub world: Result<GuestInfo, String>,
}

/// What one `transform` call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    /// Where the next batch starts; `None` when the transform is finished.
    pub next_cursor: Option<String>,
    pub processed: u64,
    pub estimated_total: Option<u64>,
}

/// A guest call that did not return normally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The component does not implement godwit's world.
    #[error("not a godwit migration component: {0}")]
    Rejected(String),
    /// The component was built against another version of godwit's contract (an older godwit's
    /// SDK, say): it needs a rebuild from its source.
    #[error(
        "built against version {found} of godwit's contract (it uses `{interface}`), but this \
         godwit implements godwit:migration@{}",
        crate::contract::CONTRACT_VERSION
    )]
    OtherContract { found: String, interface: String },
    /// The component declared run options that cannot be followed (bounds that leave no
    /// batch size, say).
    #[error("it {0}; fix the options its source declares and build it again")]
    Options(String),
    /// The guest returned an error from `up`, `down` or `transform`.
    #[error("the migration returned an error: {0}")]
    Returned(String),
    #[error("the migration ran longer than its time limit ({})", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("the migration tried to use more memory than its limit ({} MiB)", .0 >> 20)]
    Memory(usize),
    /// A trap: a panic, an unreachable, a failed host call.
    #[error("the migration trapped: {0}")]
    Trap(String),
    #[error(
        "transform returned its own cursor `{0}` without processing a row; it would never finish"
    )]
    Stuck(String),
}

/// The WebAssembly runtime could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot start the WebAssembly runtime: {reason}")]
pub struct RuntimeError {
    pub reason: String,
}
