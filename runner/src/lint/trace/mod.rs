//! The lock plan checked against the server: the pending migrations' statements run on
//! PostgreSQL, either in one transaction that is rolled back or committed on a scratch
//! database, and after each one `pg_locks` says which relation locks it took and `pg_class`
//! which relations it rewrote (a new file). Each statement's locks are compared with what
//! the plan ([`super::locks_taken`]) says it takes (docs/safe-migrations.md).

mod agree;
mod observe;
mod snapshot;

use super::takes::{Lock, locks_taken};
use crate::driver::{DbError, Driver};
use crate::migration::Statement;
use snapshot::{Held, Relations};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a trace ran, and where.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The scratch database it ran on (dropped since), or `None`: the target, in a
    /// transaction that was rolled back.
    pub scratch_database: Option<String>,
    pub statements: Vec<TracedStatement>,
}

/// One statement of a trace: what the plan said it takes, what it took, and whether they
/// agree.
#[derive(Clone, Debug)]
pub struct TracedStatement {
    pub migration: String,
    pub path: PathBuf,
    /// Its line in the file (0 for a component migration, whose statements are not seen).
    pub line: usize,
    pub sql: String,
    /// The plan's locks, with the sizes of their relations before it ran.
    pub expected: Vec<Lock>,
    /// The relation locks it took that its transaction did not hold before it; `rewrites`:
    /// the relation has a new file after it.
    pub taken: Vec<Lock>,
    pub elapsed: Duration,
    /// How long its locks were held: until its migration's transaction ended (the statement
    /// alone outside a transaction).
    pub held: Duration,
    pub outcome: Outcome,
    /// `None` when the locks it took agree with the plan; otherwise how they differ.
    pub disagrees: Option<String>,
}

/// What became of a statement in a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It ran in a transaction, and its locks were read after it.
    Ran,
    /// It ran outside a transaction, and another session read its locks while it ran.
    Observed,
    /// The server refused it (the trace stops there, as a run would).
    Failed(String),
    /// It was not run; why.
    NotTraced(String),
}

/// Why a trace could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    #[error(
        "lint --trace reads PostgreSQL's pg_locks; {target} is not a PostgreSQL database \
         (SQLite has no lock levels: a writer locks the whole database)"
    )]
    NotPostgres { target: String },
    #[error("cannot read the locks and relations of {target} during the trace")]
    Catalog {
        target: String,
        #[source]
        source: DbError,
    },
}

/// A migration's statements, as a run would send them.
pub(crate) struct Traced<'a> {
    pub label: &'a str,
    pub path: &'a std::path::Path,
    pub statements: &'a [Statement],
    pub transaction: bool,
    pub timeout: Option<Duration>,
}

/// The plan's locks, each with the oid its relation had before the statement (`None`: not
/// there yet).
type Planned = Vec<(Option<i64>, Lock)>;

/// The SQLSTATE of a statement that may not run inside a transaction block.
const ONLY_OUTSIDE_A_TRANSACTION: &str = "25001";

/// Runs migrations one after another on one session, reading locks around each statement.
/// Rolled back (no observer): everything runs in one transaction, ended by
/// [`Tracer::finish`] with a rollback. Committed: each migration commits as a run would,
/// and statements that run only outside a transaction are read by the observer.
pub(crate) struct Tracer<'d> {
    db: &'d mut dyn Driver,
    observer: Option<&'d mut dyn Driver>,
    traced: Vec<TracedStatement>,
    /// Set once a statement failed: why the rest does not run.
    stopped: Option<String>,
}

impl<'d> Tracer<'d> {
    /// A trace in one transaction, rolled back at the end.
    pub fn rolled_back(db: &'d mut dyn Driver) -> Result<Tracer<'d>, DbError> {
        db.own_batch("BEGIN")?;
        Ok(Tracer { db, observer: None, traced: Vec::new(), stopped: None })
    }

    /// A trace that commits what it runs, with a second session on the same database.
    pub fn committed(db: &'d mut dyn Driver, observer: &'d mut dyn Driver) -> Tracer<'d> {
        Tracer { db, observer: Some(observer), traced: Vec::new(), stopped: None }
    }

    /// A migration whose statements cannot be seen before it runs.
    pub fn not_traced(&mut self, label: &str, path: &std::path::Path, reason: &str) {
        let mut entry = entry(label, path, &Statement { sql: String::new(), line: 0 });
        entry.outcome = Outcome::NotTraced(reason.to_owned());
        self.traced.push(entry);
        self.stopped.get_or_insert_with(|| format!("not run: {label} was not traced before it"));
    }

