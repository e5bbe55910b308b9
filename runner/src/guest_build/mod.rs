//! Migrations written as source: a `<version>_<name>/` directory that godwit builds into a
//! WebAssembly component before it runs it. What marks the language is one file at the top
//! of the directory:
//!
//! | language   | marker          | built with                                        |
//! |------------|-----------------|---------------------------------------------------|
//! | Rust       | `Cargo.toml`    | cargo, for `wasm32-wasip2`                        |
//! | Python     | `migration.py`  | componentize-py                                   |
//! | JavaScript | `migration.js`  | componentize-qjs (QuickJS)                        |
//! | C          | `migration.c`   | wit-bindgen's C generator, clang, wasm-component-ld |
//!
//! A directory with two markers is an error, never a guess. Every build is against the SDK
//! and contract this godwit carries ([`sdk`]), whatever the directory's dependency line says.
//!
//! The checksum of a source migration covers its source, not what was built from it, so
//! that it stays the same across rebuilds, toolchains and machines: every file under the
//! directory by relative path and content, in path order, except hidden entries, a top-level
//! `target/`, and `__pycache__/` and `node_modules/` anywhere (a crate's `Cargo.lock`, a
//! `package-lock.json` are included).

mod cargo;
mod other;
pub(crate) mod run;
pub mod sdk;
pub mod toolchain;

pub use cargo::cargo;

use self::toolchain::{ToolchainError, Toolchains};
use crate::checksum::Checksum;
use std::path::{Path, PathBuf};

/// Whether resolving source migrations may build them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildMode {
    /// Build every source migration whose sources changed since its last build.
    #[default]
    Build,
    /// Use the artifacts already built; a missing one is an error.
    NoBuild,
}

/// The language of a source migration, told by its marker file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    C,
}

impl Language {
    pub const ALL: [Language; 4] =
        [Language::Rust, Language::Python, Language::JavaScript, Language::C];

    /// The file that marks a migration directory as this language's.
    pub fn marker(self) -> &'static str {
        match self {
            Language::Rust => "Cargo.toml",
            Language::Python => "migration.py",
            Language::JavaScript => "migration.js",
            Language::C => "migration.c",
        }
    }

    /// `rust`, `python`, `js`, `c`: the name commands use.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
            Language::C => "c",
        }
    }

    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.name() == name)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::C => "C",
        })
    }
}

/// Why a source migration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error(
        "a migration directory must hold one of Cargo.toml (Rust), migration.py (Python), \
         migration.js (JavaScript) or migration.c (C)"
    )]
    NoMarker,
    #[error("the directory looks like {}: it holds {}", languages(.0), markers(.0))]
    Ambiguous(Vec<Language>),
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    #[error("the wasm32-wasip2 target is not installed")]
    TargetMissing,
    #[error("cannot run {tool}: {reason}")]
    Run { tool: String, reason: String },
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
    #[error("the crate has no `cdylib` library target to build a component from")]
    NoCdylib,
    #[error("the {language} build failed:\n{output}")]
    Failed { language: Language, output: String },
    #[error("not built yet (expected {})", .0.display())]
    NotBuilt(PathBuf),
    #[error("no cache directory to build in")]
    NoCache,
    #[error("cannot prepare the build: {0}")]
    Io(String),
}

fn languages(found: &[Language]) -> String {
    let names: Vec<_> = found.iter().map(Language::to_string).collect();
    names.join(" and ")
}

fn markers(found: &[Language]) -> String {
    let names: Vec<_> = found.iter().map(|l| l.marker()).collect();
    names.join(" and ")
}

/// The language of the migration directory `dir`.
pub fn detect(dir: &Path) -> Result<Language, BuildError> {
    let found: Vec<_> =
        Language::ALL.into_iter().filter(|l| dir.join(l.marker()).is_file()).collect();
    match found.as_slice() {
        [] => Err(BuildError::NoMarker),
        [one] => Ok(*one),
        _ => Err(BuildError::Ambiguous(found)),
    }
}

/// What a build says while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildProgress<'a> {
    /// A Python, JavaScript or C build starts (it was not in the cache). Cargo says for
    /// itself when it compiles a Rust migration.
    Started(Language),
    /// A line a build tool wrote (for cargo, only its progress lines: `Compiling ...`).
    Line(&'a str),
}

/// A built source migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub language: Language,
    /// The component.
    pub artifact: PathBuf,
    /// The checksum of the sources, as this module describes.
    pub checksum: Checksum,
}

