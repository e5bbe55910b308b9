//! Guards that undo on every path, early returns and panics included: the migration lock,
//! released when the run ends, and a step's transaction, rolled back unless it finished.

use crate::driver::Write;
use crate::driver::{Connection, DbError, Driver};
use crate::error::Error;
use std::ops::{Deref, DerefMut};

/// Holds the migration lock; releasing it on drop covers every early return and panic.
pub(super) struct LockGuard<'c> {
    conn: &'c mut Connection,
}

impl<'c> LockGuard<'c> {
    /// A connection whose driver holds the lock.
    pub(super) fn new(conn: &'c mut Connection) -> LockGuard<'c> {
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

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Nothing better can be done with a failure here: the lock also ends with the
        // connection (PostgreSQL) or the process (SQLite).
        if let Ok(driver) = self.conn.driver() {
            let _ = driver.unlock();
        }
    }
}

/// A step's transaction: committed by [`Tx::finish`] with godwit's history writes, rolled back
/// when dropped before that.
pub(super) struct Tx<'c> {
    conn: &'c mut Connection,
    /// What the transaction is for, in errors: "cannot record 0003_x (...) in the history".
    context: String,
    open: bool,
}

impl<'c> Tx<'c> {
    pub(super) fn begin(conn: &'c mut Connection, context: String) -> Result<Tx<'c>, Error> {
        let begun = conn.driver()?.begin();
        begun.map_err(|source| Error::Database { context: context.clone(), source })?;
        Ok(Tx { conn, context, open: true })
    }

    /// The connection, for the step's statements and guest calls.
    pub(super) fn conn(&mut self) -> &mut Connection {
        self.conn
    }

    pub(super) fn driver(&mut self) -> Result<&mut dyn Driver, Error> {
        Ok(self.conn.driver()?)
    }

    /// godwit's writes to the history, then the commit; a failure rolls the step back.
    pub(super) fn finish(mut self, writes: &[Write]) -> Result<(), Error> {
        let driver = self.conn.driver()?;
        let finished = driver.finish(writes);
        if finished.is_ok() {
            self.open = false;
        }
        finished.map_err(|source| self.failed(source))
    }

    fn failed(&self, source: DbError) -> Error {
        Error::Database { context: self.context.clone(), source }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Ok(driver) = self.conn.driver()
        {
            // The step failed already; its error is the one to report.
            let _ = driver.rollback();
        }
    }
}

/// `writes` in a transaction of their own, made durable at once.
pub(super) fn in_transaction(
    conn: &mut Connection,
    context: String,
    writes: &[Write],
) -> Result<(), Error> {
    Tx::begin(conn, context.clone())?.finish(writes)?;
    conn.driver()?.sync().map_err(|source| Error::Database { context, source })
}
