//! Drift: the schema a database has, against the schema its applied migrations produce when
//! they are run on a scratch database (created beside it and dropped, or the user's empty dev
//! database), object by object.

use super::Migrator;
use super::scratch::Scratch;
use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Connection, Dialect};
use crate::error::Error;
use crate::schema::{Difference, Schema, SchemaError, differences};
use crate::stream::Stream;

/// What drift found.
#[derive(Clone, Debug)]
pub struct Drift {
    pub differences: Vec<Drifted>,
    /// The scratch database the migrations were built in (dropped since), if one was created.
    pub scratch_database: Option<String>,
}

/// One difference, and the stream whose objects it is about: a pack's when the object is in
/// the schema (PostgreSQL) or under the table prefix (SQLite) its grant owns, else the
/// project's.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Drifted {
    #[serde(serialize_with = "stream_name")]
    pub stream: Stream,
    #[serde(flatten)]
    pub difference: Difference,
}

/// `project`, or the pack's name.
fn stream_name<S: serde::Serializer>(stream: &Stream, serializer: S) -> Result<S::Ok, S::Error> {
    match stream {
        Stream::Project => serializer.serialize_str("project"),
        Stream::Pack(name) => serializer.serialize_str(name),
    }
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
        let dialect = conn.dialect();
        let differences = differences(&actual, &expected)
            .into_iter()
            .map(|difference| Drifted { stream: self.owner(&difference, dialect), difference })
            .collect();
        Ok(Drift { differences, scratch_database: name })
    }

    /// The stream whose object a difference is about.
    fn owner(&self, difference: &Difference, dialect: Dialect) -> Stream {
        let name = match difference {
            Difference::Extra { name, .. }
            | Difference::Missing { name, .. }
            | Difference::Changed { name, .. } => name.as_str(),
            Difference::Unsupported { object } => object.as_str(),
        };
        // `on table billing.invoices to app`, `billing_invoices.total`: the object's words.
        let owns = |pack: &crate::pack::Pack| {
            name.split([' ', '(']).any(|word| match dialect {
                Dialect::Postgres => word.starts_with(&format!("{}.", pack.grant.schema)),
                Dialect::Sqlite => word.starts_with(&pack.grant.prefix),
            })
        };
        match self.packs.iter().find(|pack| owns(pack)) {
            Some(pack) => Stream::Pack(pack.name.clone()),
            None => Stream::Project,
        }
    }
}

/// The schema of the database `conn` is connected to.
pub(crate) fn read(conn: &mut Connection) -> Result<Schema, Error> {
    let target = conn.target().to_owned();
    Ok(Schema::read(conn.driver()?).map_err(|source| SchemaError::Read { target, source })?)
}
