//! No migration may change `godwit_history`. A pack's role has no privilege on it; the
//! project's own migrations run as the table's owner, so the database cannot refuse them.
//! Instead, before godwit's first write to the history in each step's transaction (after the
//! migration's statements, before the commit), the table is compared with what godwit knows
//! it to be: the same relation, columns, owner, privileges, indexes, triggers, rules and
//! policies, the same storage (no TRUNCATE), as many rows as godwit left, and no row written
//! by this transaction (`age(xmin) <= 0` is a row version this transaction or one of its
//! subtransactions wrote). A difference fails the step, which rolls back.

use super::PostgresDriver;
use super::types::db_error;
use crate::driver::DbError;

/// The table's structure in one string, its storage, its rows, and the rows this
/// transaction wrote.
const SHAPE: &str = "SELECT concat_ws('|', c.oid, c.relowner, c.relacl, \
     c.relrowsecurity, c.relforcerowsecurity, \
     (SELECT string_agg(a.attname || ':' || a.atttypid || ':' || a.attnotnull, ',' ORDER BY a.attnum) \
      FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
     (SELECT string_agg(i.indexrelid::text, ',' ORDER BY i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid), \
     (SELECT string_agg(t.oid || t.tgenabled, ',' ORDER BY t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid), \
     (SELECT count(*) FROM pg_rewrite r WHERE r.ev_class = c.oid), \
     (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)), \
     c.relfilenode::bigint, \
     h.rows, h.mine \
     FROM pg_class c, (SELECT count(*) AS rows, count(*) FILTER (WHERE age(xmin) <= 0) AS mine \
     FROM {table}) h WHERE c.oid = to_regclass($1)";

/// What godwit knows the history table to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HistoryShape {
    structure: String,
    storage: i64,
    rows: i64,
}

impl PostgresDriver {
    /// The table now and the rows this transaction wrote; `None` when it is gone (then the
    /// transaction is aborted too, and the step rolls back anyway).
    fn history_now(&mut self) -> Result<Option<(HistoryShape, i64)>, DbError> {
        // Prepared once per connection: one round trip per step, not two.
        let statement = match self.prepare_cached(&SHAPE.replace("{table}", &self.table)) {
            Ok(statement) => statement,
            Err(e) if e.code.as_deref() == Some("42P01") => return Ok(None),
            Err(e) => return Err(e),
        };
        let row = match self.client.query_opt(&statement, &[&self.table]) {
            Ok(row) => row,
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => {
                return Ok(None);
            }
            Err(e) => return Err(db_error(&e)),
        };
        Ok(row.map(|row| {
            (
                HistoryShape { structure: row.get(0), storage: row.get(1), rows: row.get(2) },
                row.get(3),
            )
        }))
    }

    /// Remembers the table as the run finds it, before any migration runs.
    pub(super) fn remember_history(&mut self) -> Result<(), DbError> {
        self.history_known = self.history_now()?.map(|(shape, _)| shape);
        self.history_delta = 0;
        Ok(())
    }

    /// Called before each of godwit's own writes to the history; checks once per step.
    pub(super) fn verify_history(&mut self) -> Result<(), DbError> {
        if self.history_verified {
            return Ok(());
        }
        self.open_pending()?;
        let Some(expected) = self.history_known.clone() else {
            // Nothing ran before this write (a repair): what is there now is the reference.
            self.remember_history()?;
            self.history_verified = true;
            return Ok(());
        };
        let changed = match self.history_now()? {
            None => Some("the table is gone (dropped or renamed)".to_owned()),
            Some((now, _)) if now.structure != expected.structure => Some(
                "its definition changed (columns, owner, privileges, indexes, triggers, rules or policies)"
                    .to_owned(),
            ),
            Some((now, _)) if now.storage != expected.storage => Some(
                "its storage was replaced (TRUNCATE, VACUUM FULL, CLUSTER or a column type change)"
                    .to_owned(),
            ),
            Some((now, mine)) if now.rows != expected.rows || mine != 0 => Some(format!(
                "rows were written to it (rows: {} now, {} left by godwit, {mine} written by this step)",
                now.rows, expected.rows
            )),
            Some(_) => None,
        };
        if let Some(what) = changed {
            return Err(DbError {
                message: format!(
                    "a migration may not change godwit's history table: {what}; the step was rolled back"
                ),
                code: Some("42501".to_owned()),
                position: None,
            });
        }
        self.history_verified = true;
        Ok(())
    }

    /// Counts godwit's own inserts (+) and deletes (-) in the step's transaction.
    pub(super) fn history_written(&mut self, rows: i64) {
        self.history_delta += rows;
    }

    /// The step committed: its history writes are now what the table should have.
    pub(super) fn history_committed(&mut self) {
        if let Some(shape) = &mut self.history_known {
            shape.rows += self.history_delta;
        }
        self.history_delta = 0;
    }
}
