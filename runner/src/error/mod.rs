//! The engine's error: each module owns the errors of its work (a source's files, a pack's
//! manifest, the pins, connecting, the history table, the plan, the WebAssembly runtime) and
//! this type gathers them, with the migrator's own (the lock, a failed step). Every variant
//! carries what a caller needs to act: the file, the migration, the statement, the database's
//! error. What to tell a person (hints, exit codes) is the caller's business.

mod failure;

pub use self::failure::{BeyondGrant, GuestFailure, MigrationFailure};

use crate::driver::{ConnectError, DbError};
use crate::history::HistoryError;
use crate::history::adopt::AdoptError;
use crate::lock_file::PinError;
use crate::pack::PackError;
use crate::plan::PlanError;
use crate::source::SourceError;
use crate::text::plural;
use crate::transforms::TransformError;
use crate::wasm::RuntimeError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Migration files that could not be read or are not valid migrations.
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Pack(#[from] PackError),
    /// Packs or components that `godwit.lock` does not pin as they are.
    #[error(transparent)]
    Pins(#[from] PinError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Another tool's down file that could not be read when a revert needed it.
    #[error(transparent)]
    DownFile(#[from] crate::migration::DownFileError),
    /// Another tool's history that cannot be taken over as it is.
    #[error(transparent)]
    Adopt(#[from] AdoptError),
    /// What must be settled before anything can run.
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A transform run apart from the deploy cannot do what was asked.
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(
        "another godwit still holds the migration lock on {target} after {}",
        humantime::format_duration(*waited)
    )]
    LockTimeout { target: String, waited: Duration },
    /// The linter found errors in the migrations a run would apply; nothing was applied.
    #[error(transparent)]
    Lint(#[from] crate::lint::Refused),
    /// `lint --trace` could not run (not PostgreSQL, no scratch database).
    #[error(transparent)]
    Trace(#[from] crate::lint::TraceError),
    /// A schema could not be read, or built on a scratch database.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// A SQL statement of a migration failed.
    #[error(transparent)]
    MigrationFailed(Box<MigrationFailure>),
    /// A component migration trapped, ran out of time or memory, or returned an error.
    #[error(transparent)]
    GuestFailed(Box<GuestFailure>),
    /// A pack's step left objects that act beyond its grant.
    #[error(transparent)]
    BeyondGrant(Box<BeyondGrant>),
    /// godwit's own work on the database failed (the lock, a commit, a history row).
    #[error("{context}")]
    Database {
        context: String,
        #[source]
        source: DbError,
    },
    #[error(
        "the history already has {} applied; baseline only marks an unmigrated database",
        plural(*applied, "migration", "migrations")
    )]
    BaselineOnMigrated { applied: usize },
}

impl Error {
    /// The error and its causes on one line, `: ` between them (for a list of many
    /// databases or migrations, where each gets one entry).
    pub fn one_line(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    /// Whether the connection to the database was lost under this error.
    pub fn connection_lost(&self) -> bool {
        self.db_error().is_some_and(DbError::connection_lost)
    }

    /// The database's error behind this one, if the database reported one.
    pub fn db_error(&self) -> Option<&DbError> {
        match self {
            Error::MigrationFailed(failure) => Some(&failure.source),
            Error::BeyondGrant(failure) => Some(&failure.source),
            Error::Database { source, .. }
            | Error::Connect(ConnectError::Unreachable { source, .. })
            | Error::History(
                HistoryError::Read { source, .. } | HistoryError::Create { source, .. },
            ) => Some(source),
            _ => None,
        }
    }
}
