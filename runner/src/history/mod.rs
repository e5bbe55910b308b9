//! godwit's history table, `godwit_history`: one row per applied migration. Reading, creating,
//! upgrading and writing it is written once here for every database; a driver only runs the
//! statements ([`Driver::own_query`] and friends) and names the table, and `sql.rs` holds what
//! differs between dialects.
//!
//! Every row belongs to a stream: the project's own migrations or one pack's. Within a stream,
//! a versioned migration has at most one row, keyed by version; a repeatable one has at most
//! one row, keyed by name with a NULL version. `cursor` and `rows_done` belong to batched
//! migrations that commit many transactions before they count as applied.

pub mod adopt;
mod keep;
mod row;
mod sql;
mod write;

pub use self::keep::Keep;
pub use self::row::{AppliedMigration, RecordState};
pub use self::write::{NewRecord, forget, record, set_checksum, set_progress};

use self::sql::{COLUMNS, Sql};
use crate::driver::{DbError, Driver, Undefined};
use crate::migration::{Key, Migration};

/// Why godwit could not read or set up its history table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// A table with godwit's name that godwit did not create.
    #[error(
        "{table} in {target} is not godwit's history table: it has no {}",
        missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    )]
    Foreign { target: String, table: String, missing: Vec<String> },
    #[error("cannot read the history of {target}")]
    Read {
        target: String,
        #[source]
        source: DbError,
    },
    #[error("cannot create the history table in {target}")]
    Create {
        target: String,
        #[source]
        source: DbError,
    },
}

/// What the history table is, from its columns.
enum Shape {
    Missing,
    /// Written by a godwit from before packs: no `stream` column (nor `dotted_version`).
    WithoutStreams,
    /// Written by a godwit from before dotted versions: no `dotted_version` column.
    WithoutDotted,
    Current,
}

fn sql(db: &dyn Driver) -> Sql<'_> {
    Sql { dialect: db.dialect(), table: db.history_table() }
}

/// The table's shape, or the columns of godwit's it lacks.
fn shape(db: &mut dyn Driver) -> Result<Shape, HistoryError> {
    let target = db.target().to_owned();
    let query = sql(&*db).columns();
    let table = db.history_table().to_owned();
    let found = db
        .own_query(query, &[crate::driver::Value::Text(table.clone())])
        .map_err(|source| HistoryError::Read { target: target.clone(), source })?;
    let columns: Vec<String> = found
        .iter()
        .filter_map(|row| match row.first() {
            Some(crate::driver::Value::Text(name)) => Some(name.clone()),
            _ => None,
        })
        .collect();
    if columns.is_empty() {
        return Ok(Shape::Missing);
    }
    let missing: Vec<String> = COLUMNS
        .iter()
        .filter(|c| !matches!(**c, "stream" | "dotted_version"))
        .filter(|c| !columns.iter().any(|found| found == *c))
        .map(|c| (*c).to_owned())
        .collect();
    let has = |name: &str| columns.iter().any(|c| c == name);
    match (missing.is_empty(), has("stream"), has("dotted_version")) {
        (false, _, _) => Err(HistoryError::Foreign { target, table, missing }),
        (true, false, _) => Ok(Shape::WithoutStreams),
        (true, true, false) => Ok(Shape::WithoutDotted),
        (true, true, true) => Ok(Shape::Current),
    }
}

