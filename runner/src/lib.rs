//! godwit's engine: resolves migrations from a source, compares them with the history table,
//! plans what to run and runs it through a database driver.
//!
//! The `godwit` command is a thin layer over this crate; applications that want to migrate on
//! start-up embed [`Migrator`] directly, and get the same guarantees: the pins of
//! `godwit.lock`, the packs' grants and the migration lock are all enforced here.
//!
//! ```no_run
//! # fn main() -> Result<(), godwit::Error> {
//! let migrator = godwit::Migrator::load("migrations")?;
//! let mut db = godwit::connect("sqlite:app.db", &godwit::ConnectOptions::default())?;
//! migrator.run(&mut db, &godwit::Request::up(), &mut godwit::NoReport)?;
//! # Ok(())
//! # }
//! ```
//!
//! The rooms, and the way the arrows point: [`Migrator`] (`migrator`) is the algorithm; it
//! reads a [`source`], plans with the pure [`plan()`] and [`status()`], keeps the [`history`]
//! table through a [`driver`], runs components in the [`wasm`] sandbox, and checks
//! [`lock_file`] pins and [`pack`] grants. Nothing here prints or knows about a terminal.

mod checksum;
pub mod contract;
pub mod driver;
mod error;
pub mod guest_build;
pub mod history;
pub mod lock_file;
mod migration;
mod migrator;
pub mod pack;
mod plan;
mod report;
pub mod source;
mod status;
mod stream;
mod text;
pub mod transforms;
mod version;
pub mod wasm;

pub use checksum::Checksum;
pub use driver::{
    ConnectOptions, Connection, DbError, Dialect, Driver, ParamRows, Rows, Value, connect,
    connect_changes_nothing,
};
pub use error::{BeyondGrant, Error, GuestFailure, MigrationFailure};
pub use history::{AppliedMigration, NewRecord, RecordState};
pub use migration::{
    DownFile, DownFileError, DownRead, Key, Kind, Migration, Refusal, Script, SqlScript, Statement,
    WasmScript,
};
pub use migrator::{
    AdoptRequest, Adoption, Loader, Migrator, Relock, RepairAction, Report, Request, StepReport,
    Worked,
};
pub use pack::Pack;
pub use plan::{Action, DownTarget, PackOrder, Plan, PlanError, Step, Target, plan};
pub use report::{Event, NoReport, Reporter};
pub use source::{DirSource, Format, MigrationSource, SourceEvent};
pub use status::{Entry, EntryState, Problem, problems, status};
pub use stream::Stream;
pub use transforms::{
    BatchPolicy, Control, Throttle, ThrottleReason, TransformError, TransformRow, TransformState,
};
pub use version::{Version, VersionError};

/// The version of godwit recorded in every history row it writes.
pub const GODWIT_VERSION: &str = env!("CARGO_PKG_VERSION");
