//! godwit's engine: resolves migrations from a source, compares them with the history table,
//! plans what to run and runs it through a database driver.
//!
//! The `godwit` binary is a thin layer over this crate; applications that want to migrate on
//! start-up embed [`Migrator`] directly:
//!
//! ```no_run
//! # fn main() -> Result<(), godwit::Error> {
//! let migrator = godwit::Migrator::load("migrations")?;
//! let mut db = godwit::connect("sqlite:app.db", &godwit::ConnectOptions::default())?;
//! migrator.run(&mut db, &godwit::Request::up(), &mut godwit::NoReport)?;
//! # Ok(())
//! # }
//! ```

pub mod build;
mod checksum;
pub mod driver;
mod error;
mod history;
pub mod lock;
mod migration;
mod migrator;
pub mod pack;
mod plan;
mod report;
mod source;
mod split;
mod sql_file;
mod status;
mod version;
pub mod wasm;

pub use checksum::Checksum;
pub use driver::{
    ConnectOptions, DbError, Dialect, Driver, ParamRows, Rows, Value, connect,
    connect_changes_nothing,
};
pub use error::{Error, SourceProblem};
pub use history::{AppliedMigration, NewRecord, RecordState};
pub use migration::{Key, Kind, Migration, Script, SqlScript, Statement, WasmScript};
pub use migrator::{Migrator, RepairAction, Report, Request};
pub use pack::Pack;
pub use plan::{Action, DownTarget, PackOrder, Plan, Step, Target, plan};
pub use report::{Event, NoReport, Reporter};
pub use source::{DirSource, MigrationSource};
pub use status::{Entry, EntryState, Problem, problems, status};
pub use version::Version;

/// The version of godwit recorded in every history row it writes.
pub const GODWIT_VERSION: &str = env!("CARGO_PKG_VERSION");
