//! No migration may change `godwit_history`. A pack's role has no privilege on it; the
//! project's own migrations run as the table's owner, so the database cannot refuse them.
//! Instead, at the end of each step, before godwit's writes to the history, one statement
//! compares the table with what godwit knows it to be: the same relation, columns, owner,
//! privileges, indexes, triggers, rules and policies, the same storage (no `TRUNCATE`), and
//! no row written by the step. A difference fails the step, which rolls back.
//!
//! The check costs the same whatever the history's size. Rows written are told by the
//! server's per-transaction counters of the table's inserts, updates and deletes, read when
//! the step began (into a setting local to its transaction) and again at its end. Where the
//! counters cannot tell (the step ran statements outside its transaction, `track_counts` is
//! off, or the step reset its settings), the check counts the rows instead, and it does when a
//! write was found, to say what changed: as many rows as godwit left, and none written by this
//! transaction (`age(xmin) <= 0` is a row version this transaction or one of its
//! subtransactions wrote). It guards against mistakes, not against a migration written to
//! defeat it, which as the table's owner could do anything.
//!
//! A step ends in one round trip: the check, godwit's writes and the `COMMIT` are sent
//! together. PostgreSQL has no expression that raises an error of one's own, so the check
//! fails by casting its finding to an integer; the error, which quotes the text, is turned
//! back into the finding here.

use super::PostgresDriver;
use super::client::Request;
use super::types::{Param, as_sql, db_error};
use crate::driver::DbError;
use crate::history::{HistoryWrite, WriteKind};

/// The table's structure in one string; `c` is its `pg_class` row.
const STRUCTURE: &str = "concat_ws('|', c.oid, c.relowner, c.relacl, \
     c.relrowsecurity, c.relforcerowsecurity, \
     (SELECT string_agg(a.attname || ':' || a.atttypid || ':' || a.attnotnull, ',' ORDER BY a.attnum) \
      FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
     (SELECT string_agg(i.indexrelid::text, ',' ORDER BY i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid), \
     (SELECT string_agg(t.oid || t.tgenabled, ',' ORDER BY t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid), \
     (SELECT count(*) FROM pg_rewrite r WHERE r.ev_class = c.oid), \
     (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid))";

/// Inserts, updates and deletes of the table so far in this transaction; `{oid}` is its oid.
const WRITES: &str = "(pg_stat_get_xact_tuples_inserted({oid}) + \
     pg_stat_get_xact_tuples_updated({oid}) + pg_stat_get_xact_tuples_deleted({oid}))";

/// The setting, local to a step's transaction, that holds [`WRITES`] as the step began.
const BASELINE: &str = "godwit.history_writes";

/// What godwit knows the history table to be: its structure, storage and row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HistoryShape {
    structure: String,
    storage: i64,
    rows: i64,
}

impl PostgresDriver {
    /// What opens a step's transaction: no WAL flush at its commit (see `sync`), and the
    /// history's write counters as the step begins.
    pub(super) fn begin_sql(table: &str) -> String {
        let writes = WRITES.replace("{oid}", "h.oid");
        format!(
            "BEGIN; SET LOCAL synchronous_commit TO off; \
             SELECT set_config('{BASELINE}', coalesce((SELECT {writes}::text \
             FROM (SELECT to_regclass({table}) AS oid) h WHERE h.oid IS NOT NULL), ''), true); ",
            table = super::types::literal(table)
        )
    }

    /// The check: `$1` the structure, `$2` the storage, `$3` the rows godwit left, `$4`
    /// whether to count the rows whatever the counters say, `$5` the table's name. It returns
    /// 0, or fails with its finding.
    pub(super) fn check_sql(table: &str) -> String {
        let writes = WRITES.replace("{oid}", "c.oid");
        format!(
            "SELECT CASE WHEN finding IS NULL THEN 0 \
             ELSE ('godwit-history-check[' || finding || ']')::int END FROM (SELECT CASE \
             WHEN c.oid IS NULL THEN 'gone' \
             WHEN {STRUCTURE} IS DISTINCT FROM $1 THEN 'definition' \
             WHEN c.relfilenode::bigint <> $2 THEN 'storage' \
             WHEN CASE WHEN $4 OR NOT current_setting('track_counts')::bool THEN true \
               WHEN nullif(current_setting('{BASELINE}', true), '') IS NULL THEN true \
               ELSE {writes} <> current_setting('{BASELINE}')::bigint END \
             THEN (SELECT CASE WHEN count(*) <> $3 OR count(*) FILTER (WHERE age(xmin) <= 0) <> 0 \
               THEN 'rows:' || count(*) || ':' || count(*) FILTER (WHERE age(xmin) <= 0) END \
               FROM {table}) \
             END AS finding FROM (SELECT to_regclass($5) AS oid) t \
             LEFT JOIN pg_class c ON c.oid = t.oid) checked"
        )
    }

