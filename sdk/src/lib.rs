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
}

/// Exports a [`Migration`] implementation as the component's `migration` interface.
#[macro_export]
macro_rules! migration {
    ($ty:ident) => {
        impl $crate::bindings::exports::godwit::migration::migration::Guest for $ty {
            fn describe() -> $crate::Descriptor {
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
