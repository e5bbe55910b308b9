//! Calls into component migrations: `up` and `down` with the connection lent to the guest
//! (its driver moves into the sandbox and comes back after), and how a call that failed is
//! told.

use super::Run;
use crate::driver::DbError;
use crate::error::{Error, GuestFailure};
use crate::lint;
use crate::migration::{Migration, WasmScript};
use crate::plan::{Action, Step};
use crate::report::Event;
use crate::wasm::{Compiled, GuestError};

/// The component of a migration the migrator compiled.
pub(crate) fn compiled<'w>(
    migration: &Migration,
    wasm: &'w WasmScript,
) -> Result<&'w Compiled, Error> {
    wasm.compiled().ok_or_else(|| {
        let reason = format!("{} was not compiled before the run", migration.label);
        guest_failure(migration, false, None, GuestError::Rejected(reason), Vec::new())
    })
}

/// Lends the connection to the guest for one call of `up` or `down`, and takes it back.
pub(crate) fn run_guest(
    run: &mut Run<'_>,
    step: &Step<'_>,
    wasm: &WasmScript,
) -> Result<(), Error> {
    let migration = step.migration;
    let reverting = step.action == Action::Revert;
    let compiled = compiled(migration, wasm)?;
    let limits = run.knows.limits;
    let Lent { output, result, sent, .. } =
        run.lend(&migration.label, |driver| compiled.migrate(driver, reverting, limits))?;
    if let Some(levels) = run.knows.lint.filter(|_| !reverting) {
        let dialect = run.conn.dialect();
        let timeout = super::lock_wait::timeout_of(run, migration).is_some();
        for finding in lint::lint_sent(migration, &sent, dialect, levels, timeout) {
            run.reporter.report(Event::Linted { finding: &finding, refuses: false });
        }
    }
    result.map_err(|source| guest_failure(migration, reverting, None, source, output))
}

/// A guest call that failed, with what the guest printed; `resumable` holds the rows a batched
/// migration had done.
pub(crate) fn guest_failure(
    migration: &Migration,
    reverting: bool,
    resumable: Option<i64>,
    source: GuestError,
    output: Vec<String>,
) -> Error {
    Error::GuestFailed(Box::new(GuestFailure {
        label: migration.label.clone(),
        path: migration.path.clone(),
        reverting,
        resumable,
        source,
        output,
    }))
}

/// What one guest call with the connection lent gave back.
pub(crate) struct Lent<T> {
    pub(crate) output: Vec<String>,
    pub(crate) result: Result<T, GuestError>,
    pub(crate) database: Option<DbError>,
    /// The distinct statements a component's `up` or `down` sent to change the database.
    pub(crate) sent: Vec<String>,
}
