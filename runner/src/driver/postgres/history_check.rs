//! No migration may change `godwit_history`. A pack's role has no privilege on it; the
//! project's own migrations run as the table's owner, so the database cannot refuse them.
//! Instead, at the end of each step, before godwit's writes to the history, one statement
//! compares the table with what godwit knows it to be: the same relation, columns, owner,
//! privileges, indexes, triggers, rules and policies, the same storage (no `TRUNCATE`), and
//! no row written by the step. A difference fails the step, which rolls back.
//!
//! The check costs the same whatever the history's size, and little when nothing happened.
//! It comes in two forms:
//!
//! - The quick one, at the end of steps sent together (see `pipeline`), only tells whether
//!   anything may have changed: this transaction wrote a catalog row that describes the table
//!   (its `pg_class` row, its `pg_attribute` rows, a `pg_depend` row of an index, trigger,
//!   rule, policy or constraint on it), there are more or fewer of those than godwit left, its
//!   storage changed, or the server's per-transaction counters of the table's inserts, updates
//!   and deletes moved since the step began (read then into a setting local to its
//!   transaction) or cannot tell (`track_counts` off, the setting reset). Every change to the
//!   table does one of these. Such a step is rolled back and run again on its own, ending with
//!   the full check, which says what changed.
//! - The full one compares the whole definition with what godwit remembered when the run
//!   began, the storage, and, where the counters moved or cannot tell (also after statements
//!   that ran outside a transaction), the rows: as many as godwit left, and none written by
//!   this transaction (`age(xmin) <= 0` is a row version this transaction or one of its
//!   subtransactions wrote).
//!
//! The check guards against mistakes, not against a migration written to defeat it, which as
//! the table's owner could do anything.
//!
//! PostgreSQL has no expression that raises an error of one's own, so the check fails by
//! casting its finding to an integer; the error, which quotes the text, is turned back into
//! the finding here. Passing, it also records the step in a session setting (see `pipeline`).

use super::PostgresDriver;
use super::types::db_error;
use crate::driver::DbError;

/// The table's structure in one string; `c` is its `pg_class` row.
const STRUCTURE: &str = "concat_ws('|', c.oid, c.relowner, c.relacl, \
     c.relrowsecurity, c.relforcerowsecurity, \
     (SELECT string_agg(a.attname || ':' || a.atttypid || ':' || a.attnotnull, ',' ORDER BY a.attnum) \
      FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
     (SELECT string_agg(i.indexrelid::text, ',' ORDER BY i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid), \
     (SELECT string_agg(t.oid || t.tgenabled, ',' ORDER BY t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid), \
     (SELECT count(*) FROM pg_rewrite r WHERE r.ev_class = c.oid), \
     (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid))";

/// How many catalog rows depend on the table (its indexes, triggers, rules, policies,
/// constraints); `c` is its `pg_class` row. Dropping one of them removes a row.
const DEPENDS: &str = "(SELECT count(*) FROM pg_depend d \
     WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid)";

/// Whether this transaction wrote a catalog row describing the table, or removed one: `{n}`
/// is the parameter holding how many [`DEPENDS`] counted when godwit looked.
const CATALOG_WRITTEN: &str = "age(c.xmin) <= 0 \
     OR EXISTS (SELECT FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass \
         AND d.refobjid = c.oid AND age(d.xmin) <= 0) \
     OR EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND age(a.xmin) <= 0) \
     OR {DEPENDS} <> {n}";

/// Inserts, updates and deletes of the table so far in this transaction; `{oid}` is its oid.
const WRITES: &str = "(pg_stat_get_xact_tuples_inserted({oid}) + \
     pg_stat_get_xact_tuples_updated({oid}) + pg_stat_get_xact_tuples_deleted({oid}))";

/// The setting, local to a step's transaction, that holds [`WRITES`] as the step began.
const BASELINE: &str = "godwit.history_writes";

/// The session setting naming the last step whose check passed (see `pipeline`).
pub(super) const LAST_STEP: &str = "godwit.step";

/// What godwit knows the history table to be: its relation, structure, storage and row
/// count, and how many catalog rows depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HistoryShape {
    pub(super) oid: u32,
    pub(super) structure: String,
    pub(super) storage: i64,
    pub(super) rows: i64,
    pub(super) depends: i64,
}

/// Which check ends a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Whether anything may have changed (steps sent together).
    Quick,
    /// What changed, if anything (a step on its own).
    Full,
}

impl PostgresDriver {
    /// What opens a step's transaction: the history's write counters as the step begins
    /// (when godwit knows the table's oid).
    pub(super) fn begin_sql(oid: Option<u32>) -> String {
        match oid {
            Some(oid) => format!(
                "BEGIN; SELECT set_config('{BASELINE}', {}::text, true)",
                WRITES.replace("{oid}", &format!("{oid}::oid"))
            ),
            None => "BEGIN".to_owned(),
        }
    }

