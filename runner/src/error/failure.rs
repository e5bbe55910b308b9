//! How a step fails: a SQL statement the database refused, a component migration that did not
//! return normally, or a pack that left something beyond its grant. Each names the migration
//! and its file, and says what the database or the guest said.

use crate::driver::DbError;
use crate::wasm::GuestError;
use std::fmt;
use std::path::PathBuf;

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
    /// When a lock was not granted in time: the sessions that held one on the tables the
    /// statement names, as they were when it gave up.
    pub blocked_by: Vec<crate::locks::Blocker>,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.reverting { "reverting" } else { "applying" };
        writeln!(f, "{verb} {} failed at {}:{}", self.label, self.path.display(), self.line)?;
        for line in self.statement.lines() {
            write!(f, "\n    {line}")?;
        }
        if !self.blocked_by.is_empty() {
            write!(f, "\n\nthe lock it waited for was held by")?;
            for blocker in &self.blocked_by {
                write!(f, "\n    {blocker}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for MigrationFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
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
    pub source: GuestError,
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

/// A pack's step that left objects (triggers, functions) acting beyond the pack's grant.
#[derive(Debug, thiserror::Error)]
#[error("{label} ({}) leaves objects that go beyond the grant of pack `{pack}`", path.display())]
pub struct BeyondGrant {
    pub label: String,
    pub path: PathBuf,
    pub pack: String,
    #[source]
    pub source: DbError,
}
