//! The plan: which migrations to apply or revert, in which order, as a pure function of the
//! resolved migrations, the history and the target. `up`, `down` and their dry runs all go
//! through [`plan`]; a dry run is a plan that is reported instead of executed.

use crate::history::AppliedMigration;
use crate::migration::Migration;
use crate::status::{Entry, EntryState, Problem, problems, status};
use crate::stream::Stream;
use crate::text::plural;
use crate::version::Version;

/// Why there is no plan: what must be settled before anything can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Applied migrations that were edited, deleted, or failed part-way.
    #[error("{}", crate::text::list("applied migration with a problem", problems))]
    Inconsistent { problems: Vec<Problem> },
    #[error(
        "{} older than the newest applied migration {newest}: {}",
        plural(pending.len(), "pending migration is", "pending migrations are"),
        pending.join(", ")
    )]
    OutOfOrder { pending: Vec<String>, newest: String },
    #[error(
        "cannot revert {}: {} no `-- godwit:down` section (or down file, in another tool's format); nothing was reverted",
        labels.join(", "),
        if labels.len() == 1 { "it has" } else { "they have" }
    )]
    Irreversible { labels: Vec<String> },
    #[error("{label} is a batched migration that has not finished")]
    Unfinished { label: String },
    #[error("no migration has version {version}")]
    UnknownVersion { version: Version },
    #[error(
        "pack `{pack}` is set to run after the project's migration {version}, which does not exist"
    )]
    UnknownAfter { pack: String, version: Version },
    #[error("no pack named `{pack}` is configured or in the history")]
    UnknownPack { pack: String },
}

/// Where to migrate to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// Apply what is pending in every stream; `to` holds back the project's migrations newer
    /// than it (and packs that come after those).
    Up { to: Option<Version>, allow_out_of_order: bool },
    /// Revert migrations of one stream: the project's or a pack's.
    Down { stream: Stream, down: DownTarget },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownTarget {
    /// Revert this many applied migrations, newest first.
    Steps(usize),
    /// Revert every applied migration newer than this version (0 reverts all).
    To(Version),
}

/// Where a pack's migrations go among the project's: before the first project migration
/// newer than `after`; before all of them when `after` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackOrder {
    pub pack: String,
    pub after: Option<Version>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
/// `packs` lists the packs in the order the project declares them.
pub fn plan<'a>(
    migrations: &'a [Migration],
    applied: &'a [AppliedMigration],
    target: &Target,
    packs: &[PackOrder],
) -> Result<Plan<'a>, PlanError> {
    let entries = status(migrations, applied);
    let (blocking, out_of_order): (Vec<Problem>, Vec<Problem>) =
        problems(&entries).into_iter().partition(|p| !matches!(p, Problem::OutOfOrder { .. }));
    if !blocking.is_empty() {
        return Err(PlanError::Inconsistent { problems: blocking });
    }
    let known = |stream: &Stream, version: Version| {
        entries.iter().any(|e| e.stream == *stream && e.key.version() == Some(version))
    };
    match target {
        Target::Up { to, allow_out_of_order } => {
            if let Some(version) = to.filter(|v| !known(&Stream::Project, *v)) {
                return Err(PlanError::UnknownVersion { version });
            }
            for order in packs {
                if let Some(after) = order.after.filter(|v| !known(&Stream::Project, *v)) {
                    return Err(PlanError::UnknownAfter {
                        pack: order.pack.clone(),
                        version: after,
                    });
                }
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
                return Err(PlanError::OutOfOrder { pending, newest });
            }
            Ok(Plan { steps: up_steps(&entries, *to, packs) })
        }
        Target::Down { stream, down } => {
            if let Some(running) = entries.iter().find(|e| e.state == EntryState::Running) {
                return Err(PlanError::Unfinished { label: running.label.clone() });
            }
            if let Some(pack) = stream.pack_name()
                && !entries.iter().any(|e| e.stream == *stream)
            {
                return Err(PlanError::UnknownPack { pack: pack.to_owned() });
            }
            if let DownTarget::To(version) = *down
                && version.number() != Some(0)
                && !known(stream, version)
            {
                return Err(PlanError::UnknownVersion { version });
            }
            let applied_newest_first = entries
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, e)| e.stream == *stream)
                .filter(|(_, e)| e.state == EntryState::Applied && e.key.version().is_some())
                .filter_map(|(at, e)| Some((at, e.migration?)));
            let chosen: Vec<&Migration> = match *down {
                DownTarget::Steps(n) => applied_newest_first.take(n).map(|(_, m)| m).collect(),
                DownTarget::To(to) => {
                    // Version 0 may be no migration's: then every one is reverted.
                    let kept = position(&entries, stream, to);
                    let after = |at: &usize| kept.is_none_or(|kept| *at > kept);
                    applied_newest_first.take_while(|(at, _)| after(at)).map(|(_, m)| m).collect()
                }
            };
            let irreversible: Vec<String> =
                chosen.iter().filter(|m| !m.is_reversible()).map(|m| m.label.clone()).collect();
            if !irreversible.is_empty() {
                return Err(PlanError::Irreversible { labels: irreversible });
            }
            let steps = chosen
                .into_iter()
                .map(|migration| Step { action: Action::Revert, migration })
                .collect();
            Ok(Plan { steps })
        }
    }
}