/// Builds source migrations: whether it may build, where its cache is (the carried SDK and
/// the components built from Python, JavaScript and C sources), where the toolchains are.
#[derive(Debug, Clone)]
pub struct Builder {
    mode: BuildMode,
    cache: Option<PathBuf>,
    toolchains: Toolchains,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new(BuildMode::Build)
    }
}

impl Builder {
    /// A builder with no cache directory and no installed toolchains: Rust crates build with
    /// the cargo on `PATH`; the other languages, and the carried SDK, need
    /// [`Builder::cache_dir`] and [`Builder::toolchains`] (the `godwit` command sets both from
    /// its environment).
    pub fn new(mode: BuildMode) -> Builder {
        Builder { mode, cache: None, toolchains: Toolchains::default() }
    }

    /// Where the carried SDK and the built components go.
    pub fn cache(&self) -> Option<&Path> {
        self.cache.as_deref()
    }

    pub fn mode(&self) -> BuildMode {
        self.mode
    }

    pub fn with_mode(mut self, mode: BuildMode) -> Builder {
        self.mode = mode;
        self
    }

    /// Where the carried SDK and the built components go (none by default).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.cache = Some(dir.into());
        self
    }

    pub fn toolchains(mut self, toolchains: Toolchains) -> Builder {
        self.toolchains = toolchains;
        self
    }

    /// The carried SDK, written to the cache if it is not there yet.
    pub fn sdk(&self) -> Result<sdk::SdkDir, BuildError> {
        let cache = self.cache.as_deref().ok_or(BuildError::NoCache)?;
        sdk::materialize(cache)
            .map_err(|e| BuildError::Io(format!("the SDK in {}: {e}", cache.display())))
    }

    /// Builds (or, with [`BuildMode::NoBuild`], finds) the component of the migration
    /// directory `dir`. The tools' progress goes to `progress` line by line as they write
    /// it, so a build of minutes is not silence; their diagnostics come back in the error of
    /// a failed build, with paths that name the files in `dir`.
    pub fn build(
        &self,
        dir: &Path,
        progress: &mut dyn FnMut(BuildProgress<'_>),
    ) -> Result<Built, BuildError> {
        let language = detect(dir)?;
        let checksum = |dir: &Path| {
            source_checksum(dir)
                .map_err(|e| BuildError::Io(format!("cannot read {}: {e}", dir.display())))
        };
        match language {
            Language::Rust => {
                let lines = &mut |line: &str| progress(BuildProgress::Line(line));
                let artifact = cargo::component(dir, self, lines)?;
                // After the build: cargo writes the crate's Cargo.lock on its first one.
                Ok(Built { language, artifact, checksum: checksum(dir)? })
            }
            _ => {
                let checksum = checksum(dir)?;
                let artifact = other::component(dir, language, &checksum, self, progress)?;
                Ok(Built { language, artifact, checksum })
            }
        }
    }
}

/// The checksum of a source migration's directory, as this module describes.
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

/// Whether a directory entry is left out of a source migration's checksum (and of the copy
/// its build works on).
pub(crate) fn ignored(name: &str, top_level: bool) -> bool {
    name.starts_with('.')
        || name == "__pycache__"
        || name == "node_modules"
        || (top_level && name == "target")
}

pub(super) fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if ignored(&name, dir == root) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_checksum_ignores_build_output_and_hidden_files_but_not_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn a() {}").unwrap();
        let base = source_checksum(dir.path()).unwrap();
        for junk in ["target/release/x.wasm", "src/__pycache__/m.pyc", "node_modules/a/i.js"] {
            let path = dir.path().join(junk);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "built").unwrap();
        }
        std::fs::write(dir.path().join(".swp"), "editor").unwrap();
        assert_eq!(source_checksum(dir.path()).unwrap(), base);
        std::fs::write(dir.path().join("src/target"), "a source file named target").unwrap();
        assert_ne!(source_checksum(dir.path()).unwrap(), base);
        std::fs::write(dir.path().join("src/lib.rs"), "fn b() {}").unwrap();
        assert_ne!(source_checksum(dir.path()).unwrap(), base);
    }

    #[test]
    fn one_marker_one_language() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect(dir.path()), Err(BuildError::NoMarker));
        std::fs::write(dir.path().join("migration.py"), "").unwrap();
        assert_eq!(detect(dir.path()), Ok(Language::Python));
        std::fs::write(dir.path().join("migration.js"), "").unwrap();
        let error = detect(dir.path()).unwrap_err();
        assert_eq!(error, BuildError::Ambiguous(vec![Language::Python, Language::JavaScript]));
        assert_eq!(
            error.to_string(),
            "the directory looks like Python and JavaScript: it holds migration.py and migration.js"
        );
    }
}
