//! The status of every migration: resolved files matched with history rows. This is a pure
//! function, shared by `status`, `validate` and the plan, so the three never disagree.
//!
//! Each stream (the project's migrations, each pack's) is matched on its own: versions and
//! out-of-order checks never cross streams. Entries come stream by stream: the project's,
//! then the packs' in the order the migrations list them, then streams only the history knows.

use crate::checksum::Checksum;
use crate::history::{AppliedMigration, RecordState};
use crate::migration::{Key, Migration};
use crate::stream::Stream;
use crate::version::Version;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryState {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet (for a repeatable: never run).
    Pending,
    /// A repeatable whose file changed since it last ran; `up` runs it again.
    Changed,
    /// Applied, but the file was edited since.
    Modified,
    /// Applied, but the file is gone.
    Missing,
    /// Recorded as failed part-way (a `no-transaction` migration).
    Failed,
    /// A batched migration whose transform has not finished; `up` resumes it.
    Running,
}

/// One line of `godwit status`.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    /// The project's, or a pack's.
    pub stream: Stream,
    pub key: Key,
    pub label: String,
    pub migration: Option<&'a Migration>,
    pub record: Option<&'a AppliedMigration>,
    pub state: EntryState,
    /// A pending versioned migration older than the newest applied one.
    pub out_of_order: bool,
}

/// A file and its history row, either of which may be absent.
type Pair<'a> = (Option<&'a Migration>, Option<&'a AppliedMigration>);

/// Matches migrations with history rows, stream by stream: versioned ones by version, then
/// repeatables by name.
pub fn status<'a>(migrations: &'a [Migration], applied: &'a [AppliedMigration]) -> Vec<Entry<'a>> {
    let mut streams: Vec<&Stream> = vec![&Stream::Project];
    for stream in migrations.iter().map(|m| &m.stream).chain(applied.iter().map(|r| &r.stream)) {
        if !streams.contains(&stream) {
            streams.push(stream);
        }
    }
    streams
        .into_iter()
        .flat_map(|stream| {
            let migrations = migrations.iter().filter(|m| m.stream == *stream);
            let applied = applied.iter().filter(|r| r.stream == *stream);
            stream_status(stream, migrations, applied)
        })
        .collect()
}

fn stream_status<'a>(
    stream: &Stream,
    migrations: impl Iterator<Item = &'a Migration>,
    applied: impl Iterator<Item = &'a AppliedMigration>,
) -> Vec<Entry<'a>> {
    let mut merged: BTreeMap<(bool, Key), Pair<'a>> = BTreeMap::new();
    let mut text_order = false;
    let migrations: Vec<&'a Migration> = migrations.collect();
    // A baseline (`godwit squash`) stands for the migrations it replaced: their history rows
    // are matched with it, against the checksums it lists.
    let mut squashed: BTreeMap<Version, (&'a Migration, &'a Checksum)> = BTreeMap::new();
    for m in &migrations {
        for replaced in m.squashes() {
            squashed.insert(replaced.version, (m, &replaced.checksum));
        }
    }
    for m in migrations {
        text_order |= m.text_order.is_some();
        merged.entry(sort_key(&m.key)).or_default().0 = Some(m);
    }
    for row in applied {
        merged.entry(sort_key(&row.key())).or_default().1 = Some(row);
    }
    let mut merged: Vec<((bool, Key), Pair<'a>)> = merged.into_iter().collect();
    if text_order {
        // The stream's tool orders versions as text: so does its status, and so its plan.
        let text = |((_, key), (m, _)): &((bool, Key), Pair<'a>)| {
            m.and_then(|m| m.text_order.clone()).unwrap_or_else(|| key.to_string())
        };
        merged.sort_by_cached_key(|entry| (entry.0.0, text(entry)));
    }
    // The newest applied versioned migration, in the stream's order.
    let newest =
        merged.iter().rposition(|((repeatable, _), (_, row))| !repeatable && row.is_some());
    merged
        .into_iter()
        .enumerate()
        .map(|(at, ((_, key), (migration, record)))| {
            let covered = key.version().and_then(|v| squashed.get(&v)).copied();
            if let (Some((baseline, listed)), Some(row)) = (covered, record) {
                let state = match row.checksum == *listed || row.checksum == baseline.checksum {
                    true => EntryState::Applied,
                    false => EntryState::Modified,
                };
                let listed = baseline.squashes().iter().find(|s| Some(s.version) == key.version());
                let label = listed.map_or_else(|| row.label(), |s| s.label.clone());
                let stream = stream.clone();
                let migration = Some(baseline);
                return Entry { stream, key, label, migration, record, state, out_of_order: false };
            }
            let state = match (migration, record) {
                (_, Some(row)) if row.state == RecordState::Failed => EntryState::Failed,
                (Some(m), Some(row))
                    if row.state == RecordState::InProgress && m.checksum == row.checksum =>
                {
                    EntryState::Running
                }
                (Some(m), Some(row)) if m.checksum == row.checksum => EntryState::Applied,
                (Some(_), Some(_)) if key.version().is_none() => EntryState::Changed,
                (Some(_), Some(_)) => EntryState::Modified,
                (None, Some(_)) => EntryState::Missing,
                (Some(_), None) | (None, None) => EntryState::Pending,
            };
            let out_of_order = state == EntryState::Pending
                && key.version().is_some()
                && newest.is_some_and(|newest| at < newest);
            let label = match (migration, record) {
                (Some(m), _) => m.label.clone(),
                (None, Some(row)) => row.label(),
                (None, None) => stream.label(&key),
            };
            Entry { stream: stream.clone(), key, label, migration, record, state, out_of_order }
        })
        .collect()
}

