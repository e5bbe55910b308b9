//! `godwit.lock`: the SHA-256 of every WebAssembly migration and every pack a project runs.
//!
//! Once a project has a lock file, a [`Migrator`](crate::Migrator) applies, reverts and
//! validates only components whose checksum (the bytes of a `.wasm` file, the source tree of a
//! crate migration) is the one locked: a component replaced behind the reviewer's back, or one
//! nobody locked, is refused before anything runs, whether the `godwit` command or an
//! application embedding the engine asks. A pack is pinned as a whole (its manifest and every
//! migration), and a project that uses packs must have a lock file. `godwit lock` rewrites the
//! file deliberately and shows what changed. [`Pins`] finds the file and checks it.

mod pins;

pub use self::pins::{PinChange, PinError, Pins};

use crate::migration::{Kind, Migration};
use crate::pack::Pack;
use std::path::Path;

/// The name of the lock file, next to `godwit.toml`.
pub const LOCK_FILE: &str = "godwit.lock";

/// The lock file's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockFile {
    /// The format of this file.
    pub version: u32,
    #[serde(default, rename = "component")]
    pub components: Vec<Locked>,
    #[serde(default, rename = "pack", skip_serializing_if = "Vec::is_empty")]
    pub packs: Vec<LockedPack>,
}

/// One locked pack.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockedPack {
    pub name: String,
    /// The version its manifest declares.
    pub version: String,
    /// Its directory, relative to the project.
    pub dir: String,
    /// The SHA-256 over its manifest and its migrations' checksums.
    pub sha256: String,
}

/// One locked component.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Locked {
    /// The migration's label (`0005_observers`).
    pub migration: String,
    /// Its path, relative to the project.
    pub file: String,
    pub sha256: String,
}

/// A difference between two lock files, or between a lock file and the migrations: of a
/// component ([`Locked`]) or of a pack ([`LockedPack`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change<T> {
    Added(T),
    Removed(T),
    Changed { old: T, new: T },
}

/// Something the lock file pins, found by a name.
pub trait Pinned: Clone + PartialEq {
    /// What finds it in the file: a component's migration label, a pack's name.
    fn name(&self) -> &str;
    /// Where it is, in messages: "pack `billing` (packs/billing)", "migrations/0005_x.wasm
    /// (0005_x)".
    fn subject(&self) -> String;
    /// The version a pack declares; components have none.
    fn version(&self) -> Option<&str>;
    fn sha256(&self) -> &str;
    /// Whether `other` pins the same content: the same hash (and version, for a pack),
    /// wherever the project's checkout puts it.
    fn same_content(&self, other: &Self) -> bool {
        self.sha256() == other.sha256() && self.version() == other.version()
    }

    /// `1.0.0 sha256<separator><hash>` for a pack, `sha256<separator><hash>` for a component.
    fn pinned_as(&self, separator: &str, hash: &str) -> String {
        match self.version() {
            Some(version) => format!("{version} sha256{separator}{hash}"),
            None => format!("sha256{separator}{hash}"),
        }
    }
}

