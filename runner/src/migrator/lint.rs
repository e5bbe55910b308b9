//! The linter before a run: the migrations it applies are read with `godwit lint`'s rules
//! first, and errors their files do not allow stop it before anything is applied.

use super::{Migrator, Request};
use crate::driver::Dialect;
use crate::error::Error;
use crate::lint::{self, Finding, Refused};
use crate::plan::{Action, Step};
use crate::report::{Event, Reporter};
use crate::source::Format;
use crate::stream::Stream;

impl Migrator {
    /// Lints the migrations `steps` apply, in order, and tells each finding their files do
    /// not allow. Errors refuse the run (a dry run returns them instead); in another tool's
    /// folder, written for a runner that does not lint, they are told and refuse nothing.
    pub(super) fn lint_steps(
        &self,
        steps: &[Step<'_>],
        request: &Request,
        dialect: Dialect,
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<Finding>, Error> {
        if !request.lint {
            return Ok(Vec::new());
        }
        let applied = steps.iter().filter(|s| matches!(s.action, Action::Apply | Action::Reapply));
        let foreign = |finding: &Finding| {
            self.format != Format::Godwit
                && steps.iter().any(|s| {
                    s.migration.stream == Stream::Project && s.migration.path == finding.path
                })
        };
        let mut refused = Vec::new();
        let findings =
            lint::lint(applied.map(|s| s.migration), dialect, &self.lint, &self.lock_waits);
        for finding in findings.into_iter().filter(|f| f.allowed.is_none()) {
            let refuses = finding.refuses() && !foreign(&finding);
            reporter.report(Event::Linted { finding: &finding, refuses });
            if refuses {
                refused.push(finding);
            }
        }
        match refused.is_empty() || request.dry_run {
            true => Ok(refused),
            false => Err(Refused(refused).into()),
        }
    }
}
