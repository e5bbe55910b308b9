//! Statements that give up waiting for a lock instead of queueing the application behind
//! them (PostgreSQL): each step's transaction starts with `SET LOCAL lock_timeout`; a
//! migration whose statement gave up is rolled back, the sessions holding locks on the tables
//! it names are read, and it is tried again after a pause, up to the run's retries. Outside a
//! transaction the timeout is set per statement, and none for a statement that waits for
//! older transactions (`CONCURRENTLY`).

use super::Run;
use crate::driver::{Dialect, Driver, Value};
use crate::error::{Error, MigrationFailure};
use crate::lint::statement;
use crate::locks::{Blocker, LOCK_NOT_AVAILABLE};
use crate::migration::{Migration, Script};
use crate::plan::Step;
use crate::report::Event;
use std::time::Duration;

/// The lock timeout of `migration`'s statements on this run's database (`None`: as the server
/// has it).
pub(crate) fn timeout_of(run: &Run<'_>, migration: &Migration) -> Option<Duration> {
    if run.conn.dialect() != Dialect::Postgres {
        return None;
    }
    let file = match &migration.script {
        Script::Sql(sql) => sql.lock_timeout,
        Script::Wasm(_) => None,
    };
    run.knows.lock_waits.of_file(file)
}

/// `SET [LOCAL] lock_timeout` to `timeout` (`None`: no timeout).
pub(crate) fn set_sql(local: bool, timeout: Option<Duration>) -> String {
    let scope = if local { "LOCAL " } else { "" };
    let ms = timeout.map_or(0, |t| t.as_millis().max(1));
    format!("SET {scope}lock_timeout = {ms}")
}

/// Whether a statement failed because it gave up waiting for a lock.
pub(crate) fn gave_up_on(failure: &MigrationFailure) -> bool {
    failure.source.code.as_deref() == Some(LOCK_NOT_AVAILABLE)
}

/// What a step's transaction starts with: `SET LOCAL lock_timeout` when the run has a
/// timeout or the file asks for one (or none), on PostgreSQL.
pub(crate) fn prelude(run: &Run<'_>, migration: &Migration) -> Option<String> {
    let file = match &migration.script {
        Script::Sql(sql) => sql.lock_timeout,
        Script::Wasm(_) => None,
    };
    let managed = file.is_some() || run.knows.lock_waits.timeout.is_some();
    (managed && run.conn.dialect() == Dialect::Postgres)
        .then(|| set_sql(true, timeout_of(run, migration)))
}

/// The lock timeout godwit set for the statements of a migration outside a transaction,
/// one by one.
#[derive(Default)]
pub(crate) struct Alone {
    /// What godwit set last (`None`: nothing yet).
    set: Option<Option<Duration>>,
    /// The file set `lock_timeout` itself: godwit leaves it alone from there.
    own: bool,
}

impl Alone {
    /// Sets the timeout `sql` runs with: the migration's, or none for a statement that waits
    /// for older transactions.
    pub(crate) fn before(
        &mut self,
        run: &mut Run<'_>,
        migration: &Migration,
        sql: &str,
    ) -> Result<(), Error> {
        self.own |= statement::sets_lock_timeout(sql);
        if prelude(run, migration).is_none() {
            return Ok(());
        }
        if self.own {
            return Ok(());
        }
        let wanted = match statement::waits_for_older_transactions(sql) {
            true => None,
            false => timeout_of(run, migration),
        };
        if self.set == Some(wanted) {
            return Ok(());
        }
        self.set = Some(wanted);
        set(run, &set_sql(false, wanted))
    }

    /// Puts the session's timeout back as it was.
    pub(crate) fn after(self, run: &mut Run<'_>) -> Result<(), Error> {
        match self.set.is_some() && !self.own {
            true => set(run, "RESET lock_timeout"),
            false => Ok(()),
        }
    }
}

fn set(run: &mut Run<'_>, sql: &str) -> Result<(), Error> {
    let context = format!("cannot set the lock timeout on {}", run.conn.target());
    run.driver()?.own_batch(sql).map_err(|source| Error::Database { context, source })
}

/// Runs `once` for `step`, again after a pause each time a statement gives up waiting for a
/// lock, up to the run's retries (`tried`: the tries already made). The last failure names
/// the sessions that held the locks.
pub(crate) fn retrying(
    run: &mut Run<'_>,
    step: &Step<'_>,
    mut tried: u32,
    mut once: impl FnMut(&mut Run<'_>) -> Result<Duration, Error>,
) -> Result<Duration, Error> {
    let waits = run.knows.lock_waits;
    loop {
        let mut failure = match once(run) {
            Err(Error::MigrationFailed(failure)) if gave_up_on(&failure) => failure,
            other => return other,
        };
        let blockers = blockers(run.driver()?, &failure.statement);
        if tried >= waits.retries {
            failure.blocked_by = blockers;
            return Err(Error::MigrationFailed(failure));
        }
        tried += 1;
        pause_before(run, step, tried, &blockers);
    }
}

/// Says that `step` is tried again (`retry` of the run's retries), and waits the pause.
pub(crate) fn pause_before(run: &mut Run<'_>, step: &Step<'_>, retry: u32, blockers: &[Blocker]) {
    let waits = run.knows.lock_waits;
    let pause = waits.pause(retry);
    run.reporter.report(Event::LockRetry {
        label: &step.migration.label,
        retry,
        retries: waits.retries,
        timeout: timeout_of(run, step.migration).unwrap_or_default(),
        pause,
        blockers,
    });
    std::thread::sleep(pause);
}

/// The sessions holding a granted lock on a table `sql` names (any table of the database
/// when it names none), longest transaction first, at most five. Reading them is best
/// effort: a failure to read them hides nothing else.
pub(crate) fn blockers(db: &mut dyn Driver, sql: &str) -> Vec<Blocker> {
    let quoted: Vec<String> =
        statement::tables_named(sql).iter().map(|name| crate::lint::regclass_text(name)).collect();
    let query = "SELECT a.pid::bigint, coalesce(a.application_name, ''), coalesce(a.state, ''), \
                 coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0)::bigint, \
                 left(coalesce(a.query, ''), 200) \
                 FROM pg_stat_activity a \
                 WHERE a.pid <> pg_backend_pid() AND a.pid IN ( \
                   SELECT l.pid FROM pg_locks l WHERE l.granted AND ( \
                     l.relation IN (SELECT to_regclass(n) FROM unnest(string_to_array($1, chr(31))) AS n) \
                     OR ($1 = '' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())))) \
                 ORDER BY 4 DESC LIMIT 5";
    let Ok(rows) = db.own_query(query, &[Value::Text(quoted.join("\u{1f}"))]) else {
        return Vec::new();
    };
    let text = |v: &Value| match v {
        Value::Text(t) => t.clone(),
        _ => String::new(),
    };
    let number = |v: &Value| match v {
        Value::Integer(n) => *n,
        _ => 0,
    };
    rows.iter()
        .map(|row| Blocker {
            pid: number(&row[0]),
            application: text(&row[1]),
            state: text(&row[2]),
            age: Duration::from_secs(u64::try_from(number(&row[3])).unwrap_or(0)),
            query: text(&row[4]),
        })
        .collect()
}
