//! When a transform holds off: the database's own health signals, read between batches
//! (PostgreSQL: a streaming replica's replay lag, autovacuum on a table the transform writes,
//! sessions that waited on the transform's locks), and a probe of the user's for what godwit
//! cannot know. On SQLite only the probe applies.

use crate::driver::{DbError, Dialect, Driver, Value};
use std::fmt;
use std::time::Duration;

/// What makes a transform hold off between batches.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Throttle {
    /// PostgreSQL: hold off while a streaming replica's replay lag is longer than this, or a
    /// replica that was streaming when the transform started is no longer connected.
    pub max_replica_lag: Option<Duration>,
    /// PostgreSQL: hold off while autovacuum (or a `VACUUM`) works on a table the transform
    /// writes.
    pub vacuum: bool,
    /// PostgreSQL: after a batch that other sessions waited on, halve the next one's size.
    pub lock_waits: bool,
    /// A query whose first column of its first row, when true, holds the transform off.
    pub probe: Option<String>,
    /// How long to wait before looking again while held off.
    pub wait: Duration,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            max_replica_lag: None,
            vacuum: true,
            lock_waits: true,
            probe: None,
            wait: Duration::from_secs(1),
        }
    }
}

impl Throttle {
    pub fn max_replica_lag(mut self, lag: Duration) -> Throttle {
        self.max_replica_lag = Some(lag);
        self
    }

    pub fn probe(mut self, sql: impl Into<String>) -> Throttle {
        self.probe = Some(sql.into());
        self
    }

    pub fn wait(mut self, wait: Duration) -> Throttle {
        self.wait = wait;
        self
    }
}

/// Why a transform is holding off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleReason {
    /// A replica replays this far behind the primary.
    ReplicaLag { replica: String, lag: Duration, max: Duration },
    /// A replica that was streaming when the transform started is gone.
    ReplicaGone { replica: String },
    /// (Auto)vacuum works on a table the transform writes.
    Vacuum { table: String },
    /// Sessions waited on the locks of the last batch.
    LockWaits { sessions: u64 },
    /// The user's probe returned true.
    Probe,
}

impl fmt::Display for ThrottleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms =
            |d: &Duration| humantime::format_duration(Duration::from_millis(d.as_millis() as u64));
        match self {
            ThrottleReason::ReplicaLag { replica, lag, max } => {
                write!(f, "replica {replica} is {} behind (max {})", ms(lag), ms(max))
            }
            ThrottleReason::ReplicaGone { replica } => {
                write!(f, "replica {replica} stopped streaming")
            }
            ThrottleReason::Vacuum { table } => write!(f, "vacuum is working on {table}"),
            ThrottleReason::LockWaits { sessions } => {
                write!(f, "{sessions} session(s) waited on the last batch's locks; batches shrink")
            }
            ThrottleReason::Probe => write!(f, "the throttle probe returned true"),
        }
    }
}

/// A failure reading a health signal.
#[derive(Debug)]
pub(crate) struct ProbeFailed {
    pub what: &'static str,
    pub source: DbError,
}

/// What one transform's run knows of the database's health.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// The replicas streaming at the first look.
    replicas: Option<Vec<String>>,
    /// The tables the batches so far wrote, as `regclass` text.
    tables: Vec<String>,
    /// Sessions that waited on the last batch's locks, and whether the batch before it had
    /// some too.
    waiting: u64,
    streak: bool,
}

