//! A database to build on and throw away: for PostgreSQL a database created on the target's
//! server (`CREATE DATABASE`, which needs `CREATEDB`) and dropped after, for SQLite a file in
//! a temporary directory; or one the user names (`--dev-url`), which must be empty. The
//! trace and drift build the migrations' schema there, never on the target.

use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Connection, Dialect, on_database};
use crate::error::Error;
use crate::schema::{Schema, SchemaError};

/// A scratch database; [`Scratch::discard`] drops what it created.
pub(crate) struct Scratch {
    pub url: String,
    /// The database created on the target's server, to drop at the end.
    created: Option<String>,
    /// The directory of a SQLite scratch file, removed with it.
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// A new scratch database beside the one `target` is connected to (`url`), or the
    /// user's `dev` database, which must hold nothing.
    pub fn new(
        target: &mut Connection,
        url: &str,
        dev: Option<&str>,
        options: &ConnectOptions,
    ) -> Result<Scratch, Error> {
        if let Some(dev) = dev {
            let mut db = connect(dev, options)?;
            let target = db.target().to_owned();
            let schema = Schema::read(db.driver()?)
                .map_err(|source| SchemaError::Read { target: target.clone(), source })?;
            let history = db.driver()?.own_query("SELECT 1 FROM godwit_history LIMIT 1", &[]);
            if !schema.objects.is_empty() || history.is_ok() {
                return Err(SchemaError::DevNotEmpty { target }.into());
            }
            return Ok(Scratch { url: dev.to_owned(), created: None, _dir: None });
        }
        match target.dialect() {
            Dialect::Sqlite => Scratch::sqlite(),
            _ => {
                let name = format!(
                    "godwit_scratch_{}_{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros())
                );
                let create = format!("CREATE DATABASE {name} TEMPLATE template0");
                let target_name = target.target().to_owned();
                target
                    .driver()?
                    .own_batch(&create)
                    .map_err(|source| SchemaError::Scratch { target: target_name, source })?;
                let url = on_database(url, &name).unwrap_or_default();
                Ok(Scratch { url, created: Some(name), _dir: None })
            }
        }
    }

    /// A SQLite file in a directory of its own, removed with it.
    pub fn sqlite() -> Result<Scratch, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::Database {
            context: "cannot make a directory for a scratch SQLite database".to_owned(),
            source: crate::driver::DbError::new(e.to_string()),
        })?;
        let url = format!("sqlite:{}", dir.path().join("scratch.db").display());
        Ok(Scratch { url, created: None, _dir: Some(dir) })
    }

    /// Opens the scratch database and applies to it what `applied` says the target has:
    /// every project migration up to the newest it applied, without linting.
    pub fn build(
        &self,
        migrator: &super::Migrator,
        applied: &[crate::history::AppliedMigration],
        options: &ConnectOptions,
    ) -> Result<Connection, Error> {
        let mut scratch = connect(&self.url, options)?;
        let newest = applied
            .iter()
            .filter(|a| a.stream == crate::stream::Stream::Project)
            .filter_map(|a| a.version)
            .max();
        if let Some(newest) = newest {
            let to = crate::plan::Target::Up { to: Some(newest), allow_out_of_order: true };
            let request = super::Request { target: to, lint: false, ..super::Request::up() };
            migrator.run(&mut scratch, &request, &mut crate::report::NoReport)?;
        }
        Ok(scratch)
    }

    /// The database created, if any (dropped by [`Scratch::discard`]).
    pub fn created(&self) -> Option<&str> {
        self.created.as_deref()
    }

    /// Drops the database created on the target's server (every connection to it must be
    /// closed, or is ended).
    pub fn discard(self, target: &mut Connection) -> Result<(), Error> {
        let Some(name) = self.created else { return Ok(()) };
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let target_name = target.target().to_owned();
        target.driver()?.own_batch(&drop).map_err(|source| Error::Database {
            context: format!(
                "cannot drop the scratch database {name} on {target_name}: drop it by hand"
            ),
            source,
        })
    }
}