/// Where `version` stands among the entries: each stream's entries are in the stream's order
/// (by number, or as its tool orders them), so positions compare as versions do.
fn position(entries: &[Entry<'_>], stream: &Stream, version: Version) -> Option<usize> {
    entries.iter().position(|e| e.stream == *stream && e.key.version() == Some(version))
}

/// The steps of `up`: the project's pending migrations in version order, each pack's placed
/// before the first project migration newer than its `after`, and repeatables last in each
/// stream once its versioned migrations are all applied.
fn up_steps<'a>(entries: &[Entry<'a>], to: Option<Version>, packs: &[PackOrder]) -> Vec<Step<'a>> {
    let project = stream_steps(entries, &Stream::Project, to);
    // The newest project migration once the project's planned steps have run.
    let reached = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.stream.is_project() && e.record.is_some() && e.key.version().is_some())
        .map(|(at, _)| at)
        .chain(project.versioned.iter().map(|(at, _)| *at))
        .max();
    let mut groups: Vec<(usize, Vec<Step<'a>>)> = Vec::new();
    for order in packs {
        let pack = stream_steps(entries, &Stream::pack(order.pack.as_str()), None);
        let at = match order.after.and_then(|after| position(entries, &Stream::Project, after)) {
            None => 0,
            Some(after) => match project.versioned.iter().position(|(at, _)| *at > after) {
                Some(at) => at,
                // The project stops before `after`: the pack waits for a later run.
                None if reached.is_none_or(|r| r < after) => continue,
                None => project.versioned.len(),
            },
        };
        let versioned = pack.versioned.into_iter().map(|(_, step)| step);
        groups.push((at, versioned.chain(pack.repeatable).collect()));
    }
    let mut steps = Vec::new();
    for (i, (_, step)) in project.versioned.into_iter().enumerate() {
        steps.extend(groups.iter_mut().filter(|(at, _)| *at == i).flat_map(|(_, g)| g.drain(..)));
        steps.push(step);
    }
    steps.extend(groups.into_iter().flat_map(|(_, group)| group));
    steps.extend(project.repeatable);
    steps
}

/// One stream's steps for `up`; a versioned step with its entry's position.
struct StreamSteps<'a> {
    versioned: Vec<(usize, Step<'a>)>,
    repeatable: Vec<Step<'a>>,
}

fn stream_steps<'a>(
    entries: &[Entry<'a>],
    stream: &Stream,
    to: Option<Version>,
) -> StreamSteps<'a> {
    let last = to.and_then(|to| position(entries, stream, to));
    let entries = || entries.iter().enumerate().filter(|(_, e)| e.stream == *stream);
    let mut versioned = Vec::new();
    let mut held_back = false;
    for (at, entry) in entries() {
        let (Some(migration), Some(_)) = (entry.migration, entry.key.version()) else {
            continue;
        };
        if entry.state == EntryState::Running {
            versioned.push((at, Step { action: Action::Resume, migration }));
            continue;
        }
        if entry.state == EntryState::Pending {
            if last.is_some_and(|last| at > last) {
                held_back = true;
            } else {
                versioned.push((at, Step { action: Action::Apply, migration }));
            }
        }
    }
    // Repeatables (views, functions) may depend on any versioned migration, so they run
    // only once every versioned one is applied.
    let mut repeatable = Vec::new();
    if !held_back {
        for (_, entry) in entries().filter(|(_, e)| e.key.version().is_none()) {
            let action = match entry.state {
                EntryState::Pending => Action::Apply,
                EntryState::Changed => Action::Reapply,
                _ => continue,
            };
            if let Some(migration) = entry.migration {
                repeatable.push(Step { action, migration });
            }
        }
    }
    StreamSteps { versioned, repeatable }
}

#[cfg(test)]
mod tests;