    pub fn migration(&mut self, migration: &Traced<'_>) -> Result<(), DbError> {
        let first = self.traced.len();
        let committed = self.observer.is_some();
        let whole = migration.transaction || !committed;
        let opened = whole && self.stopped.is_none();
        if opened {
            if committed {
                self.db.own_batch("BEGIN")?;
            }
            self.db.own_batch(&timeout_sql(migration.timeout))?;
        }
        let mut starts = Vec::new();
        for statement in migration.statements {
            let mut traced = entry(migration.label, migration.path, statement);
            if let Some(why) = &self.stopped {
                traced.outcome = Outcome::NotTraced(why.clone());
                self.traced.push(traced);
                starts.push(None);
                continue;
            }
            starts.push(Some(Instant::now()));
            match whole {
                true => self.in_transaction(&mut traced, migration)?,
                false => self.alone(&mut traced, migration.timeout)?,
            }
            traced.held = traced.elapsed;
            self.traced.push(traced);
        }
        if whole {
            // A transaction's locks are held until it ends.
            let ended = Instant::now();
            if migration.transaction {
                for (traced, start) in self.traced[first..].iter_mut().zip(starts) {
                    traced.held = start.map_or(Duration::ZERO, |s| ended - s);
                }
            }
            if committed && opened {
                let end = if self.stopped.is_some() { "ROLLBACK" } else { "COMMIT" };
                self.db.own_batch(end)?;
            }
        }
        Ok(())
    }

    /// The traced statements; a rolled-back trace's transaction ends here.
    pub fn finish(self) -> Result<Vec<TracedStatement>, DbError> {
        if self.observer.is_none() {
            self.db.own_batch("ROLLBACK")?;
        }
        Ok(self.traced)
    }

    /// Runs a statement in the open transaction, reading locks before and after it.
    fn in_transaction(
        &mut self,
        traced: &mut TracedStatement,
        migration: &Traced<'_>,
    ) -> Result<(), DbError> {
        let (before, held_before, expected) = self.before(&traced.sql)?;
        self.db.own_batch("SAVEPOINT godwit_trace")?;
        let started = Instant::now();
        let result = self.db.execute(&traced.sql);
        traced.elapsed = started.elapsed();
        match result {
            Ok(()) => {
                let held = snapshot::held(self.db)?;
                let after = Relations::read(self.db)?;
                self.db.own_batch("RELEASE SAVEPOINT godwit_trace")?;
                let taken: Held = held.difference(&held_before).copied().collect();
                let rewritten = before.rewritten(&after);
                settle(traced, &expected, &held, &taken, &rewritten, &before);
                traced.outcome = Outcome::Ran;
            }
            Err(error) => {
                self.db.own_batch("ROLLBACK TO SAVEPOINT godwit_trace")?;
                traced.expected = expected.into_iter().map(|(_, lock)| lock).collect();
                let outside = error.code.as_deref() == Some(ONLY_OUTSIDE_A_TRANSACTION);
                if outside && !migration.transaction {
                    traced.outcome = Outcome::NotTraced(
                        "it runs only outside a transaction, which a trace that is rolled back \
                         cannot do: trace on a scratch database"
                            .to_owned(),
                    );
                } else {
                    traced.outcome = Outcome::Failed(error.to_string());
                    self.stopped = Some(format!("not run: {} failed before it", migration.label));
                }
            }
        }
        Ok(())
    }

    /// A statement of a migration outside a transaction, committed on its own: in a
    /// transaction of its own when the server lets it, else watched by the observer.
    fn alone(
        &mut self,
        traced: &mut TracedStatement,
        timeout: Option<Duration>,
    ) -> Result<(), DbError> {
        let probe = format!("BEGIN; {}; SAVEPOINT godwit_trace", timeout_sql(timeout));
        self.db.own_batch(&probe)?;
        let label = traced.migration.clone();
        let (before, _, expected) = self.before(&traced.sql)?;
        let started = Instant::now();
        match self.db.execute(&traced.sql) {
            Err(error) if error.code.as_deref() == Some(ONLY_OUTSIDE_A_TRANSACTION) => {
                self.db.own_batch("ROLLBACK")?;
                self.observed(traced, &before, &expected)?;
            }
            Err(error) => {
                traced.elapsed = started.elapsed();
                self.db.own_batch("ROLLBACK")?;
                traced.expected = expected.into_iter().map(|(_, lock)| lock).collect();
                traced.outcome = Outcome::Failed(error.to_string());
                self.stopped = Some(format!("not run: {label} failed before it"));
            }
            Ok(()) => {
                traced.elapsed = started.elapsed();
                let held = snapshot::held(self.db)?;
                let after = Relations::read(self.db)?;
                self.db.own_batch("COMMIT")?;
                let rewritten = before.rewritten(&after);
                settle(traced, &expected, &held, &held, &rewritten, &before);
                traced.outcome = Outcome::Ran;
            }
        }
        Ok(())
    }

