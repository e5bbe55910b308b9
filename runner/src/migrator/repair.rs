//! Changing the history without running migrations: `repair` settles what blocks `up`
//! (edited, failed or missing migrations), and `baseline` marks an existing schema as
//! migrated. Both run under the migration lock, in one transaction.

use super::Migrator;
use crate::checksum::Checksum;
use crate::driver::Connection;
use crate::driver::Write;
use crate::error::Error;
use crate::history::{self, AppliedMigration, NewRecord, RecordState};
use crate::migration::{Key, Migration};
use crate::plan::PlanError;
use crate::report::Reporter;
use crate::run::in_transaction;
use crate::status::{EntryState, status};
use crate::stream::Stream;
use crate::version::Version;

/// A change `godwit repair` makes to the history.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepairAction {
    /// Record the file's current checksum for an applied migration that was edited.
    AcceptChecksum { stream: Stream, key: Key, label: String, from: Checksum, to: Checksum },
    /// Delete the row of a migration that failed part-way, so that `up` runs it again.
    ClearFailed { stream: Stream, key: Key, label: String },
    /// Delete the row of an applied migration whose file is gone.
    ForgetMissing { stream: Stream, key: Key, label: String },
}

impl Migrator {
    /// What `repair` would change, given the current history.
    pub fn repair_actions(&self, applied: &[AppliedMigration]) -> Vec<RepairAction> {
        status(&self.migrations, applied)
            .into_iter()
            .filter_map(|entry| {
                let (key, label, stream) = (entry.key, entry.label, entry.stream);
                match (entry.state, entry.migration, entry.record) {
                    (EntryState::Modified, Some(m), Some(row)) => {
                        Some(RepairAction::AcceptChecksum {
                            stream,
                            key,
                            label,
                            from: row.checksum.clone(),
                            to: m.checksum.clone(),
                        })
                    }
                    (EntryState::Failed, _, _) => {
                        Some(RepairAction::ClearFailed { stream, key, label })
                    }
                    (EntryState::Missing, _, _) => {
                        Some(RepairAction::ForgetMissing { stream, key, label })
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Under the lock, computes the repair, asks `confirm` and applies it in one transaction.
    /// Returns the actions taken (none when there was nothing to do or it was declined).
    pub fn repair(
        &self,
        conn: &mut Connection,
        reporter: &mut dyn Reporter,
        confirm: &mut dyn FnMut(&[RepairAction]) -> bool,
    ) -> Result<Vec<RepairAction>, Error> {
        let mut conn = self.lock(conn, reporter)?;
        let applied = self.history(&mut conn)?;
        let actions = self.repair_actions(&applied);
        if actions.is_empty() || !confirm(&actions) {
            return Ok(Vec::new());
        }
        let driver = conn.driver()?;
        let writes: Vec<Write> = actions
            .iter()
            .map(|action| match action {
                RepairAction::AcceptChecksum { stream, key, to, .. } => {
                    crate::history::set_checksum(driver, stream, key, to)
                }
                RepairAction::ClearFailed { stream, key, .. }
                | RepairAction::ForgetMissing { stream, key, .. } => {
                    crate::history::forget(driver, stream, key)
                }
            })
            .collect();
        in_transaction(&mut conn, "cannot repair the history".to_owned(), &writes)?;
        Ok(actions)
    }

    /// Marks every migration of the project up to `version` as applied without running it,
    /// for a database that already has that schema. Returns the labels it marked.
    pub fn baseline(
        &self,
        conn: &mut Connection,
        version: Version,
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<String>, Error> {
        // A baseline is of the project's own migrations; packs then run as usual.
        let project = || self.migrations.iter().filter(|m| m.stream.is_project());
        if !project().any(|m| m.version() == Some(version)) {
            return Err(PlanError::UnknownVersion { version }.into());
        }
        let mut conn = self.lock(conn, reporter)?;
        history::ensure(conn.driver()?)?;
        let applied = self.history(&mut conn)?;
        let already = applied.iter().filter(|row| row.version.is_some()).count();
        if already > 0 {
            return Err(Error::BaselineOnMigrated { applied: already });
        }
        let marked: Vec<&Migration> =
            project().filter(|m| m.version().is_some_and(|v| v <= version)).collect();
        let driver = conn.driver()?;
        let writes: Vec<Write> = marked
            .iter()
            .map(|m| {
                crate::history::record(driver, &NewRecord::of(m, RecordState::Applied, Some(0)))
            })
            .collect();
        in_transaction(&mut conn, "cannot record the baseline".to_owned(), &writes)?;
        Ok(marked.iter().map(|m| m.label.clone()).collect())
    }
}

impl Migrator {
    /// After the migrations were rewritten in another layout ([`crate::source::convert`]):
    /// under the lock and in one transaction, every history row of the project that holds a
    /// migration's old checksum takes its new one. Rows with another checksum (edited since
    /// they ran) are left for `repair` to show. Returns the labels whose rows followed.
    pub fn follow_checksums(
        &self,
        conn: &mut Connection,
        changes: &[(Key, Checksum, Checksum)],
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<String>, Error> {
        let mut conn = self.lock(conn, reporter)?;
        let applied = self.history(&mut conn)?;
        let driver = conn.driver()?;
        let mut followed = Vec::new();
        let mut writes = Vec::new();
        for (key, old, new) in changes {
            let row = applied.iter().find(|row| row.stream.is_project() && &row.key() == key);
            if let Some(row) = row.filter(|row| &row.checksum == old && old != new) {
                writes.push(crate::history::set_checksum(driver, &Stream::Project, key, new));
                followed.push(row.label());
            }
        }
        if !writes.is_empty() {
            // A table from before dotted versions is brought up to date first: the rows of
            // repeatable migrations are told by that column.
            history::ensure(conn.driver()?)?;
            in_transaction(&mut conn, "cannot record the converted checksums".to_owned(), &writes)?;
        }
        Ok(followed)
    }
}