/// Every history row, in stream, then version, then name order; empty when the table does
/// not exist (nothing is created). Call it outside a step's transaction: a table that is not
/// there is told by the database's error, which would end the transaction.
pub fn read(db: &mut dyn Driver) -> Result<Vec<AppliedMigration>, HistoryError> {
    let read_error =
        |db: &dyn Driver, source| HistoryError::Read { target: db.target().to_owned(), source };
    // The table is read at once and a missing table or column told by the error: one query
    // less on every run, which a no-op run notices.
    let select = sql(&*db).select(true, true);
    let rows = match db.own_query(&select, &[]) {
        Ok(rows) => rows,
        Err(e) if e.undefined() == Some(Undefined::Table) => return Ok(Vec::new()),
        Err(e) if e.undefined() == Some(Undefined::Column) => {
            // Written by an older godwit: read as it is.
            let select = match shape(db)? {
                Shape::Missing => return Ok(Vec::new()),
                Shape::WithoutStreams => sql(&*db).select(false, false),
                Shape::WithoutDotted => sql(&*db).select(true, false),
                Shape::Current => return Err(read_error(&*db, e)),
            };
            db.own_query(&select, &[]).map_err(|e| read_error(&*db, e))?
        }
        Err(e) => return Err(read_error(&*db, e)),
    };
    let mut history = rows
        .iter()
        .map(row::decode)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(&*db, e))?;
    // Sorted here rather than by the database, whose collation rules would cost more than the
    // read itself and could order names differently from one database to the other.
    history.sort_by(|a, b| {
        (&a.stream, a.version.is_none(), a.version, &a.name).cmp(&(
            &b.stream,
            b.version.is_none(),
            b.version,
            &b.name,
        ))
    });
    Ok(history)
}

/// Creates the history table if it does not exist, and brings one written by an older godwit
/// up to date; then tells the driver the table is as godwit wants it.
pub fn ensure(db: &mut dyn Driver) -> Result<(), HistoryError> {
    let create_error =
        |db: &dyn Driver, source| HistoryError::Create { target: db.target().to_owned(), source };
    match shape(db)? {
        Shape::Current => {}
        Shape::Missing => create(db).map_err(|e| create_error(&*db, e))?,
        Shape::WithoutStreams => upgrade_streams(db).map_err(|e| create_error(&*db, e))?,
        Shape::WithoutDotted => {
            let upgrade = sql(&*db).upgrade_dotted();
            upgrade_with(db, &upgrade).map_err(|e| create_error(&*db, e))?
        }
    }
    db.history_ready().map_err(|e| create_error(&*db, e))
}

fn create(db: &mut dyn Driver) -> Result<(), DbError> {
    if let Some(schema) = db.history_schema().map(str::to_owned) {
        let exists =
            db.own_query(sql(&*db).schema_exists(), &[crate::driver::Value::Text(schema.clone())])?;
        if exists.is_empty() {
            db.own_batch(&format!("CREATE SCHEMA \"{}\"", schema.replace('"', "\"\"")))?;
        }
    }
    let create = sql(&*db).create();
    db.own_batch(&create)
}

fn upgrade_streams(db: &mut dyn Driver) -> Result<(), DbError> {
    let constraints = match sql(&*db).unique_constraints() {
        Some(query) => {
            let table = crate::driver::Value::Text(db.history_table().to_owned());
            let found = db.own_query(query, &[table])?;
            found
                .iter()
                .filter_map(|row| match row.first() {
                    Some(crate::driver::Value::Text(name)) => Some(name.clone()),
                    _ => None,
                })
                .collect()
        }
        None => Vec::new(),
    };
    let upgrade = sql(&*db).upgrade_streams(&constraints);
    upgrade_with(db, &upgrade)
}

/// Runs an upgrade, undoing what it did if it fails.
fn upgrade_with(db: &mut dyn Driver, upgrade: &str) -> Result<(), DbError> {
    db.own_batch(upgrade).inspect_err(|_| {
        let abandon = sql(&*db).abandon_upgrade();
        let _ = db.own_batch(abandon);
    })
}

impl AppliedMigration {
    pub fn key(&self) -> Key {
        match self.version {
            Some(version) => Key::Versioned(version),
            None => Key::Repeatable(self.name.clone()),
        }
    }

    /// How messages name a row whose file may be gone.
    pub fn label(&self) -> String {
        let label = match self.version {
            Some(version) => format!("{version}_{}", self.name),
            None => format!("R_{}", self.name),
        };
        self.stream.label(label)
    }

    /// Whether this row records `migration` (the same stream and key).
    pub fn records(&self, migration: &Migration) -> bool {
        self.stream == migration.stream && self.key() == migration.key
    }
}
