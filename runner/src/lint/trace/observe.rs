//! The locks of a statement that runs only outside a transaction (`CREATE INDEX
//! CONCURRENTLY`, `VACUUM`): its locks are gone when it returns, so a second session reads
//! them while it runs. That session first opens a transaction that read the statement's
//! tables, which a `CONCURRENTLY` statement waits for; while it waits, its locks are read,
//! then the observer's transaction ends and the statement finishes.

use super::snapshot::{self, Held};
use crate::driver::{DbError, Driver, Value};
use std::time::{Duration, Instant};

/// What the statement returned, how long it took, and the relation locks seen while it ran.
pub(super) struct Observed {
    pub result: Result<(), DbError>,
    pub elapsed: Duration,
    pub seen: Held,
}

/// Runs `sql` on `db` while `observer` reads its locks; `tables` (as `regclass` prints
/// them) are the relations the observer's transaction reads first.
pub(super) fn observe(
    db: &mut dyn Driver,
    observer: &mut dyn Driver,
    sql: &str,
    tables: &[String],
) -> Result<Observed, DbError> {
    let rows = db.own_query("SELECT pg_backend_pid()::bigint", &[])?;
    let Some(Value::Integer(pid)) = rows.values.first().cloned() else {
        return Err(DbError::new("the server did not say which process runs the statement"));
    };
    observer.own_batch("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")?;
    for table in tables {
        observer.own_batch(&format!("SELECT 1 FROM {table} LIMIT 0"))?;
    }
    let mut seen = Held::new();
    let mut open = true;
    let (result, elapsed) = std::thread::scope(|scope| {
        let running = scope.spawn(move || {
            let started = Instant::now();
            let result = db.execute(sql);
            (result, started.elapsed())
        });
        while !running.is_finished() {
            if let Ok((held, waiting)) = snapshot::of_session(observer, pid) {
                seen.extend(held);
                if waiting && open {
                    // Its locks are read: the transaction it waits for ends.
                    open = observer.own_batch("COMMIT").is_err();
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        running.join().unwrap_or_else(|_| {
            (Err(DbError::new("the statement's thread panicked")), Duration::ZERO)
        })
    });
    if open {
        observer.own_batch("ROLLBACK")?;
    }
    Ok(Observed { result, elapsed, seen })
}
