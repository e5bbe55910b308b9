//! What SQLite's authorizer lets a migration's statements do: never change `godwit_history`,
//! and, during a pack's step, nothing beyond the pack's grant (see docs/packs.md).

use super::{SqliteDriver, db_error};
use crate::driver::DbError;
use crate::driver::{Access, Grant};
use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Statements of migrations (SQL files and guests alike) may not touch `godwit_history`:
/// while `on`, SQLite's authorizer denies any change to it as the statement is prepared, and
/// remembers what it denied for the error message. godwit's own history statements run
/// with the guard off. While a pack's step runs, the authorizer allows only what the pack's
/// grant allows.
///
/// SQLite authorizes a statement when it is prepared, so the statement cache is flushed
/// whenever the rules change: a statement prepared under one set of rules never runs under
/// another.
#[derive(Debug, Clone, Default)]
pub(super) struct Guard {
    on: Arc<AtomicBool>,
    pub(super) pack: Arc<Mutex<Option<(String, Grant)>>>,
    denied: Arc<Mutex<Option<String>>>,
    /// Whether the last denial was of a statement inside a trigger or a view.
    denied_inside: Arc<AtomicBool>,
}

impl Guard {
    pub(super) fn authorize(&self, context: AuthContext<'_>) -> Authorization {
        if !self.on.load(Ordering::Relaxed) {
            return Authorization::Allow;
        }
        let by = context.accessor.map(|t| format!(" (through {t})")).unwrap_or_default();
        let pack = self.pack.lock().unwrap_or_else(PoisonError::into_inner);
        let message = match &*pack {
            Some((name, grant)) => pack_denies(grant, &context.action).map(|what| {
                format!("pack `{name}` was denied {what}{by}: its grant is {}", grant_text(grant))
            }),
            None => history_denies(&context.action).map(|what| {
                format!("a migration may not change godwit's history table: {what}{by} was denied")
            }),
        };
        drop(pack);
        let Some(message) = message else {
            return Authorization::Allow;
        };
        *self.denied.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
        self.denied_inside.store(context.accessor.is_some(), Ordering::Relaxed);
        Authorization::Deny
    }
}

/// How SQLite applies a grant, for messages.
fn grant_text(grant: &Grant) -> String {
    let reads = match grant.read.is_empty() {
        true => "no other tables".to_owned(),
        false => grant.read.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    };
    format!("{} on tables named `{}*`, and reading {reads}", grant.access.as_str(), grant.prefix)
}

/// What a statement of the project's own migrations would change in the history, if anything.
fn history_denies(action: &AuthAction<'_>) -> Option<String> {
    let (what, table) = match *action {
        AuthAction::Insert { table_name } => ("INSERT INTO", table_name),
        AuthAction::Update { table_name, .. } => ("UPDATE of", table_name),
        AuthAction::Delete { table_name } => ("DELETE FROM", table_name),
        AuthAction::DropTable { table_name } => ("DROP TABLE", table_name),
        AuthAction::AlterTable { table_name, .. } => ("ALTER TABLE", table_name),
        AuthAction::CreateIndex { table_name, .. } => ("CREATE INDEX on", table_name),
        AuthAction::DropIndex { table_name, .. } => ("DROP INDEX on", table_name),
        AuthAction::CreateTrigger { table_name, .. }
        | AuthAction::CreateTempTrigger { table_name, .. } => ("CREATE TRIGGER on", table_name),
        AuthAction::DropTrigger { table_name, .. } => ("DROP TRIGGER on", table_name),
        _ => return None,
    };
    table.eq_ignore_ascii_case("godwit_history").then(|| format!("{what} godwit_history"))
}

/// Read-only pragmas that describe a table or an index; every other pragma is denied to packs.
const INTROSPECTION_PRAGMAS: &[&str] =
    &["table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"];

