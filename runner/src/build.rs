//! Rust guest crates as migrations: a `<version>_<name>/` directory holding a crate that
//! depends on `godwit-sdk`. godwit asks cargo where the crate's artifact is
//! (`cargo metadata`), builds it for `wasm32-wasip2` when asked, and reads the component
//! cargo reports (`--message-format json`), so it runs exactly what cargo built.
//!
//! The checksum of a crate migration is taken over its source, not its artifact, so that it
//! stays the same across rebuilds, toolchains and machines: every file under the directory
//! except `target/` and hidden entries, by relative path and content, in path order (the
//! crate's `Cargo.lock` included when it has one).

use crate::checksum::Checksum;
use cargo_metadata::{Message, MetadataCommand};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether a line of cargo's stderr says what cargo is doing (rather than a diagnostic).
fn is_progress(line: &str) -> bool {
    let word = line.trim_start().split(' ').next().unwrap_or_default();
    ["Compiling", "Updating", "Downloading", "Downloaded", "Locking", "Adding", "Finished"]
        .contains(&word)
}

/// Whether resolving crate migrations may run cargo to build them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildMode {
    /// Build every crate migration (cargo does nothing for an up-to-date one).
    #[default]
    Build,
    /// Use the artifacts already built; a missing one is an error.
    NoBuild,
}

/// Why a crate migration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("the wasm32-wasip2 target is not installed")]
    TargetMissing,
    #[error("cannot run cargo: {0}")]
    Cargo(String),
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
    #[error("the crate has no `cdylib` library target to build a component from")]
    NoCdylib,
    #[error("the build failed:\n{0}")]
    Failed(String),
    #[error("not built yet (expected {})", .0.display())]
    NotBuilt(PathBuf),
}

/// The checksum of a crate's source tree, as this module describes.
pub fn source_checksum(dir: &Path) -> std::io::Result<Checksum> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut text = Vec::new();
    for relative in files {
        let content = std::fs::read(dir.join(&relative))?;
        text.extend_from_slice(relative.as_bytes());
        text.push(0);
        text.extend_from_slice(content.len().to_string().as_bytes());
        text.push(0);
        text.extend_from_slice(&content);
    }
    Ok(Checksum::of_bytes(&text))
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (dir == root && name == "target") {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// A `cargo` command (`$CARGO` when set) without the variables cargo sets for the package it
/// is running: when godwit (or a test) itself runs under cargo, they describe that package,
/// not the one being built, and build scripts that watch them would rebuild every time.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&key.as_ref())
        {
            command.env_remove(key.as_ref());
        }
    }
    command
}

/// Builds (or, with [`BuildMode::NoBuild`], finds) the component of the crate in `dir`;
/// cargo's progress lines (`Compiling ...`, `Finished ...`) go to `progress` as cargo writes
/// them, so that a build of minutes is not silence. Cargo's diagnostics come back in the
/// error of a failed build.
pub fn component(
    dir: &Path,
    mode: BuildMode,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, BuildError> {
    let manifest = dir.join("Cargo.toml");
    let metadata = MetadataCommand::new()
        .cargo_path(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .map_err(|e| BuildError::Metadata(e.to_string()))?;
    let manifest = std::fs::canonicalize(&manifest).unwrap_or(manifest);
    let package = metadata
        .packages
        .iter()
        .find(|p| std::fs::canonicalize(&p.manifest_path).is_ok_and(|m| m == manifest))
        .ok_or_else(|| BuildError::Metadata("the crate is not in cargo's metadata".to_owned()))?;
    let target = package
        .targets
        .iter()
        .find(|t| t.crate_types.iter().any(|c| c.to_string() == "cdylib"))
        .ok_or(BuildError::NoCdylib)?;
    let expected = metadata
        .target_directory
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", target.name.replace('-', "_")))
        .into_std_path_buf();
    if mode == BuildMode::NoBuild {
        return match expected.is_file() {
            true => Ok(expected),
            false => Err(BuildError::NotBuilt(expected)),
        };
    }
    let mut child = cargo()
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format",
            "json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BuildError::Cargo(e.to_string()))?;
    let stdout = child.stdout.take().ok_or_else(|| BuildError::Cargo("no stdout".into()))?;
    let stderr = child.stderr.take().ok_or_else(|| BuildError::Cargo("no stderr".into()))?;
    // Cargo's messages are read on a thread of their own while its stderr is read here, where
    // the progress goes: cargo blocks once a pipe nobody reads is full.
    let id = package.id.clone();
    let messages = std::thread::spawn(move || {
        let mut artifact = None;
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            if let Message::CompilerArtifact(built) = message
                && built.package_id == id
            {
                artifact = built
                    .filenames
                    .iter()
                    .find(|f| f.extension() == Some("wasm"))
                    .map(|f| f.clone().into_std_path_buf())
                    .or(artifact);
            }
        }
        artifact
    });
    let (mut tail, mut target_missing) = (std::collections::VecDeque::new(), false);
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        target_missing |= line.contains("wasm32-wasip2") && line.contains("may not be installed");
        if is_progress(&line) {
            progress(&line);
        }
        if tail.len() == 30 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let artifact = messages.join().unwrap_or_default();
    let status = child.wait().map_err(|e| BuildError::Cargo(e.to_string()))?;
    if !status.success() {
        if target_missing {
            return Err(BuildError::TargetMissing);
        }
        return Err(BuildError::Failed(Vec::from(tail).join("\n")));
    }
    artifact.ok_or_else(|| BuildError::Failed("cargo reported no .wasm artifact".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_checksum_ignores_target_and_hidden_files_but_not_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn a() {}").unwrap();
        let base = source_checksum(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("target/release")).unwrap();
        std::fs::write(dir.path().join("target/release/x.wasm"), "binary").unwrap();
        std::fs::write(dir.path().join(".swp"), "editor").unwrap();
        assert_eq!(source_checksum(dir.path()).unwrap(), base);
        std::fs::write(dir.path().join("src/lib.rs"), "fn b() {}").unwrap();
        assert_ne!(source_checksum(dir.path()).unwrap(), base);
    }
}
