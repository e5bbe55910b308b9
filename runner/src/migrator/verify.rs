//! `godwit verify`: every down proven to undo its up, on a scratch database. For each project
//! migration in order: the schema before it, up, down, the schema again, compared with the
//! one before; then up again so the next one starts where a real run would. A down that
//! leaves something behind (or takes away what was there) is told with what differs; a
//! migration without a down is told irreversible.

use super::drift::read;
use super::scratch::Scratch;
use super::{Migrator, Request};
use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Connection};
use crate::error::Error;
use crate::plan::{DownTarget, Target};
use crate::report::NoReport;
use crate::schema::{Difference, differences};
use crate::stream::Stream;

/// What became of one migration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Verified {
    /// Its down restored the schema its up found.
    Restored,
    /// The schema after its down differs from the one before its up: `Extra`, what the down
    /// left behind; `Missing`, what was there before and is gone; `Changed`, what is
    /// defined otherwise (the "database" side is after the down, the "migrations" side
    /// before the up).
    LeavesBehind(Vec<Difference>),
    /// It has no down.
    Irreversible,
    /// Its up or down failed; nothing after it was verified.
    Failed(String),
}

/// One migration's verification.
#[derive(Clone, Debug)]
pub struct Verification {
    pub migration: String,
    pub verified: Verified,
}

impl Migrator {
    /// Verifies every down of the project's migrations on a scratch database: created on
    /// the server of `url` and dropped (PostgreSQL), a temporary file (SQLite), or the
    /// empty `dev` database. The database at `url` is not changed. After a down that does
    /// not undo its up, the next migrations are verified on a new scratch database brought
    /// to that point (not with `dev`, which cannot be made anew: there it stops).
    pub fn verify(
        &self,
        url: &str,
        options: &ConnectOptions,
        dev: Option<&str>,
    ) -> Result<Vec<Verification>, Error> {
        // A SQLite target is not even opened (opening would create its file): its scratch
        // is a file of its own.
        let sqlite = crate::driver::dialect_of(url) == Some(crate::driver::Dialect::Sqlite);
        let mut conn = match sqlite && dev.is_none() {
            true => None,
            false => Some(connect(url, options)?),
        };
        let mut verified = Vec::new();
        let mut from = 0;
        loop {
            let scratch = match conn.as_mut() {
                Some(conn) => Scratch::new(conn, url, dev, options)?,
                None => Scratch::sqlite()?,
            };
            let round = connect(&scratch.url, options)
                .map_err(Error::from)
                .and_then(|mut db| self.each(&mut db, from, &mut verified));
            let dropped = match conn.as_mut() {
                Some(conn) => scratch.discard(conn),
                None => Ok(()),
            };
            let next = round?;
            dropped?;
            match next {
                Some(next) if dev.is_none() => from = next,
                _ => return Ok(verified),
            }
        }
    }

    /// Verifies the project's versioned migrations from the `from`th on (those before it
    /// applied first); `Some(i)`: a down left the database otherwise than its up found it,
    /// and verification goes on from the `i`th on a new database.
    fn each(
        &self,
        db: &mut Connection,
        from: usize,
        verified: &mut Vec<Verification>,
    ) -> Result<Option<usize>, Error> {
        let up_to = |migration: &crate::migration::Migration| Request {
            target: Target::Up { to: migration.version(), allow_out_of_order: true },
            lint: false,
            ..Request::up()
        };
        let project = self.migrations.iter().filter(|m| m.stream == Stream::Project);
        let versioned: Vec<_> = project.filter(|m| m.version().is_some()).collect();
        if let Some(last) = from.checked_sub(1).and_then(|i| versioned.get(i)) {
            self.run(db, &up_to(last), &mut NoReport)?;
        }
        for (at, migration) in versioned.iter().enumerate().skip(from) {
            let up = up_to(migration);
            let before = read(db)?;
            let label = migration.label.clone();
            let failed = |step: &str, error: &Error| Verification {
                migration: label.clone(),
                verified: Verified::Failed(format!("{step}: {}", error.one_line())),
            };
            if let Err(error) = self.run(db, &up, &mut NoReport) {
                verified.push(failed("up", &error));
                return Ok(None);
            }
            if !migration.is_reversible() {
                verified.push(Verification { migration: label, verified: Verified::Irreversible });
                continue;
            }
            let down = Request { lint: false, ..Request::down(DownTarget::Steps(1)) };
            if let Err(error) = self.run(db, &down, &mut NoReport) {
                verified.push(failed("down", &error));
                return Ok(None);
            }
            let found = differences(&read(db)?, &before);
            if !found.is_empty() {
                verified.push(Verification {
                    migration: label,
                    verified: Verified::LeavesBehind(found),
                });
                return Ok(Some(at + 1));
            }
            verified.push(Verification { migration: label.clone(), verified: Verified::Restored });
            if let Err(error) = self.run(db, &up, &mut NoReport) {
                verified.push(failed("up again after its down", &error));
                return Ok(None);
            }
        }
        Ok(None)
    }
}