/// What a pack's statement does beyond its grant; `None` when the grant allows it.
fn pack_denies(grant: &Grant, action: &AuthAction<'_>) -> Option<String> {
    let owned = |table: &str| {
        table.len() >= grant.prefix.len()
            && table[..grant.prefix.len()].eq_ignore_ascii_case(&grant.prefix)
    };
    let readable = |table: &str| {
        owned(table)
            || grant.read.iter().any(|t| t.name.eq_ignore_ascii_case(table))
            || ["sqlite_schema", "sqlite_master", "sqlite_temp_schema", "sqlite_temp_master"]
                .iter()
                .any(|catalog| catalog.eq_ignore_ascii_case(table))
    };
    // SQLite names the indexes of PRIMARY KEY and UNIQUE constraints after their table.
    let owned_index =
        |index: &str| owned(index) || index.strip_prefix("sqlite_autoindex_").is_some_and(&owned);
    let ddl = grant.access == Access::Ddl;
    let write = grant.access != Access::Read;
    // CREATE, DROP and ALTER also ask to write the schema table; the statement itself is
    // authorized by its own action, and nothing else can write the schema table (the
    // `writable_schema` pragma is denied).
    let schema_table = |table: &str| {
        ["sqlite_master", "sqlite_temp_master"].iter().any(|t| t.eq_ignore_ascii_case(table))
    };
    let (allowed, what) = match *action {
        AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
            if ddl && schema_table(table_name) =>
        {
            return None;
        }
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => return None,
        AuthAction::Read { table_name, .. } => {
            (readable(table_name), format!("reading {table_name}"))
        }
        AuthAction::Insert { table_name } => {
            (write && owned(table_name), format!("INSERT INTO {table_name}"))
        }
        AuthAction::Update { table_name, .. } => {
            (write && owned(table_name), format!("UPDATE of {table_name}"))
        }
        AuthAction::Delete { table_name } => {
            (write && owned(table_name), format!("DELETE FROM {table_name}"))
        }
        AuthAction::CreateTable { table_name } | AuthAction::CreateTempTable { table_name } => {
            (ddl && owned(table_name), format!("CREATE TABLE {table_name}"))
        }
        AuthAction::DropTable { table_name } | AuthAction::DropTempTable { table_name } => {
            (ddl && owned(table_name), format!("DROP TABLE {table_name}"))
        }
        AuthAction::AlterTable { table_name, .. } => {
            (ddl && owned(table_name), format!("ALTER TABLE {table_name}"))
        }
        AuthAction::CreateIndex { index_name, table_name }
        | AuthAction::CreateTempIndex { index_name, table_name } => {
            // Indexes share the tables' namespace, so their names carry the prefix too.
            let allowed = ddl && owned(table_name) && owned_index(index_name);
            (allowed, format!("CREATE INDEX {index_name} on {table_name}"))
        }
        AuthAction::DropIndex { index_name, table_name }
        | AuthAction::DropTempIndex { index_name, table_name } => {
            (ddl && owned(table_name), format!("DROP INDEX {index_name} on {table_name}"))
        }
        AuthAction::CreateTrigger { trigger_name, table_name }
        | AuthAction::CreateTempTrigger { trigger_name, table_name } => {
            (ddl && owned(table_name), format!("CREATE TRIGGER {trigger_name} on {table_name}"))
        }
        AuthAction::DropTrigger { trigger_name, table_name }
        | AuthAction::DropTempTrigger { trigger_name, table_name } => {
            (ddl && owned(table_name), format!("DROP TRIGGER {trigger_name} on {table_name}"))
        }
        AuthAction::CreateView { view_name } | AuthAction::CreateTempView { view_name } => {
            (ddl && owned(view_name), format!("CREATE VIEW {view_name}"))
        }
        AuthAction::DropView { view_name } | AuthAction::DropTempView { view_name } => {
            (ddl && owned(view_name), format!("DROP VIEW {view_name}"))
        }
        AuthAction::Analyze { table_name } => (owned(table_name), format!("ANALYZE {table_name}")),
        AuthAction::Reindex { index_name } => {
            (ddl && owned_index(index_name), format!("REINDEX {index_name}"))
        }
        AuthAction::Pragma { pragma_name, pragma_value } => (
            INTROSPECTION_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name))
                && pragma_value.is_some_and(readable),
            format!("PRAGMA {pragma_name}"),
        ),
        AuthAction::Attach { filename } => (false, format!("ATTACH of {filename}")),
        AuthAction::Detach { database_name } => (false, format!("DETACH of {database_name}")),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            (false, "transaction control (godwit runs each step in its own transaction)".to_owned())
        }
        ref other => (false, format!("{other:?}")),
    };
    (!allowed).then_some(what)
}

impl Guard {
    /// Runs a migration's statement with the guard on.
    pub(super) fn run<T>(
        &self,
        conn: &Connection,
        body: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.on.store(true, Ordering::Relaxed);
        let result = body(conn);
        self.on.store(false, Ordering::Relaxed);
        let denied = self.denied.lock().unwrap_or_else(PoisonError::into_inner).take();
        result.map_err(|error| match denied {
            Some(message) => {
                DbError { message, code: Some("SQLITE_AUTH".to_owned()), position: None }
            }
            None => db_error(error),
        })
    }
}

impl SqliteDriver {
    /// Prepares (without running) an insert, an update of every column and a delete on each
    /// table or view that has a trigger, under the current confinement: SQLite codes the
    /// triggers that could fire into the statement and authorizes every statement of their
    /// bodies, so a trigger that would act beyond the grant is denied here.
    pub(super) fn audit_triggers(&self) -> Result<(), DbError> {
        let tables: Vec<String> = {
            let mut statement = self
                .conn
                .prepare(
                    "SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'trigger' \
                     UNION SELECT tbl_name FROM sqlite_temp_schema WHERE type = 'trigger'",
                )
                .map_err(db_error)?;
            let rows = statement.query_map([], |row| row.get(0)).map_err(db_error)?;
            rows.collect::<Result<_, _>>().map_err(db_error)?
        };
        for table in tables {
            let columns: Vec<String> = {
                let mut statement = self
                    .conn
                    .prepare("SELECT name FROM pragma_table_info(?1)")
                    .map_err(db_error)?;
                let rows = statement.query_map([&table], |row| row.get(0)).map_err(db_error)?;
                rows.collect::<Result<_, _>>().map_err(db_error)?
            };
            let quoted = quote(&table);
            let set: Vec<String> =
                columns.iter().map(|c| format!("{} = {}", quote(c), quote(c))).collect();
            let mut probes = vec![
                format!("INSERT INTO {quoted} DEFAULT VALUES"),
                format!("DELETE FROM {quoted}"),
            ];
            if !set.is_empty() {
                probes.push(format!("UPDATE {quoted} SET {}", set.join(", ")));
            }
            for probe in probes {
                let prepared = self.guard.run(&self.conn, |conn| conn.prepare(&probe).map(drop));
                // Only a denial inside a trigger counts: the probe itself is never run, a
                // probe SQLite cannot prepare for other reasons (a view without an INSTEAD OF
                // trigger for it) has no trigger to check, and foreign-key checks of other
                // tables referencing this one are not the pack's doing.
                if let Err(error) = prepared
                    && error.code.as_deref() == Some("SQLITE_AUTH")
                    && self.guard.denied_inside.load(Ordering::Relaxed)
                {
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