impl Health {
    /// Reads, inside a batch's transaction before it commits, which tables it writes and
    /// who waits on it.
    pub(crate) fn observe_batch(
        &mut self,
        throttle: &Throttle,
        driver: &mut dyn Driver,
    ) -> Result<(), ProbeFailed> {
        if driver.dialect() != Dialect::Postgres {
            return Ok(());
        }
        if throttle.vacuum {
            let rows = driver
                .own_query(
                    "SELECT l.relation::regclass::text FROM pg_locks l \
                     JOIN pg_class c ON c.oid = l.relation \
                     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' \
                     AND l.mode = 'RowExclusiveLock' AND c.relkind IN ('r', 'p')",
                    &[],
                )
                .map_err(|source| ProbeFailed { what: "the tables the batch writes", source })?;
            for value in rows.values {
                if let Value::Text(table) = value
                    && !self.tables.contains(&table)
                {
                    self.tables.push(table);
                }
            }
        }
        if throttle.lock_waits {
            let rows = driver
                .own_query(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))",
                    &[],
                )
                .map_err(|source| ProbeFailed {
                    what: "the sessions waiting on the batch",
                    source,
                })?;
            self.waiting = match rows.values.first() {
                Some(Value::Integer(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
        }
        Ok(())
    }

    /// Sessions waited on the last batch: returned once, then forgotten, with whether it
    /// starts a streak of such batches.
    pub(crate) fn take_lock_waits(&mut self) -> Option<(ThrottleReason, bool)> {
        let sessions = std::mem::take(&mut self.waiting);
        let first = sessions > 0 && !self.streak;
        self.streak = sessions > 0;
        (sessions > 0).then_some((ThrottleReason::LockWaits { sessions }, first))
    }

    /// Why the transform should hold off now, between batches, if it should.
    pub(crate) fn check(
        &mut self,
        throttle: &Throttle,
        driver: &mut dyn Driver,
    ) -> Result<Option<ThrottleReason>, ProbeFailed> {
        if let Some(probe) = &throttle.probe {
            let rows = driver
                .own_query(probe, &[])
                .map_err(|source| ProbeFailed { what: "the throttle probe", source })?;
            if rows.values.first().is_some_and(truthy) {
                return Ok(Some(ThrottleReason::Probe));
            }
        }
        if driver.dialect() != Dialect::Postgres {
            return Ok(None);
        }
        if let Some(max) = throttle.max_replica_lag
            && let Some(reason) = self.replica_lag(driver, max)?
        {
            return Ok(Some(reason));
        }
        if throttle.vacuum && !self.tables.is_empty() {
            let list = self
                .tables
                .iter()
                .map(|t| format!("'{}'::regclass", t.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = driver
                .own_query(
                    &format!(
                        "SELECT relid::regclass::text FROM pg_stat_progress_vacuum \
                         WHERE relid IN ({list}) LIMIT 1"
                    ),
                    &[],
                )
                .map_err(|source| ProbeFailed { what: "vacuum progress", source })?;
            if let Some(Value::Text(table)) = rows.values.into_iter().next() {
                return Ok(Some(ThrottleReason::Vacuum { table }));
            }
        }
        Ok(None)
    }

    fn replica_lag(
        &mut self,
        driver: &mut dyn Driver,
        max: Duration,
    ) -> Result<Option<ThrottleReason>, ProbeFailed> {
        // replay_lag is how long ago the newest WAL the replica replayed was written on the
        // primary, as of its last report; NULL once it has caught up and gone quiet.
        let rows = driver
            .own_query(
                "SELECT coalesce(nullif(application_name, ''), 'walreceiver') || ' at ' || \
                 coalesce(host(client_addr), 'local socket'), \
                 coalesce(extract(epoch FROM replay_lag), 0)::float8 \
                 FROM pg_stat_replication ORDER BY 2 DESC",
                &[],
            )
            .map_err(|source| ProbeFailed { what: "replica lag (pg_stat_replication)", source })?;
        let mut now = Vec::new();
        let mut worst: Option<(String, Duration)> = None;
        for row in rows.values.chunks(2) {
            let (Value::Text(name), Value::Real(seconds)) = (&row[0], &row[1]) else { continue };
            now.push(name.clone());
            let lag = Duration::from_secs_f64(seconds.max(0.0));
            if worst.as_ref().is_none_or(|(_, w)| lag > *w) {
                worst = Some((name.clone(), lag));
            }
        }
        let seen: &Vec<String> = self.replicas.get_or_insert_with(|| now.clone());
        let count = |names: &[String], name: &String| names.iter().filter(|n| *n == name).count();
        if let Some(gone) = seen.iter().find(|name| count(&now, name) < count(seen, name)) {
            return Ok(Some(ThrottleReason::ReplicaGone { replica: gone.clone() }));
        }
        Ok(worst.filter(|(_, lag)| *lag > max).map(|(replica, lag)| ThrottleReason::ReplicaLag {
            replica,
            lag,
            max,
        }))
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Integer(n) => *n != 0,
        Value::Real(x) => *x != 0.0,
        Value::Text(t) => matches!(t.to_ascii_lowercase().as_str(), "t" | "true" | "1" | "yes"),
        Value::Boolean(b) => *b,
        Value::Null => false,
        Value::Blob(b) => !b.is_empty(),
    }
}