    /// A statement the server runs only outside a transaction, with the observer.
    fn observed(
        &mut self,
        traced: &mut TracedStatement,
        before: &Relations,
        expected: &[(Option<i64>, Lock)],
    ) -> Result<(), DbError> {
        let Some(observer) = self.observer.as_deref_mut() else {
            return Err(DbError::new("no second session to read the statement's locks"));
        };
        let mut tables: Vec<String> = expected
            .iter()
            .filter_map(|(oid, _)| *oid)
            .map(|oid| before.root(oid))
            .filter(|oid| before.0.get(oid).is_some_and(|r| matches!(r.kind, 'r' | 'm' | 'p')))
            .map(|oid| before.name(oid))
            .collect();
        tables.dedup();
        let observed = observe::observe(self.db, observer, &traced.sql, &tables)?;
        traced.elapsed = observed.elapsed;
        if let Err(error) = observed.result {
            traced.outcome = Outcome::Failed(error.to_string());
            self.stopped = Some(format!("not run: {} failed before it", traced.migration));
            return Ok(());
        }
        let after = Relations::read(self.db)?;
        let rewritten = before.rewritten(&after);
        let seen = observed.seen;
        settle(traced, expected, &seen, &seen, &rewritten, before);
        traced.outcome = match seen.is_empty() {
            true => Outcome::NotTraced("it ended before its locks could be read".to_owned()),
            false => Outcome::Observed,
        };
        if seen.is_empty() {
            traced.disagrees = None;
        }
        Ok(())
    }

    /// Before a statement: the relations, the locks held, and the plan's locks for it.
    fn before(&mut self, sql: &str) -> Result<(Relations, Held, Planned), DbError> {
        let relations = Relations::read(self.db)?;
        let held = snapshot::held(self.db)?;
        let planned = super::in_database(self.db, locks_taken(sql));
        let expected = snapshot::resolve(self.db, &relations, &planned)?;
        Ok((relations, held, expected))
    }
}

/// The statement's plan, what it took, and whether they agree.
fn settle(
    traced: &mut TracedStatement,
    expected: &[(Option<i64>, Lock)],
    held: &Held,
    taken: &Held,
    rewritten: &BTreeSet<i64>,
    relations: &Relations,
) {
    let existing: Held =
        taken.iter().filter(|(oid, _)| relations.0.contains_key(oid)).copied().collect();
    let seen = agree::Seen { expected, held, taken: &existing, rewritten, relations };
    traced.disagrees = agree::disagreement(&seen);
    traced.expected = dedup(expected.iter().map(|(_, lock)| lock.clone()));
    // Shown: the strongest mode on each relation, TOAST folded into its table.
    let mut taken: Vec<Lock> = Vec::new();
    for &(oid, mode) in existing.iter().rev() {
        let name = relations.name(oid);
        if name.starts_with("pg_toast.") || taken.iter().any(|l| l.relation == name) {
            continue;
        }
        taken.push(Lock { mode, relation: name, rewrites: rewritten.contains(&oid), size: None });
    }
    taken.reverse();
    traced.taken = taken;
}

fn dedup(locks: impl Iterator<Item = Lock>) -> Vec<Lock> {
    let mut out: Vec<Lock> = Vec::new();
    for lock in locks {
        if !out.iter().any(|l| l.relation == lock.relation && l.mode == lock.mode) {
            out.push(lock);
        }
    }
    out
}

fn entry(label: &str, path: &std::path::Path, statement: &Statement) -> TracedStatement {
    TracedStatement {
        migration: label.to_owned(),
        path: path.to_owned(),
        line: statement.line,
        sql: statement.sql.clone(),
        expected: Vec::new(),
        taken: Vec::new(),
        elapsed: Duration::ZERO,
        held: Duration::ZERO,
        outcome: Outcome::NotTraced(String::new()),
        disagrees: None,
    }
}

/// `SET LOCAL lock_timeout` as a run sets it (`None`: no timeout).
fn timeout_sql(timeout: Option<Duration>) -> String {
    let ms = timeout.map_or(0, |t| t.as_millis().max(1));
    format!("SET LOCAL lock_timeout = {ms}")
}
