//! Drift: the schema a database has, against the schema its applied migrations produce when
//! they are run on a scratch database (created beside it and dropped, or the user's empty dev
//! database), object by object.

use super::Migrator;
use super::scratch::Scratch;
use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Connection};
use crate::error::Error;
use crate::schema::{Difference, Schema, SchemaError, differences};

/// What drift found.
#[derive(Clone, Debug)]
pub struct Drift {
    pub differences: Vec<Difference>,
    /// The scratch database the migrations were built in (dropped since), if one was created.
    pub scratch_database: Option<String>,
}

impl Migrator {
    /// The schema of the database at `url` against the one its applied migrations produce,
    /// built on a scratch database (`dev`: the user's, which must be empty). The target is
    /// only read.
    pub fn drift(
        &self,
        url: &str,
        options: &ConnectOptions,
        dev: Option<&str>,
    ) -> Result<Drift, Error> {
        let mut conn = connect(url, options)?;
        let applied = self.history(&mut conn)?;
        if applied.is_empty() {
            return Err(SchemaError::NeverMigrated { target: conn.target().to_owned() }.into());
        }
        let actual = read(&mut conn)?;
        let scratch = Scratch::new(&mut conn, url, dev, options)?;
        let expected =
            scratch.build(self, &applied, options).and_then(|mut built| read(&mut built));
        let name = scratch.created().map(str::to_owned);
        let dropped = scratch.discard(&mut conn);
        let expected = expected?;
        dropped?;
        Ok(Drift { differences: differences(&actual, &expected), scratch_database: name })
    }
}

/// The schema of the database `conn` is connected to.
pub(crate) fn read(conn: &mut Connection) -> Result<Schema, Error> {
    let target = conn.target().to_owned();
    Ok(Schema::read(conn.driver()?).map_err(|source| SchemaError::Read { target, source })?)
}
