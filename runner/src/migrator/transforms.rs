//! The transforms of batched migrations, from the migrator: the worker that runs those queued
//! for it (`transforms::worker`), and the controls another process changes them with.

use super::{Migrator, database};
use crate::driver::Connection;
use crate::error::Error;
use crate::migration::Migration;
use crate::report::Reporter;
use crate::transforms::state::{self, TransformRow};
use crate::transforms::worker::{self, Shop, Worked, names, queued};
use crate::transforms::{Control, TransformError};

impl Migrator {
    /// The transforms queued for workers, and how each stands.
    pub fn transforms(&self, conn: &mut Connection) -> Result<Vec<TransformRow>, Error> {
        queued(conn.driver()?)
    }

    /// The batched migration `which` names: its version (`7`, `0007`) or its label.
    fn batched_migration(&self, which: &str) -> Result<&Migration, Error> {
        let migration = self
            .migrations
            .iter()
            .find(|m| names(which, m))
            .ok_or_else(|| TransformError::Unknown(which.to_owned()))?;
        match migration.is_batched() {
            true => Ok(migration),
            false => Err(TransformError::NotBatched { label: migration.label.clone() }.into()),
        }
    }

    /// Pauses, resumes, cancels or retries the transform of the batched migration `which`
    /// (its version or file name). A worker sees it at its next batch boundary.
    pub fn control(
        &self,
        conn: &mut Connection,
        which: &str,
        control: Control,
    ) -> Result<TransformRow, Error> {
        let migration = self.batched_migration(which)?;
        let label = migration.label.clone();
        let db = conn.driver()?;
        let row = queued(db)?.into_iter().find(|row| row.is_of(migration));
        let Some(row) = row else { return Err(TransformError::NotQueued { label }.into()) };
        let (from, to) = control.transition();
        let changed = state::change(db, &migration.stream, &migration.key, from, to, None)
            .map_err(|source| database(format!("cannot {control} {label}"), source))?;
        let now = queued(db)?.into_iter().find(|r| r.is_of(migration));
        match (changed, now) {
            (true, Some(now)) => Ok(now),
            (_, now) => {
                let state = now.map_or(row.state, |r| r.state);
                Err(TransformError::Refused { label, control, state }.into())
            }
        }
    }

    /// Runs queued transforms, one after another, until none is left that another worker
    /// does not hold. A transform that fails is marked failed (with its error) and the worker
    /// goes on with the next; one paused or cancelled from elsewhere stops at its next batch
    /// boundary.
    pub fn work(
        &self,
        conn: &mut Connection,
        reporter: &mut dyn Reporter,
    ) -> Result<Worked, Error> {
        self.check_pins()?;
        let shop = Shop {
            migrations: &self.migrations,
            packs: &self.packs,
            batch: &self.batch,
            throttle: &self.throttle,
            limits: self.limits,
        };
        worker::work(shop, conn, reporter)
    }
}