    /// A check. Parameters: `$1` the step's id, `$2` the table's name, `$3` the storage,
    /// `$4` how many catalog rows depend on the table, and for the full check `$5` the
    /// structure, `$6` the rows godwit left, `$7` whether to count the rows whatever the
    /// counters say. It returns 0 and how many catalog rows depend on the table now (naming
    /// the step in a session setting), or fails with its finding.
    pub(super) fn check_sql(table: &str, check: Check) -> String {
        let writes = WRITES.replace("{oid}", "c.oid");
        let rows = format!(
            "(SELECT CASE WHEN count(*) <> $6 OR count(*) FILTER (WHERE age(xmin) <= 0) <> 0 \
             THEN 'rows:' || count(*) || ':' || count(*) FILTER (WHERE age(xmin) <= 0) END \
             FROM {table})"
        );
        let moved = format!(
            "CASE WHEN NOT current_setting('track_counts')::bool THEN true \
             WHEN nullif(current_setting('{BASELINE}', true), '') IS NULL THEN true \
             ELSE {writes} <> current_setting('{BASELINE}')::bigint END"
        );
        let catalog = CATALOG_WRITTEN.replace("{DEPENDS}", DEPENDS).replace("{n}", "$4");
        let finding = match check {
            Check::Quick => format!(
                "CASE WHEN c.oid IS NULL THEN 'gone' \
                 WHEN c.relfilenode::bigint <> $3 OR {catalog} OR {moved} THEN 'suspect' END"
            ),
            Check::Full => format!(
                "CASE WHEN c.oid IS NULL THEN 'gone' \
                 WHEN $7 OR {catalog} THEN CASE \
                   WHEN {STRUCTURE} IS DISTINCT FROM $5 THEN 'definition' \
                   WHEN c.relfilenode::bigint <> $3 THEN 'storage' \
                   ELSE {rows} END \
                 WHEN c.relfilenode::bigint <> $3 THEN 'storage' \
                 WHEN {moved} THEN {rows} END"
            ),
        };
        // A quick check that passes found as many depending rows as godwit knew of.
        let depends = match check {
            Check::Quick => "$4",
            Check::Full => DEPENDS,
        };
        format!(
            "SELECT CASE WHEN finding IS NULL THEN 0 \
             ELSE ('godwit-history-check[' || finding || ']')::int END, \
             set_config('{LAST_STEP}', $1, false), depends FROM (SELECT {finding} AS finding, \
             {depends} AS depends FROM (SELECT to_regclass($2) AS oid) t \
             LEFT JOIN pg_class c ON c.oid = t.oid) checked"
        )
    }

    /// Remembers the table as the run finds it, before any migration runs; counting its rows
    /// is the one part that grows with the history, once per run.
    pub(super) fn remember_history(&mut self) -> Result<(), DbError> {
        self.open_pending()?;
        let sql = format!(
            "SELECT c.oid, {STRUCTURE}, c.relfilenode::bigint, (SELECT count(*) FROM {table}), \
             {DEPENDS} FROM pg_class c WHERE c.oid = to_regclass($1)",
            table = self.table
        );
        let found = match self.client.query_opt(sql.as_str(), &[&self.table]) {
            Ok(found) => found,
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => None,
            Err(e) => return Err(db_error(&e)),
        };
        self.history_known = found.map(|row| HistoryShape {
            oid: row.get(0),
            structure: row.get(1),
            storage: row.get(2),
            rows: row.get(3),
            depends: row.get(4),
        });
        self.begin = PostgresDriver::begin_sql(self.history_known.as_ref().map(|k| k.oid));
        Ok(())
    }
}

/// What the quick check says when something may have changed.
pub(super) const SUSPECT: &str = "godwit's history table may have changed in this step";

/// The check's failure as what changed, or the error as it is when it was not the check's.
pub(super) fn finding(error: DbError, rows_left: i64) -> DbError {
    let gone = "the table is gone (dropped or renamed)";
    let what = if error.code.as_deref() == Some("42P01") {
        gone.to_owned()
    } else {
        let Some(found) = error
            .message
            .split_once("godwit-history-check[")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(found, _)| found)
        else {
            return error;
        };
        match found.split(':').collect::<Vec<_>>()[..] {
            ["gone"] => gone.to_owned(),
            ["suspect"] => return DbError::with_code(SUSPECT, "42501"),
            ["definition"] => "its definition changed (columns, owner, privileges, indexes, \
                               triggers, rules or policies)"
                .to_owned(),
            ["storage"] => "its storage was replaced (TRUNCATE, VACUUM FULL, CLUSTER or a \
                            column type change)"
                .to_owned(),
            ["rows", now, mine] => format!(
                "rows were written to it (rows: {now} now, {rows_left} left by godwit, {mine} \
                 written by this step)"
            ),
            _ => return error,
        }
    };
    DbError::with_code(
        format!(
            "a migration may not change godwit's history table: {what}; the step was rolled back"
        ),
        "42501",
    )
}