impl Pinned for Locked {
    fn name(&self) -> &str {
        &self.migration
    }
    fn subject(&self) -> String {
        format!("{} ({})", self.file, self.migration)
    }
    fn version(&self) -> Option<&str> {
        None
    }
    fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl Pinned for LockedPack {
    fn name(&self) -> &str {
        &self.name
    }
    fn subject(&self) -> String {
        format!("pack `{}` ({})", self.name, self.dir)
    }
    fn version(&self) -> Option<&str> {
        Some(&self.version)
    }
    fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// What turns `old` into `new`, entry by entry.
fn diff<T: Pinned>(old: &[T], new: &[T]) -> Vec<Change<T>> {
    let find = |list: &[T], name: &str| list.iter().find(|l| l.name() == name).cloned();
    let mut changes = Vec::new();
    for entry in new {
        match find(old, entry.name()) {
            None => changes.push(Change::Added(entry.clone())),
            Some(was) if was != *entry => {
                changes.push(Change::Changed { old: was, new: entry.clone() });
            }
            Some(_) => {}
        }
    }
    for was in old {
        if find(new, was.name()).is_none() {
            changes.push(Change::Removed(was.clone()));
        }
    }
    changes
}

/// `path` relative to the project, with `/` separators, as the lock file records paths.
fn relative(path: &Path, project: &Path) -> String {
    path.strip_prefix(project).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

const HEADER: &str = "# godwit.lock: the SHA-256 of every WebAssembly migration this project runs.\n\
                      # `godwit up` refuses a component that is not listed here with this hash;\n\
                      # `godwit lock` updates the file. Review the change before you commit it.\n";

impl LockFile {
    /// The lock of `migrations`' components and of `packs`, with paths relative to `project`.
    pub fn of(migrations: &[Migration], packs: &[Pack], project: &Path) -> LockFile {
        let components = migrations
            .iter()
            .filter(|m| m.kind == Kind::Wasm)
            .map(|m| Locked {
                migration: m.label.clone(),
                file: relative(&m.path, project),
                sha256: m.checksum.to_string(),
            })
            .collect();
        let packs = packs
            .iter()
            .map(|p| LockedPack {
                name: p.name.clone(),
                version: p.version.clone(),
                dir: relative(&p.dir, project),
                sha256: p.checksum(migrations).to_string(),
            })
            .collect();
        LockFile { version: 1, components, packs }
    }

    /// Reads `path`; `None` when there is no lock file.
    pub fn read(path: &Path) -> Result<Option<LockFile>, PinError> {
        let unreadable = |reason: String| PinError::Unreadable { path: path.to_owned(), reason };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable(format!("cannot read {}: {e}", path.display()))),
        };
        let lock: LockFile = toml::from_str(&text).map_err(|e| {
            unreadable(format!("invalid {}: {}", path.display(), e.to_string().trim_end()))
        })?;
        if lock.version != 1 {
            return Err(unreadable(format!(
                "{} has format version {}; this godwit reads version 1",
                path.display(),
                lock.version
            )));
        }
        Ok(Some(lock))
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<(), PinError> {
        std::fs::write(path, self.to_text())
            .map_err(|source| PinError::Write { path: path.to_owned(), source })
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!("{HEADER}\n{body}")
    }

    /// What turns `self`'s components into `new`'s, by migration.
    pub fn diff(&self, new: &LockFile) -> Vec<Change<Locked>> {
        diff(&self.components, &new.components)
    }

    /// What turns `self`'s packs into `new`'s, by name.
    pub fn pack_diff(&self, new: &LockFile) -> Vec<Change<LockedPack>> {
        diff(&self.packs, &new.packs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locked(name: &str, sha: &str) -> Locked {
        Locked {
            migration: name.into(),
            file: format!("migrations/{name}.wasm"),
            sha256: sha.into(),
        }
    }

    #[test]
    fn diff_names_added_removed_and_changed_components() {
        let old = LockFile {
            version: 1,
            components: vec![locked("1_a", "aa"), locked("2_b", "bb")],
            packs: vec![],
        };
        let new = LockFile {
            version: 1,
            components: vec![locked("1_a", "a2"), locked("3_c", "cc")],
            packs: vec![],
        };
        assert_eq!(
            old.diff(&new),
            [
                Change::Changed { old: locked("1_a", "aa"), new: locked("1_a", "a2") },
                Change::Added(locked("3_c", "cc")),
                Change::Removed(locked("2_b", "bb")),
            ]
        );
        assert!(new.diff(&new).is_empty());
    }

    #[test]
    fn text_round_trips() {
        let pack = LockedPack {
            name: "billing".into(),
            version: "1.0.0".into(),
            dir: "packs/billing".into(),
            sha256: "bb".into(),
        };
        let lock =
            LockFile { version: 1, components: vec![locked("1_a", "aa")], packs: vec![pack] };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(&path, lock.to_text()).unwrap();
        assert_eq!(LockFile::read(&path).unwrap(), Some(lock));
        assert_eq!(LockFile::read(&dir.path().join("none")).unwrap(), None);
        std::fs::write(&path, "version = 2\n").unwrap();
        assert!(LockFile::read(&path).unwrap_err().to_string().contains("format version 2"));
    }
}
