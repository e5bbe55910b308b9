//! The contract and the guest SDKs of this godwit, carried inside it: `wit/`, the Rust crate
//! `godwit-sdk`, the Python module, the JavaScript module and the C header and source. A
//! build needs them on disk, so they are written once to a directory of the cache named by
//! godwit's version and a hash of the files themselves,
//! `<cache>/sdk/<version>-<hash>/{wit,rust,python,js,c}`, and never into a project: a
//! migration's directory holds only what its author wrote, and two godwit versions on one
//! machine each build against their own SDK.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `(path in the SDK directory, contents)` of every carried file but the Rust manifest.
const FILES: &[(&str, &str)] = &[
    ("wit/migration.wit", include_str!("../../../wit/migration.wit")),
    ("rust/src/lib.rs", include_str!("../../../sdk/src/lib.rs")),
    ("rust/src/set.rs", include_str!("../../../sdk/src/set.rs")),
    ("rust/src/sql.rs", include_str!("../../../sdk/src/sql.rs")),
    ("rust/src/value.rs", include_str!("../../../sdk/src/value.rs")),
    ("python/godwit.py", include_str!("../../../sdk/python/godwit.py")),
    ("js/godwit.js", include_str!("../../../sdk/js/godwit.js")),
    ("c/godwit.h", include_str!("../../../sdk/c/godwit.h")),
    ("c/godwit.c", include_str!("../../../sdk/c/godwit.c")),
];

/// The SDK crate's manifest inherits from godwit's workspace; the carried crate stands alone.
const RUST_MANIFEST: &str = include_str!("../../../sdk/Cargo.toml");

/// The Rust crate's manifest with every `workspace = true` field spelled out, and a
/// `[workspace]` of its own so it builds wherever it is put.
fn rust_manifest() -> String {
    let mut text = String::new();
    for line in RUST_MANIFEST.lines() {
        let field = line.split_once(".workspace = true").map(|(field, _)| field.trim());
        let value = match field {
            Some("version") => Some(crate::GODWIT_VERSION),
            Some("edition") => Some("2024"),
            Some("rust-version") => Some(env!("CARGO_PKG_RUST_VERSION")),
            Some("license") => Some(env!("CARGO_PKG_LICENSE")),
            Some("repository") => Some(env!("CARGO_PKG_REPOSITORY")),
            _ => None,
        };
        match (field, value) {
            (Some(field), Some(value)) => text.push_str(&format!("{field} = \"{value}\"\n")),
            _ => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text.push_str("\n# Carried by godwit and built wherever it is put.\n[workspace]\n");
    text
}

/// Every carried file, the Rust manifest included.
fn files() -> Vec<(&'static str, String)> {
    let mut files: Vec<_> = FILES.iter().map(|(path, text)| (*path, (*text).to_owned())).collect();
    files.push(("rust/Cargo.toml", rust_manifest()));
    files
}

/// The first 12 hex digits of a hash over every carried file: it names the SDK directory and
/// goes into the key of every build made against it.
pub fn fingerprint() -> String {
    let mut hasher = Sha256::new();
    for (path, text) in files() {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(text.len().to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The carried SDK written out under `cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkDir {
    pub root: PathBuf,
}

impl SdkDir {
    /// `wit/`, for the bindings generators.
    pub fn wit(&self) -> PathBuf {
        self.root.join("wit")
    }

    /// The `godwit-sdk` crate.
    pub fn rust(&self) -> PathBuf {
        self.root.join("rust")
    }

    /// The directory holding `godwit.py`.
    pub fn python(&self) -> PathBuf {
        self.root.join("python")
    }

    /// `godwit.js`.
    pub fn js_module(&self) -> PathBuf {
        self.root.join("js/godwit.js")
    }

    /// The directory holding `godwit.h` and `godwit.c`.
    pub fn c(&self) -> PathBuf {
        self.root.join("c")
    }
}

/// Writes the carried SDK under `cache` unless a complete copy is already there, and says
/// where. A copy is written to a temporary directory beside it and renamed into place, so a
/// concurrent godwit never sees half of one.
pub fn materialize(cache: &Path) -> std::io::Result<SdkDir> {
    let parent = cache.join("sdk");
    let root = parent.join(format!("{}-{}", crate::GODWIT_VERSION, fingerprint()));
    let sdk = SdkDir { root: root.clone() };
    if root.join("rust/Cargo.toml").is_file() {
        return Ok(sdk);
    }
    std::fs::create_dir_all(&parent)?;
    let staging = tempfile::Builder::new().prefix(".sdk-").tempdir_in(&parent)?;
    for (path, text) in files() {
        let target = staging.path().join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(target, text)?;
    }
    match std::fs::rename(staging.path(), &root) {
        Ok(()) => {
            // The directory is in place; nothing is left to remove.
            let _ = staging.keep();
            Ok(sdk)
        }
        // Another godwit put the same copy there first.
        Err(_) if root.join("rust/Cargo.toml").is_file() => Ok(sdk),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carried_crate_stands_alone() {
        let manifest = rust_manifest();
        assert!(!manifest.contains("workspace = true"), "{manifest}");
        assert!(manifest.contains(&format!("version = \"{}\"", crate::GODWIT_VERSION)));
        assert!(manifest.contains("name = \"godwit-sdk\""));
        assert!(manifest.trim_end().ends_with("[workspace]"));
        toml::from_str::<toml::Table>(&manifest).expect("a valid manifest");
    }

    #[test]
    fn materialized_once_and_complete() {
        let cache = tempfile::tempdir().unwrap();
        let sdk = materialize(cache.path()).unwrap();
        assert!(sdk.wit().join("migration.wit").is_file());
        assert!(sdk.python().join("godwit.py").is_file());
        assert!(sdk.js_module().is_file());
        assert!(sdk.c().join("godwit.h").is_file());
        assert_eq!(materialize(cache.path()).unwrap(), sdk);
        let entries = std::fs::read_dir(cache.path().join("sdk")).unwrap().count();
        assert_eq!(entries, 1, "no staging directory is left behind");
    }
}