/// Versioned migrations sort before repeatables.
fn sort_key(key: &Key) -> (bool, Key) {
    (key.version().is_none(), key.clone())
}

/// Something about the applied migrations that must be settled before migrating further.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    Modified {
        label: String,
        path: PathBuf,
        recorded: Checksum,
        found: Checksum,
    },
    Missing {
        label: String,
    },
    Failed {
        label: String,
    },
    OutOfOrder {
        label: String,
        newest: String,
    },
    /// Some of the migrations a baseline replaced are applied, not all: the rest cannot be
    /// applied from the baseline.
    PartlySquashed {
        label: String,
        applied: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Modified { label, path, recorded, found } => write!(
                f,
                "{label} was modified after it was applied ({}: applied {}, now {})",
                path.display(),
                recorded.short(),
                found.short()
            ),
            Problem::Missing { label } => write!(f, "{label} is applied but its file is missing"),
            Problem::Failed { label } => {
                write!(f, "{label} failed part-way and is recorded as failed")
            }
            Problem::OutOfOrder { label, newest } => {
                write!(f, "{label} is pending but older than the applied {newest}")
            }
            Problem::PartlySquashed { label, applied } => write!(
                f,
                "{label} replaces migrations of which this database has only {}: \
                 the rest cannot be applied from the baseline",
                applied.join(", ")
            ),
        }
    }
}

/// Every problem in a status, in the order of the entries.
pub fn problems(entries: &[Entry<'_>]) -> Vec<Problem> {
    // The newest applied migration of a stream, for out-of-order messages.
    let newest = |stream: &Stream| {
        entries
            .iter()
            .filter(|e| e.stream == *stream && e.record.is_some() && e.key.version().is_some())
            .map(|e| e.label.clone())
            .next_back()
    };
    entries
        .iter()
        .filter_map(|entry| {
            let label = entry.label.clone();
            match (entry.state, entry.migration, entry.record) {
                (EntryState::Modified, Some(m), Some(row)) => Some(Problem::Modified {
                    label,
                    path: m.path.clone(),
                    recorded: row.checksum.clone(),
                    // A replaced migration is found as its baseline lists it.
                    found: m
                        .squashes()
                        .iter()
                        .find(|s| Some(s.version) == entry.key.version())
                        .map_or_else(|| m.checksum.clone(), |s| s.checksum.clone()),
                }),
                (EntryState::Pending, Some(m), None) if !m.squashes().is_empty() => {
                    let applied: Vec<String> = entries
                        .iter()
                        .filter(|e| e.stream == entry.stream && e.record.is_some())
                        .filter(|e| m.squashes().iter().any(|s| Some(s.version) == e.key.version()))
                        .map(|e| e.label.clone())
                        .collect();
                    (!applied.is_empty()).then_some(Problem::PartlySquashed { label, applied })
                }
                (EntryState::Missing, _, _) if entry.key.version().is_some() => {
                    Some(Problem::Missing { label })
                }
                (EntryState::Failed, _, _) => Some(Problem::Failed { label }),
                (EntryState::Pending, _, _) if entry.out_of_order => Some(Problem::OutOfOrder {
                    label,
                    newest: newest(&entry.stream).unwrap_or_default(),
                }),
                _ => None,
            }
        })
        .collect()
}
