//! Rows of the `godwit_history` table as the engine sees them. Drivers read and write these;
//! the table's DDL lives with each driver because column types differ between databases.
//!
//! Every row belongs to a stream: the project's own migrations (the empty stream) or one pack's
//! (its name). Within a stream, a versioned migration has at most one row, keyed by version; a
//! repeatable one has at most one row, keyed by name with a NULL version. `cursor` and `rows_done` belong to batched
//! migrations that commit many transactions before they count as applied.

use crate::checksum::Checksum;
use crate::migration::{Key, Migration};
use crate::version::Version;

/// The state a history row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    Applied,
    /// A migration that ran outside a transaction and failed part-way; it blocks `up` until
    /// `godwit repair` clears it.
    Failed,
    /// A batched migration whose `up` committed and whose transform has not finished; `cursor`
    /// and `rows_done` say how far it got, and `godwit up` resumes it there.
    InProgress,
}

impl RecordState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Applied => "applied",
            RecordState::Failed => "failed",
            RecordState::InProgress => "in_progress",
        }
    }

    pub fn parse(text: &str) -> Option<RecordState> {
        match text {
            "applied" => Some(RecordState::Applied),
            "failed" => Some(RecordState::Failed),
            "in_progress" => Some(RecordState::InProgress),
            _ => None,
        }
    }
}

/// A row read back from the history table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The pack this row belongs to; empty for the project's own migrations.
    pub stream: String,
    pub version: Option<Version>,
    pub name: String,
    pub kind: String,
    pub checksum: Checksum,
    /// UTC, RFC 3339 with second precision.
    pub applied_at: String,
    pub execution_ms: i64,
    pub state: RecordState,
    pub godwit_version: String,
    pub cursor: Option<String>,
    pub rows_done: i64,
}

impl AppliedMigration {
    pub fn key(&self) -> Key {
        match self.version {
            Some(version) => Key::Versioned(version),
            None => Key::Repeatable(self.name.clone()),
        }
    }

    /// How messages name a row whose file may be gone.
    pub fn label(&self) -> String {
        let label = match self.version {
            Some(version) => format!("{version}_{}", self.name),
            None => format!("R_{}", self.name),
        };
        crate::migration::in_stream(&self.stream, label)
    }
}

/// A row to insert.
#[derive(Clone, Debug)]
pub struct NewRecord<'a> {
    pub stream: &'a str,
    pub version: Option<Version>,
    pub name: &'a str,
    pub kind: &'a str,
    pub checksum: &'a str,
    pub execution_ms: i64,
    pub state: RecordState,
}

impl<'a> NewRecord<'a> {
    pub fn of(migration: &'a Migration, state: RecordState, execution_ms: i64) -> NewRecord<'a> {
        NewRecord {
            stream: &migration.stream,
            version: migration.version(),
            name: &migration.name,
            kind: migration.kind.as_str(),
            checksum: migration.checksum.as_str(),
            execution_ms,
            state,
        }
    }
}
