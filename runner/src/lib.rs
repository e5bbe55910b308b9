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
//! The root holds what an application that migrates needs; each item has one path. The rooms,
//! and the way the arrows point: [`Migrator`] is the algorithm; it reads a [`source`], plans
//! with the pure [`plan`] and [`status`] functions, keeps the [`history`] table through a
//! [`driver`], runs components in the [`wasm`] sandbox, and checks [`lock_file`] pins and
//! [`pack`] grants. Nothing here prints or knows about a terminal (docs/internals.md).

mod checksum;
pub mod contract;
pub mod driver;
mod error;
pub mod fleet;
pub mod guest_build;
pub mod history;
pub mod lint;
pub mod lock_file;
pub mod locks;
pub mod migration;
mod migrator;
pub mod pack;
pub mod plan;
mod report;
mod run;
pub mod schema;
pub mod source;
pub mod status;
mod stream;
mod text;
pub mod transforms;
mod version;
pub mod wasm;

pub use checksum::Checksum;
pub use driver::connection::{ConnectOptions, Connection, connect, connect_changes_nothing};
pub use error::{BeyondGrant, Error, GuestFailure, MigrationFailure};
pub use migrator::{
    AdoptRequest, Adoption, Drift, Drifted, Loader, Migrator, PlannedStatement, Relock,
    RepairAction, Report, Request, Squash, StepReport, TransformMode, Verification, Verified,
    Worked,
};
pub use report::{Event, NoReport, Reporter};
pub use stream::Stream;
pub use version::{Version, VersionError};

/// The version of godwit recorded in every history row it writes.
pub const GODWIT_VERSION: &str = env!("CARGO_PKG_VERSION");
