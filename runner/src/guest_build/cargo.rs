//! Rust migrations: a `<version>_<name>/` directory holding a crate that depends on
//! `godwit-sdk`. godwit asks cargo where the crate's artifact is (`cargo metadata`), builds
//! it for `wasm32-wasip2` with `godwit-sdk` patched to the SDK this godwit carries (so the
//! crate's dependency line can name a published version, and still builds against exactly
//! the SDK of the godwit that runs it), and reads the component cargo reports
//! (`--message-format json`), so it runs exactly what cargo built.

use super::{BuildError, BuildMode, Builder, Language};
use cargo_metadata::{Message, MetadataCommand, PackageId};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether a line of cargo's stderr says what cargo is doing (rather than a diagnostic).
fn is_progress(line: &str) -> bool {
    let word = line.trim_start().split(' ').next().unwrap_or_default();
    ["Compiling", "Updating", "Downloading", "Downloaded", "Locking", "Adding", "Finished"]
        .contains(&word)
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
pub(super) fn component(
    dir: &Path,
    builder: &Builder,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, BuildError> {
    let (manifest, package, expected) = locate(dir)?;
    if builder.mode() == BuildMode::NoBuild {
        return match expected.is_file() {
            true => Ok(expected),
            false => Err(BuildError::NotBuilt(expected)),
        };
    }
    // The crate's `godwit-sdk` dependency, whatever version it names, is the carried SDK.
    let sdk = builder.sdk()?.rust();
    let patch = toml::Value::String(sdk.display().to_string());
    let mut child = cargo()
        .arg("--config")
        .arg(format!("patch.crates-io.godwit-sdk.path={patch}"))
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
        .map_err(run_error)?;
    let pipe =
        |stream: &str| BuildError::Run { tool: "cargo".into(), reason: format!("no {stream}") };
    let stdout = child.stdout.take().ok_or_else(|| pipe("stdout"))?;
    let stderr = child.stderr.take().ok_or_else(|| pipe("stderr"))?;
    // Cargo's messages are read on a thread of their own while its stderr is read here, where
    // the progress goes: cargo blocks once a pipe nobody reads is full.
    let messages = std::thread::spawn(move || artifact(stdout, &package));
    let said = read_stderr(stderr, progress);
    let artifact = messages.join().unwrap_or_default();
    let status = child.wait().map_err(run_error)?;
    if !status.success() {
        if said.target_missing {
            return Err(BuildError::TargetMissing);
        }
        return Err(failed(Vec::from(said.tail).join("\n")));
    }
    artifact.ok_or_else(|| failed("cargo reported no .wasm artifact".to_owned()))
}

/// The crate's manifest, its package id, and where cargo puts its component (what cargo's
/// metadata says).
fn locate(dir: &Path) -> Result<(PathBuf, PackageId, PathBuf), BuildError> {
    let manifest = dir.join("Cargo.toml");
    let metadata = MetadataCommand::new()
        .cargo_path(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .map_err(|e| match e {
            cargo_metadata::Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::guest_build::toolchain::ToolchainError::Missing {
                    language: Language::Rust,
                    tool: "cargo".to_owned(),
                    install: crate::guest_build::toolchain::rustup_install(),
                }
                .into()
            }
            e => BuildError::Metadata(e.to_string()),
        })?;
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
    Ok((manifest, package.id.clone(), expected))
}

/// The `.wasm` file cargo's messages report for `package`.
fn artifact(stdout: impl Read, package: &PackageId) -> Option<PathBuf> {
    let mut artifact = None;
    for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
        if let Message::CompilerArtifact(built) = message
            && built.package_id == *package
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
}

/// What cargo said on stderr: its last lines, and whether the target is missing.
struct Said {
    tail: VecDeque<String>,
    target_missing: bool,
}

/// Reads cargo's stderr to the end, passing its progress lines on.
fn read_stderr(stderr: impl Read, progress: &mut dyn FnMut(&str)) -> Said {
    let mut said = Said { tail: VecDeque::new(), target_missing: false };
    let mut compiled = false;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        said.target_missing |=
            line.contains("wasm32-wasip2") && line.contains("may not be installed");
        compiled |= line.trim_start().starts_with("Compiling");
        // `Finished` alone, for a crate that was up to date, is noise on every command.
        if is_progress(&line) && (compiled || !line.trim_start().starts_with("Finished")) {
            progress(&line);
        }
        if said.tail.len() == 30 {
            said.tail.pop_front();
        }
        said.tail.push_back(line);
    }
    said
}

fn run_error(error: std::io::Error) -> BuildError {
    BuildError::Run { tool: "cargo".to_owned(), reason: error.to_string() }
}

fn failed(output: String) -> BuildError {
    BuildError::Failed { language: Language::Rust, output }
}
