//! Guards that undo on every path, early returns and panics included: the migration lock,
//! released when the run ends, and a step's transaction, rolled back unless it finished.

use super::Run;
use crate::driver::{Connection, Driver, Write};
use crate::error::Error;
use std::ops::{Deref, DerefMut};

/// Holds the migration lock; releasing it on drop covers every early return and panic.
pub(crate) struct LockGuard<'c> {
    conn: &'c mut Connection,
}

impl<'c> LockGuard<'c> {
    /// A connection whose driver holds the lock.
    pub(crate) fn new(conn: &'c mut Connection) -> LockGuard<'c> {
        LockGuard { conn }
    }
}

impl Deref for LockGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl DerefMut for LockGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl LockGuard<'_> {
    /// Releases the lock at the end of a run; dropping the guard does the same on every other
    /// path, early returns and panics included.
    pub(crate) fn release(self) {}
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Nothing better can be done with a failure here: the lock also ends with the
        // connection (PostgreSQL) or the process (SQLite).
        if let Ok(driver) = self.conn.driver() {
            let _ = driver.unlock();
        }
    }
}

/// A step's transaction: committed by [`Tx::finish`] with godwit's writes, rolled back when
/// dropped before that. It holds the run, so the step's statements and guest calls run
/// through [`Tx::run`] inside it.
pub(crate) struct Tx<'t, 'r> {
    run: &'t mut Run<'r>,
    /// What the transaction is for, in errors: "cannot record 0003_x (...) in the history".
    context: String,
    open: bool,
}

impl<'t, 'r> Tx<'t, 'r> {
    pub(crate) fn begin(run: &'t mut Run<'r>, context: String) -> Result<Tx<'t, 'r>, Error> {
        let begun = run.driver()?.begin();
        begun.map_err(|source| Error::Database { context: context.clone(), source })?;
        Ok(Tx { run, context, open: true })
    }

    /// The run, for the step's statements and guest calls.
    pub(crate) fn run(&mut self) -> &mut Run<'r> {
        self.run
    }

    pub(crate) fn driver(&mut self) -> Result<&mut dyn Driver, Error> {
        self.run.driver()
    }

    /// godwit's writes, then the commit; a failure rolls the step back.
    pub(crate) fn finish(mut self, writes: &[Write]) -> Result<(), Error> {
        let finished = self.run.driver()?.finish(writes);
        if finished.is_ok() {
            self.open = false;
        }
        finished.map_err(|source| Error::Database { context: self.context.clone(), source })
    }
}

impl Drop for Tx<'_, '_> {
    fn drop(&mut self) {
        if self.open
            && let Ok(driver) = self.run.driver()
        {
            // The step failed already; its error is the one to report.
            let _ = driver.rollback();
        }
    }
}

/// `writes` in a transaction of their own, made durable at once.
pub(crate) fn in_transaction(
    conn: &mut Connection,
    context: String,
    writes: &[Write],
) -> Result<(), Error> {
    let database = |source| Error::Database { context: context.clone(), source };
    let driver = conn.driver()?;
    driver.begin().map_err(database)?;
    if let Err(error) = driver.finish(writes) {
        // The writes failed; their error is the one to report.
        let _ = driver.rollback();
        return Err(database(error));
    }
    driver.sync().map_err(database)
}
