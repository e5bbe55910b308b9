//! Whether what a plan is about to run can run: a migration another tool's folder holds in a
//! form godwit does not run (a Flyway placeholder) and a down file that cannot be read stop
//! the run before anything runs. Such a migration is still read, listed and adopted: an
//! applied one never runs again.

use crate::error::Error;
use crate::history::AppliedMigration;
use crate::migration::{Migration, Script};
use crate::plan::{Action, Step};
use crate::source::{ProblemKind, SourceError, SourceProblem};

/// Why `migration` cannot be applied, as a problem with its file.
fn refused(migration: &Migration) -> Option<SourceProblem> {
    let Script::Sql(script) = &migration.script else { return None };
    let why = script.refused.clone()?;
    Some(SourceProblem::new(&migration.path, ProblemKind::Format(why.into())))
}

/// Every step of the plan can run as planned.
pub(super) fn check_steps(steps: &[Step<'_>]) -> Result<(), Error> {
    let mut problems = Vec::new();
    for step in steps {
        match step.action {
            Action::Revert => {
                if let Script::Sql(script) = &step.migration.script
                    && let Err(error) = script.down_statements()
                    && !error.missing
                {
                    return Err(Error::DownFile(error));
                }
            }
            _ => problems.extend(refused(step.migration)),
        }
    }
    invalid(problems)
}

/// The migrations not applied yet that could not be applied.
pub(super) fn check_pending(
    migrations: &[Migration],
    applied: &[AppliedMigration],
) -> Result<(), Error> {
    let problems: Vec<SourceProblem> = migrations
        .iter()
        .filter(|m| !applied.iter().any(|row| row.records(m) && row.checksum == m.checksum))
        .filter_map(refused)
        .collect();
    invalid(problems)
}

fn invalid(problems: Vec<SourceProblem>) -> Result<(), Error> {
    match problems.is_empty() {
        true => Ok(()),
        false => Err(SourceError::Invalid { problems }.into()),
    }
}
