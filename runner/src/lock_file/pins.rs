//! A project's pins: where its `godwit.lock` is, what it says, and the check a
//! [`Migrator`](crate::Migrator) makes before it applies, reverts or validates anything.

use super::{Change, LOCK_FILE, LockFile, Locked, LockedPack, Pinned};
use crate::migration::Migration;
use crate::pack::Pack;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why the pins refuse a run, or could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    #[error("{reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The project uses packs and has no lock file.
    #[error(
        "pack `{pack}` ({}) is not locked: a project that uses packs needs {}",
        dir.display(),
        lock_file.display()
    )]
    PackUnlocked { pack: String, dir: PathBuf, lock_file: PathBuf },
    /// Packs or components that differ from what the lock file pins, or that it does not list.
    #[error("{}", changes.iter().map(|c| c.problem(lock_file)).collect::<Vec<_>>().join("\n"))]
    Mismatch { lock_file: PathBuf, changes: Vec<PinChange> },
}

/// A difference between the lock file and the project, of a pack or of a component.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinChange {
    Pack(Change<LockedPack>),
    Component(Change<Locked>),
}

impl PinChange {
    /// What the difference stops a run for.
    fn problem(&self, lock_file: &Path) -> String {
        match self {
            PinChange::Pack(change) => problem(change, lock_file),
            PinChange::Component(change) => problem(change, lock_file),
        }
    }
}

fn problem<T: Pinned>(change: &Change<T>, lock_file: &Path) -> String {
    let lock_file = lock_file.display();
    match change {
        Change::Added(new) => {
            format!("{} is not in {lock_file}: its sha256 is {}", new.subject(), new.sha256())
        }
        Change::Changed { old, new } => format!(
            "{} does not match {lock_file}: locked {}, found {}",
            new.subject(),
            old.pinned_as(" ", old.sha256()),
            new.pinned_as(" ", new.sha256())
        ),
        Change::Removed(old) => format!("{} is pinned in {lock_file} but gone", old.subject()),
    }
}

/// Where a project's lock file is and what it pins.
#[derive(Clone, Debug)]
pub struct Pins {
    /// The lock file, which may not exist (then nothing is pinned).
    path: PathBuf,
    /// The directory the lock file's paths are relative to.
    project: PathBuf,
    /// What the file pins; `None` when there is no file.
    locked: Option<LockFile>,
}

impl Default for Pins {
    /// No lock file: nothing is pinned.
    fn default() -> Pins {
        Pins { path: PathBuf::from(LOCK_FILE), project: PathBuf::from("."), locked: None }
    }
}

impl Pins {
    /// The lock file at `path` (which need not exist yet); paths in it are relative to its
    /// directory.
    pub fn read(path: impl Into<PathBuf>) -> Result<Pins, PinError> {
        let path = path.into();
        let project = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let locked = LockFile::read(&path)?;
        Ok(Pins { path, project, locked })
    }

    /// The lock file of the project that `dir` (its migrations) belongs to: the nearest
    /// directory, from `dir` up, that holds a `godwit.lock` or a `godwit.toml`. When there is
    /// none, nothing is pinned, and `godwit.lock` would go next to `dir`.
    pub fn discover(dir: &Path) -> Result<Pins, PinError> {
        let mut candidates: Vec<PathBuf> = dir.ancestors().map(Path::to_owned).collect();
        if dir.is_relative()
            && let Ok(cwd) = std::env::current_dir()
        {
            candidates.extend(cwd.ancestors().skip(1).map(Path::to_owned));
        }
        for candidate in candidates {
            let lock_file = candidate.join(LOCK_FILE);
            if lock_file.is_file() || candidate.join("godwit.toml").is_file() {
                return Pins::read(lock_file);
            }
        }
        let beside = dir.parent().unwrap_or(Path::new("")).join(LOCK_FILE);
        Pins::read(beside)
    }

    /// The lock file's path (the file may not exist).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file pins; `None` when there is no file.
    pub fn locked(&self) -> Option<&LockFile> {
        self.locked.as_ref()
    }

    /// The lock file `migrations` and `packs` would have.
    pub fn current(&self, migrations: &[Migration], packs: &[Pack]) -> LockFile {
        LockFile::of(migrations, packs, &self.project)
    }

    /// Refuses packs and components that the lock file does not pin as they are, and packs
    /// without a lock file. A pinned thing that is gone runs nothing (the plan shows it as
    /// missing), so it is not refused here.
    pub fn check(&self, migrations: &[Migration], packs: &[Pack]) -> Result<(), PinError> {
        let Some(locked) = &self.locked else {
            return match packs.first() {
                Some(pack) => Err(PinError::PackUnlocked {
                    pack: pack.name.clone(),
                    dir: pack.dir.clone(),
                    lock_file: self.path.clone(),
                }),
                None => Ok(()),
            };
        };
        let current = self.current(migrations, packs);
        let refused = |change: &Change<_>| !matches!(change, Change::Removed(_));
        let mut changes: Vec<PinChange> = content_diff(&locked.packs, &current.packs)
            .into_iter()
            .filter(refused)
            .map(PinChange::Pack)
            .collect();
        changes.extend(
            content_diff(&locked.components, &current.components)
                .into_iter()
                .filter(|change| !matches!(change, Change::Removed(_)))
                .map(PinChange::Component),
        );
        match changes.is_empty() {
            true => Ok(()),
            false => Err(PinError::Mismatch { lock_file: self.path.clone(), changes }),
        }
    }
}

/// What differs between `old` and `new` in content, by name: a pin whose hash (and version)
/// is the same counts as unchanged wherever its file now is.
fn content_diff<T: Pinned>(old: &[T], new: &[T]) -> Vec<Change<T>> {
    super::diff(old, new)
        .into_iter()
        .filter(|change| match change {
            Change::Changed { old, new } => !old.same_content(new),
            _ => true,
        })
        .collect()
}

impl fmt::Display for PinChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |pack: bool, name: &str| match pack {
            true => format!("pack {name}"),
            false => name.to_owned(),
        };
        match self {
            PinChange::Pack(change) => write_change(f, change, |p| name(true, &p.name)),
            PinChange::Component(change) => write_change(f, change, |c| name(false, &c.migration)),
        }
    }
}

/// `pack billing 1.0.0 sha256:0123456789ab -> 1.1.0 sha256:...`, hashes cut to 12 digits.
fn write_change<T: Pinned>(
    f: &mut fmt::Formatter<'_>,
    change: &Change<T>,
    name: impl Fn(&T) -> String,
) -> fmt::Result {
    let short = |pin: &T| {
        let sha = pin.sha256();
        pin.pinned_as(":", sha.get(..12).unwrap_or(sha))
    };
    match change {
        Change::Added(pin) | Change::Removed(pin) => write!(f, "{} {}", name(pin), short(pin)),
        Change::Changed { old, new } => write!(f, "{} {} -> {}", name(new), short(old), short(new)),
    }
}
