//! The guest side of godwit: write a migration in Rust, compile it for `wasm32-wasip2`, and
//! godwit runs it in its sandbox. The bindings are generated once, here, from `wit/`.
//!
//! ```ignore
//! use godwit_sdk::{Migration, params, sql};
//!
//! struct AddEmail;
//!
//! impl Migration for AddEmail {
//!     fn description() -> String { "add users.email".into() }
//!     fn up() -> godwit_sdk::Result<()> {
//!         sql::execute("ALTER TABLE users ADD COLUMN email TEXT", params![])?;
//!         Ok(())
//!     }
//!     fn down() -> godwit_sdk::Result<()> {
//!         sql::execute("ALTER TABLE users DROP COLUMN email", params![])?;
//!         Ok(())
//!     }
//! }
//!
//! godwit_sdk::migration!(AddEmail);
//! ```

/// The generated bindings of `godwit:migration`; the `migration!` macro uses them.
#[allow(missing_debug_implementations, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "migration-component",
        pub_export_macro: true,
        // Parameters borrow the guest's strings instead of copying them into owned values.
        ownership: Borrowing { duplicate_if_necessary: true },
        default_bindings_module: "godwit_sdk::bindings",
    });
}

mod set;
pub mod sql;
mod value;

pub use bindings::exports::godwit::migration::migration::{BatchProgress, Descriptor};
pub use bindings::godwit::migration::types::{Dialect, ValueParam as Param, ValueResult as Value};
pub use value::{FromValue, Row, Rows};

/// An error a migration returns: godwit fails the migration with this message and rolls its
/// transaction back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error(message.to_owned())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One migration. Only `up` is required; the defaults describe an irreversible, unbatched
/// migration.
pub trait Migration {
    fn description() -> String {
        String::new()
    }
    /// Whether `down` undoes `up`. Defaults to whether `down` was written, which the
    /// `migration!` macro cannot see, so say `true` when you implement `down`.
    fn reversible() -> bool {
        false
    }
    fn up() -> Result<()>;
    fn down() -> Result<()> {
        Err(Error("this migration cannot be reverted".to_owned()))
    }
    /// For batched migrations: process up to `batch_size` rows after `cursor` and say where
    /// to go on. godwit commits each batch with the returned cursor.
    fn transform(_cursor: Option<String>, _batch_size: u32) -> Result<BatchProgress> {
        Ok(BatchProgress { next_cursor: None, processed: 0, estimated_total: None })
    }
    fn batched() -> bool {
        false
    }
    /// How godwit should run this migration: defer its transform to a worker, size its
    /// batches, finish other transforms first. The default asks for nothing.
    fn options() -> Options {
        Options::default()
    }
}

/// How a migration asks to be run; godwit reads it when it loads the migration.
///
/// ```ignore
/// fn options() -> godwit_sdk::Options {
///     godwit_sdk::Options {
///         defer_transform: true,
///         batch_target: Some(std::time::Duration::from_millis(100)),
///         requires: vec!["0007".into()],
///         ..Default::default()
///     }
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Queue the transform for `godwit transforms run` instead of running it inside
    /// `godwit up`.
    pub defer_transform: bool,
    /// How long each batch should take; `None`: the run's setting.
    pub batch_target: Option<std::time::Duration>,
    /// The smallest and largest batch, in rows; `None`: the run's.
    pub batch_min: Option<u32>,
    pub batch_max: Option<u32>,
    /// Batched migrations (`"0007"`, or a file name) whose transforms must be finished
    /// before this migration runs.
    pub requires: Vec<String>,
}

/// Passes a migration's [`Options`] to godwit, from `describe`; the `migration!` macro calls
/// it. Default options are not sent, so godwit's defaults apply.
#[doc(hidden)]
pub fn declare(options: Options) {
    if options == Options::default() {
        return;
    }
    use bindings::godwit::migration::options as wit;
    let millis = |d: std::time::Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    let requires: Vec<&str> = options.requires.iter().map(String::as_str).collect();
    wit::declare(wit::RunOptions {
        defer_transform: options.defer_transform,
        batch_target_ms: options.batch_target.map(millis),
        batch_min: options.batch_min,
        batch_max: options.batch_max,
        requires: &requires,
    });
}

/// Exports a [`Migration`] implementation as the component's `migration` interface.
#[macro_export]
macro_rules! migration {
    ($ty:ident) => {
        impl $crate::bindings::exports::godwit::migration::migration::Guest for $ty {
            fn describe() -> $crate::Descriptor {
                $crate::declare(<$ty as $crate::Migration>::options());
                $crate::Descriptor {
                    description: <$ty as $crate::Migration>::description(),
                    reversible: <$ty as $crate::Migration>::reversible(),
                    batched: <$ty as $crate::Migration>::batched(),
                }
            }
            fn up() -> ::std::result::Result<(), ::std::string::String> {
                <$ty as $crate::Migration>::up().map_err(|e| e.0)
            }
            fn down() -> ::std::result::Result<(), ::std::string::String> {
                <$ty as $crate::Migration>::down().map_err(|e| e.0)
            }
            fn transform(
                cursor: ::std::option::Option<::std::string::String>,
                batch_size: u32,
            ) -> ::std::result::Result<$crate::BatchProgress, ::std::string::String> {
                <$ty as $crate::Migration>::transform(cursor, batch_size).map_err(|e| e.0)
            }
        }
        $crate::bindings::export!($ty with_types_in $crate::bindings);
    };
}

/// Log lines, shown by godwit with `--verbose` and kept with a failed migration's error.
pub mod log {
    use crate::bindings::godwit::migration::log::{Level, log};

    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}
