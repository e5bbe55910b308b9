//! The schema a database has, read from its catalog and normalised so that two databases
//! built by the same migrations compare equal: every object (table, column, constraint,
//! index, view, function, trigger, type, sequence, extension, comment, grant, policy) with
//! its kind, its name and its definition as SQL, in a stable order. One reader per dialect;
//! the dump (`godwit schema dump`) prints the definitions, and drift compares two schemas
//! object by object. godwit's own tables and other tools' history tables are left out.

mod diff;
mod dump;
mod postgres;
mod sqlite;

pub use diff::{Difference, differences};

use crate::driver::{DbError, Dialect, Driver};
use std::fmt;

/// What an object is. The order is the dump's: each kind is created after the kinds it may
/// depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    Schema,
    Extension,
    Type,
    Domain,
    Sequence,
    Table,
    Column,
    Constraint,
    SequenceOwner,
    ForeignKey,
    Index,
    Function,
    View,
    MaterializedView,
    Trigger,
    Policy,
    RowSecurity,
    Comment,
    Grant,
}

impl Kind {
    /// How messages name it: `index`, `foreign key`.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Schema => "schema",
            Kind::Extension => "extension",
            Kind::Type => "type",
            Kind::Domain => "domain",
            Kind::Sequence => "sequence",
            Kind::Table => "table",
            Kind::Column => "column",
            Kind::Constraint => "constraint",
            Kind::SequenceOwner => "sequence owner",
            Kind::ForeignKey => "foreign key",
            Kind::Index => "index",
            Kind::Function => "function",
            Kind::View => "view",
            Kind::MaterializedView => "materialized view",
            Kind::Trigger => "trigger",
            Kind::Policy => "policy",
            Kind::RowSecurity => "row-level security",
            Kind::Comment => "comment",
            Kind::Grant => "grant",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// One object of the schema.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Object {
    pub kind: Kind,
    /// Its name, qualified where it belongs to something: `orders`, `orders.total`,
    /// `shop.orders_pkey`, `comment on column orders.total`.
    pub name: String,
    /// What it is, as SQL: a column's `numeric(12,2) NOT NULL DEFAULT 0`, an index's
    /// `CREATE INDEX ...`. Two objects are the same when their definitions are.
    pub definition: String,
    /// The statement that creates it in a dump; empty for what another object's statement
    /// creates (a table's columns and constraints are in its `CREATE TABLE`).
    pub create: String,
    /// Where it comes among objects of its kind before the name decides: views in the order
    /// they were created, as one may select from another.
    #[serde(skip)]
    pub position: usize,
}

impl Object {
    pub(crate) fn new(kind: Kind, name: String, definition: String, create: String) -> Object {
        Object { kind, name, definition, create, position: 0 }
    }
}

/// A database's schema: its objects in the dump's order, and what it holds that the model
/// does not read (named, so that nothing is skipped without saying so).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Schema {
    pub dialect: Option<Dialect>,
    pub objects: Vec<Object>,
    /// Objects of kinds godwit does not read: `aggregate shop.median(numeric)`.
    pub unsupported: Vec<String>,
}

impl Schema {
    /// Reads the schema of the database `db` is connected to.
    pub fn read(db: &mut dyn Driver) -> Result<Schema, DbError> {
        let dialect = db.dialect();
        let (mut objects, mut unsupported) = match dialect {
            Dialect::Postgres => postgres::read(db)?,
            Dialect::Sqlite => sqlite::read(db)?,
        };
        objects.sort_by(|a, b| (a.kind, a.position, &a.name).cmp(&(b.kind, b.position, &b.name)));
        objects.dedup_by(|a, b| a.kind == b.kind && a.name == b.name);
        unsupported.sort();
        Ok(Schema { dialect: Some(dialect), objects, unsupported })
    }

    /// The schema as SQL: deterministic, readable, and (for what the model reads) runnable on
    /// an empty database of the same dialect.
    pub fn dump(&self) -> String {
        dump::dump(self)
    }

    pub fn get(&self, kind: Kind, name: &str) -> Option<&Object> {
        self.objects.iter().find(|o| o.kind == kind && o.name == name)
    }
}

/// Why a schema could not be read or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    #[error("cannot read the schema of {target}")]
    Read {
        target: String,
        #[source]
        source: DbError,
    },
    #[error("cannot create a scratch database on {target} to build the migrations' schema in")]
    Scratch {
        target: String,
        #[source]
        source: DbError,
    },
    /// The dev database given to build the migrations' schema in holds something already.
    #[error(
        "the dev database {target} is not empty: the migrations' schema is built in an empty one"
    )]
    DevNotEmpty { target: String },
    /// Drift compares a database with what its applied migrations produce: one godwit has
    /// never migrated has none.
    #[error("{target} has no godwit history: godwit has never migrated it")]
    NeverMigrated { target: String },
    /// `godwit squash` cannot replace these migrations by a baseline; nothing was written.
    #[error("cannot squash the migrations: {reason}")]
    Squash { reason: String },
}

/// The tables of godwit and of the tools whose folders it runs: history, not schema.
pub(crate) fn is_bookkeeping(table: &str) -> bool {
    let bare = table.rsplit('.').next().unwrap_or(table);
    bare == "godwit_history"
        || bare == "godwit_transforms"
        || crate::source::Format::ALL
            .iter()
            .any(|f| crate::history::adopt::default_table(*f) == bare)
}