    /// Remembers the table as the run finds it, before any migration runs; counting its rows
    /// is the one part that grows with the history, once per run.
    pub(super) fn remember_history(&mut self) -> Result<(), DbError> {
        self.open_pending()?;
        let sql = format!(
            "SELECT {STRUCTURE}, c.relfilenode::bigint, (SELECT count(*) FROM {table}) \
             FROM pg_class c WHERE c.oid = to_regclass($1)",
            table = self.table
        );
        let found = match self.client.query_opt(sql.as_str(), &[&self.table]) {
            Ok(found) => found,
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => None,
            Err(e) => return Err(db_error(&e)),
        };
        self.history_known = found.map(|row| HistoryShape {
            structure: row.get(0),
            storage: row.get(1),
            rows: row.get(2),
        });
        Ok(())
    }

    /// Ends a step in one round trip: the check, godwit's writes and the commit.
    pub(super) fn finish_step(&mut self, writes: &[HistoryWrite]) -> Result<(), DbError> {
        if self.history_known.is_none() {
            // Nothing ran before this write (a repair): what is there now is the reference.
            self.remember_history()?;
        }
        let Some(known) = self.history_known.clone() else {
            return Err(DbError::new("godwit's history table does not exist"));
        };
        // Preparing the check fails when the table is gone.
        let check = self.prepare_cached(&self.check.clone()).map_err(|e| finding(e, known.rows))?;
        let statements = writes
            .iter()
            .map(|write| self.prepare_cached(write.sql()))
            .collect::<Result<Vec<_>, _>>()?;
        let begin = std::mem::take(&mut self.begin_pending).then(|| self.begin.clone());
        let full = std::mem::take(&mut self.untracked);
        let check_params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
            [&known.structure, &known.storage, &known.rows, &full, &self.table];
        let write_params: Vec<Vec<Param<'_>>> =
            writes.iter().map(|w| w.params().iter().map(Param).collect()).collect();
        let write_params: Vec<Vec<&(dyn tokio_postgres::types::ToSql + Sync)>> =
            write_params.iter().map(|params| as_sql(params)).collect();
        let client = self.client.requests();
        let mut requests: Vec<Request<'_>> = Vec::new();
        if let Some(begin) = &begin {
            requests.push(Box::pin(async move { client.batch_execute(begin).await.map(|()| 0) }));
        }
        let check_at = requests.len();
        requests
            .push(Box::pin(async move { client.query(&check, &check_params).await.map(|_| 0) }));
        for (statement, params) in statements.iter().zip(&write_params) {
            requests.push(Box::pin(async move { client.execute(statement, params).await }));
        }
        requests.push(Box::pin(async move { client.batch_execute("COMMIT").await.map(|()| 0) }));
        let answers = self.client.pipeline(requests);
        // Whatever happened, the transaction is over: committed, or rolled back by the COMMIT
        // of an aborted transaction.
        self.in_step = false;
        let failed = answers
            .iter()
            .enumerate()
            .find_map(|(at, answer)| answer.as_ref().err().map(|error| (at, error)));
        if let Some((at, error)) = failed {
            let error = db_error(error);
            return Err(match at == check_at {
                true => finding(error, known.rows),
                false => error,
            });
        }
        let delta: i64 = writes
            .iter()
            .zip(&answers[check_at + 1..])
            .map(|(write, answer)| {
                let changed = answer.as_ref().map_or(0, |n| i64::try_from(*n).unwrap_or(0));
                match write.kind() {
                    WriteKind::Insert => changed,
                    WriteKind::Delete => -changed,
                    _ => 0,
                }
            })
            .sum();
        if let Some(shape) = &mut self.history_known {
            shape.rows += delta;
        }
        self.unsynced = true;
        Ok(())
    }
}

/// The check's failure as what changed, or the error as it is when it was not the check's.
fn finding(error: DbError, rows_left: i64) -> DbError {
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
