//! The plan: which migrations to apply or revert, in which order, as a pure function of the
//! resolved migrations, the history and the target. `up`, `down` and their dry runs all go
//! through [`plan`]; a dry run is a plan that is reported instead of executed.

use crate::error::Error;
use crate::history::AppliedMigration;
use crate::migration::Migration;
use crate::status::{EntryState, Problem, problems, status};
use crate::version::Version;

/// Where to migrate to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Up { to: Option<Version>, allow_out_of_order: bool },
    Down(DownTarget),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownTarget {
    /// Revert this many applied migrations, newest first.
    Steps(usize),
    /// Revert every applied migration newer than this version (0 reverts all).
    To(Version),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Apply,
    /// Run a repeatable migration again because its file changed.
    Reapply,
    /// Go on with a batched migration's transform from its stored cursor.
    Resume,
    Revert,
}

#[derive(Clone, Debug)]
pub struct Step<'a> {
    pub action: Action,
    pub migration: &'a Migration,
}

#[derive(Clone, Debug, Default)]
pub struct Plan<'a> {
    pub steps: Vec<Step<'a>>,
}

impl Plan<'_> {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Computes the plan, or the reason there cannot be one. Nothing runs when this fails.
pub fn plan<'a>(
    migrations: &'a [Migration],
    applied: &'a [AppliedMigration],
    target: &Target,
) -> Result<Plan<'a>, Error> {
    let entries = status(migrations, applied);
    let (blocking, out_of_order): (Vec<Problem>, Vec<Problem>) =
        problems(&entries).into_iter().partition(|p| !matches!(p, Problem::OutOfOrder { .. }));
    if !blocking.is_empty() {
        return Err(Error::Inconsistent { problems: blocking });
    }
    let known = |version: Version| entries.iter().any(|e| e.key.version() == Some(version));
    match *target {
        Target::Up { to, allow_out_of_order } => {
            if let Some(version) = to.filter(|v| !known(*v)) {
                return Err(Error::UnknownVersion { version });
            }
            if !allow_out_of_order && !out_of_order.is_empty() {
                let mut newest = String::new();
                let pending = out_of_order
                    .into_iter()
                    .filter_map(|p| match p {
                        Problem::OutOfOrder { label, newest: n } => {
                            newest = n;
                            Some(label)
                        }
                        _ => None,
                    })
                    .collect();
                return Err(Error::OutOfOrder { pending, newest });
            }
            let mut steps = Vec::new();
            let mut held_back = false;
            for entry in &entries {
                let (Some(migration), Some(version)) = (entry.migration, entry.key.version())
                else {
                    continue;
                };
                if entry.state == EntryState::Running {
                    steps.push(Step { action: Action::Resume, migration });
                    continue;
                }
                if entry.state == EntryState::Pending {
                    if to.is_some_and(|to| version > to) {
                        held_back = true;
                    } else {
                        steps.push(Step { action: Action::Apply, migration });
                    }
                }
            }
            // Repeatables (views, functions) may depend on any versioned migration, so they
            // run only once every versioned one is applied.
            if !held_back {
                for entry in entries.iter().filter(|e| e.key.version().is_none()) {
                    let action = match entry.state {
                        EntryState::Pending => Action::Apply,
                        EntryState::Changed => Action::Reapply,
                        _ => continue,
                    };
                    if let Some(migration) = entry.migration {
                        steps.push(Step { action, migration });
                    }
                }
            }
            Ok(Plan { steps })
        }
        Target::Down(down) => {
            if let Some(running) = entries.iter().find(|e| e.state == EntryState::Running) {
                return Err(Error::Unfinished { label: running.label.clone() });
            }
            if let DownTarget::To(version) = down
                && version.get() != 0
                && !known(version)
            {
                return Err(Error::UnknownVersion { version });
            }
            let applied_newest_first = entries
                .iter()
                .rev()
                .filter(|e| e.state == EntryState::Applied && e.key.version().is_some())
                .filter_map(|e| Some((e.key.version()?, e.migration?)));
            let chosen: Vec<&Migration> = match down {
                DownTarget::Steps(n) => applied_newest_first.take(n).map(|(_, m)| m).collect(),
                DownTarget::To(to) => {
                    applied_newest_first.take_while(|(v, _)| *v > to).map(|(_, m)| m).collect()
                }
            };
            let irreversible: Vec<String> =
                chosen.iter().filter(|m| !m.is_reversible()).map(|m| m.label.clone()).collect();
            if !irreversible.is_empty() {
                return Err(Error::Irreversible { labels: irreversible });
            }
            let steps = chosen
                .into_iter()
                .map(|migration| Step { action: Action::Revert, migration })
                .collect();
            Ok(Plan { steps })
        }
    }
}

#[cfg(test)]
mod tests;
