//! `godwit.lock`: the SHA-256 of every WebAssembly migration a project runs.
//!
//! Once a project has a lock file, `godwit up` and `godwit down` run only components whose
//! checksum (the bytes of a `.wasm` file, the source tree of a crate migration) is the one
//! locked: a component replaced behind the reviewer's back, or one nobody locked, is refused
//! before anything runs. `godwit lock` rewrites the file deliberately and shows what changed.

use crate::migration::{Kind, Migration};
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

/// A difference between two lock files, or between a lock file and the migrations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added(Locked),
    Removed(Locked),
    Changed { old: Locked, new: Locked },
}

const HEADER: &str = "# godwit.lock: the SHA-256 of every WebAssembly migration this project runs.\n\
                      # `godwit up` refuses a component that is not listed here with this hash;\n\
                      # `godwit lock` updates the file. Review the change before you commit it.\n";

impl LockFile {
    /// The lock of `migrations`' components, with paths relative to `project`.
    pub fn of(migrations: &[Migration], project: &Path) -> LockFile {
        let components = migrations
            .iter()
            .filter(|m| m.kind == Kind::Wasm)
            .map(|m| Locked {
                migration: m.label.clone(),
                file: m
                    .path
                    .strip_prefix(project)
                    .unwrap_or(&m.path)
                    .to_string_lossy()
                    .replace('\\', "/"),
                sha256: m.checksum.to_string(),
            })
            .collect();
        LockFile { version: 1, components }
    }

    /// Reads `path`; `None` when there is no lock file.
    pub fn read(path: &Path) -> Result<Option<LockFile>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let lock: LockFile = toml::from_str(&text)
            .map_err(|e| format!("invalid {}: {}", path.display(), e.to_string().trim_end()))?;
        if lock.version != 1 {
            return Err(format!(
                "{} has format version {}; this godwit reads version 1",
                path.display(),
                lock.version
            ));
        }
        Ok(Some(lock))
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!("{HEADER}\n{body}")
    }

    /// What turns `self` into `new`, by migration.
    pub fn diff(&self, new: &LockFile) -> Vec<Change> {
        let find = |list: &[Locked], name: &str| list.iter().find(|l| l.migration == name).cloned();
        let mut changes = Vec::new();
        for locked in &new.components {
            match find(&self.components, &locked.migration) {
                None => changes.push(Change::Added(locked.clone())),
                Some(old) if old != *locked => {
                    changes.push(Change::Changed { old, new: locked.clone() });
                }
                Some(_) => {}
            }
        }
        for old in &self.components {
            if find(&new.components, &old.migration).is_none() {
                changes.push(Change::Removed(old.clone()));
            }
        }
        changes
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
        let old =
            LockFile { version: 1, components: vec![locked("1_a", "aa"), locked("2_b", "bb")] };
        let new =
            LockFile { version: 1, components: vec![locked("1_a", "a2"), locked("3_c", "cc")] };
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
        let lock = LockFile { version: 1, components: vec![locked("1_a", "aa")] };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(&path, lock.to_text()).unwrap();
        assert_eq!(LockFile::read(&path).unwrap(), Some(lock));
        assert_eq!(LockFile::read(&dir.path().join("none")).unwrap(), None);
        std::fs::write(&path, "version = 2\n").unwrap();
        assert!(LockFile::read(&path).unwrap_err().contains("format version 2"));
    }
}
