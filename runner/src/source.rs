//! Where migrations come from. A [`MigrationSource`] resolves a set of migrations; the one
//! godwit ships reads a directory. File naming rules live here: a file that looks like a
//! migration but is malformed is an error naming the file, never silently skipped.

use crate::build::BuildMode;
use crate::checksum::Checksum;
use crate::error::{Error, ProblemKind, SourceProblem};
use crate::migration::{Key, Kind, Migration, Script, WasmScript};
use crate::sql_file;
use crate::version::{Version, VersionError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Anything that can produce the ordered list of migrations to consider.
pub trait MigrationSource {
    /// Every migration, versioned ones in version order followed by repeatables by name.
    fn resolve(&self) -> Result<Vec<Migration>, Error>;
}

/// Migrations read from the files of one directory, and from the Rust guest crates in its
/// subdirectories named like migrations.
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
    build: BuildMode,
    /// The pack these migrations belong to; empty for the project's own.
    stream: String,
}

impl DirSource {
    pub fn new(dir: impl Into<PathBuf>) -> DirSource {
        DirSource { dir: dir.into(), build: BuildMode::Build, stream: String::new() }
    }

    /// Whether resolving may build crate migrations (the default) or must use their last build.
    pub fn building(mut self, mode: BuildMode) -> DirSource {
        self.build = mode;
        self
    }

    /// Makes the migrations a pack's: recorded in the pack's stream, labelled `pack:0001_x`.
    pub fn in_stream(mut self, stream: impl Into<String>) -> DirSource {
        self.stream = stream.into();
        self
    }
}

/// What a directory entry's name says it is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileName {
    Versioned { version: Version, name: String },
    Repeatable { name: String },
    Ignored,
    Invalid(NameProblem),
}

/// Why a name that looks like a migration's is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("the file name has no version")]
    NoVersion,
    #[error("the file name has a version but no name after it")]
    NoName,
    #[error("the version must be followed by `_`")]
    BadSeparator,
    #[error("{0}")]
    Version(VersionError),
    #[error("`.{0}` files are not a migration kind godwit runs")]
    UnsupportedKind(String),
    #[error("a migration directory must be a Rust crate, with a Cargo.toml")]
    Directory,
}

impl NameProblem {
    pub fn hint(&self) -> &'static str {
        match self {
            NameProblem::NoVersion | NameProblem::NoName | NameProblem::BadSeparator => {
                "name versioned migrations `<version>_<name>.sql` (like `0001_create_users.sql`) and repeatable ones `R_<name>.sql`"
            }
            NameProblem::Version(_) => "use at most 18 digits, like `0001` or `20261122093000`",
            NameProblem::Directory => "`godwit new <name> --kind rust` creates one",
            NameProblem::UnsupportedKind(_) => {
                "migrations are `.sql` files and `.wasm` components; move other files out of the migrations directory"
            }
        }
    }
}

const BACKUP_SUFFIXES: &[&str] = &["~", ".bak", ".swp", ".swo", ".orig", ".tmp", ".rej"];

pub(crate) fn classify(file_name: &str, is_dir: bool) -> FileName {
    if file_name.starts_with('.')
        || file_name.starts_with('#')
        || BACKUP_SUFFIXES.iter().any(|s| file_name.ends_with(s))
    {
        return FileName::Ignored;
    }
    let looks_versioned = |stem: &str| {
        let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && matches!(stem.as_bytes().get(digits), Some(b'_' | b'-') | None)
    };
    // A directory named like a migration is a Rust guest crate; its name has no extension.
    let (stem, ext) = match is_dir {
        true if looks_versioned(file_name) => (file_name, "wasm"),
        true => return FileName::Ignored,
        false => file_name.rsplit_once('.').unwrap_or((file_name, "")),
    };
    if !ext.eq_ignore_ascii_case("sql") && !ext.eq_ignore_ascii_case("wasm") {
        return match looks_versioned(stem) {
            true => FileName::Invalid(NameProblem::UnsupportedKind(ext.to_owned())),
            false => FileName::Ignored,
        };
    }
    if let Some(name) = stem.strip_prefix("R_") {
        let name = name.trim_start_matches('_');
        return match name.is_empty() {
            true => FileName::Invalid(NameProblem::NoName),
            false => FileName::Repeatable { name: name.to_owned() },
        };
    }
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return FileName::Invalid(NameProblem::NoVersion);
    }
    let version = match stem[..digits].parse::<Version>() {
        Ok(version) => version,
        Err(e) => return FileName::Invalid(NameProblem::Version(e)),
    };
    match stem[digits..].strip_prefix('_') {
        Some(name) if !name.is_empty() => FileName::Versioned { version, name: name.to_owned() },
        Some(_) => FileName::Invalid(NameProblem::NoName),
        None if digits == stem.len() => FileName::Invalid(NameProblem::NoName),
        None => FileName::Invalid(NameProblem::BadSeparator),
    }
}

/// A file whose name makes it a migration: its path, key, name and whether it is a directory
/// (a guest crate).
type Found = (PathBuf, Key, String, bool);

impl DirSource {
    /// The directory's entries that name migrations, sorted by path, and the problems with
    /// names that look like migrations but are not valid ones.
    fn scan(&self) -> Result<(Vec<Found>, Vec<SourceProblem>), Error> {
        let read_error = |source| Error::ReadDir { path: self.dir.clone(), source };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            // The directory listing tells the type of most entries without a `stat` each (a
            // project has thousands of files); a symbolic link is followed.
            let is_dir = match entry.file_type() {
                Ok(t) if t.is_symlink() => entry.path().is_dir(),
                Ok(t) => t.is_dir(),
                Err(_) => entry.path().is_dir(),
            };
            paths.push((entry.path(), is_dir));
        }
        // Sorted, so that messages about duplicates name the files in a stable order.
        paths.sort();
        let mut found = Vec::new();
        let mut problems = Vec::new();
        for (path, is_dir) in paths {
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                problems.push(SourceProblem::new(&path, ProblemKind::NotUtf8Name));
                continue;
            };
            match classify(file_name, is_dir) {
                FileName::Ignored => {}
                FileName::Invalid(problem) => {
                    problems.push(SourceProblem::new(&path, ProblemKind::Name(problem)));
                }
                FileName::Versioned { version, name } => {
                    found.push((path, Key::Versioned(version), name, is_dir));
                }
                FileName::Repeatable { name } => {
                    found.push((path, Key::Repeatable(name.clone()), name, is_dir));
                }
            }
        }
        Ok((found, problems))
    }

    /// The newest version among the file names and how many digits its file name uses,
    /// without reading any file (so a half-written migration does not stop `godwit new`).
    pub fn newest_version(&self) -> Result<Option<(Version, usize)>, Error> {
        let (found, problems) = self.scan()?;
        if !problems.is_empty() {
            return Err(Error::InvalidMigrations { problems });
        }
        Ok(found
            .iter()
            .filter_map(|(path, key, _, _)| {
                let digits =
                    path.file_name()?.to_str()?.bytes().take_while(u8::is_ascii_digit).count();
                Some((key.version()?, digits))
            })
            .max())
    }
}

impl MigrationSource for DirSource {
    fn resolve(&self) -> Result<Vec<Migration>, Error> {
        let (found, mut problems) = self.scan()?;
        let files = load_files(&found);
        let mut versioned: BTreeMap<Version, Migration> = BTreeMap::new();
        let mut repeatable: BTreeMap<String, Migration> = BTreeMap::new();
        for ((path, key, name, _), file) in found.into_iter().zip(files) {
            let loaded = match file {
                Some(loaded) => loaded,
                None => load_crate(&path, key, name, self.build),
            };
            let mut migration = match loaded {
                Ok(migration) => migration,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            migration.stream.clone_from(&self.stream);
            migration.label = crate::migration::in_stream(&self.stream, migration.label);
            let slot = match &migration.key {
                Key::Versioned(v) => versioned.get(v),
                Key::Repeatable(n) => repeatable.get(n),
            };
            if let Some(first) = slot {
                let duplicate = ProblemKind::Duplicate { first: first.path.clone() };
                problems.push(SourceProblem::new(&path, duplicate));
                continue;
            }
            match migration.key.clone() {
                Key::Versioned(v) => versioned.insert(v, migration),
                Key::Repeatable(n) => repeatable.insert(n, migration),
            };
        }
        if !problems.is_empty() {
            return Err(Error::InvalidMigrations { problems });
        }
        Ok(versioned.into_values().chain(repeatable.into_values()).collect())
    }
}

/// Loads the plain files among `found` (not the crates, which may build), on a few threads
/// when there are many: a project of a thousand migrations spends most of a no-op run opening
/// and reading them. The result is in the order of `found`, `None` for each crate.
fn load_files(found: &[Found]) -> Vec<Option<Result<Migration, SourceProblem>>> {
    let load_one = |(path, key, name, is_dir): &Found| {
        (!is_dir).then(|| load(path, key.clone(), name.clone()))
    };
    const PER_THREAD: usize = 128;
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(4);
    if threads < 2 || found.len() < 2 * PER_THREAD {
        return found.iter().map(load_one).collect();
    }
    let chunk = found.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = found
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(load_one).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(loaded) => loaded,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn load_crate(
    dir: &Path,
    key: Key,
    name: String,
    mode: BuildMode,
) -> Result<Migration, SourceProblem> {
    if !dir.join("Cargo.toml").is_file() {
        return Err(SourceProblem::new(dir, ProblemKind::Name(NameProblem::Directory)));
    }
    let io = |e: std::io::Error| SourceProblem::new(dir, ProblemKind::Io(e.to_string()));
    let checksum = crate::build::source_checksum(dir).map_err(io)?;
    let artifact = crate::build::component(dir, mode)
        .map_err(|e| SourceProblem::new(dir, ProblemKind::Build(e)))?;
    let bytes = std::fs::read(&artifact).map_err(io)?;
    let label = dir.file_name().and_then(|s| s.to_str()).unwrap_or(&name).to_owned();
    Ok(Migration {
        stream: String::new(),
        key,
        name,
        label,
        path: dir.to_owned(),
        kind: Kind::Wasm,
        checksum,
        script: Script::Wasm(WasmScript { bytes: Arc::new(bytes), prepared: None }),
    })
}

fn load(path: &Path, key: Key, name: String) -> Result<Migration, SourceProblem> {
    let bytes = std::fs::read(path)
        .map_err(|e| SourceProblem::new(path, ProblemKind::Io(e.to_string())))?;
    let label = path.file_stem().and_then(|s| s.to_str()).unwrap_or(&name).to_owned();
    let is_wasm = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
    if is_wasm {
        if bytes.is_empty() {
            return Err(SourceProblem::new(path, ProblemKind::Empty));
        }
        return Ok(Migration {
            stream: String::new(),
            key,
            name,
            label,
            path: path.to_owned(),
            kind: Kind::Wasm,
            checksum: Checksum::of_bytes(&bytes),
            script: Script::Wasm(WasmScript { bytes: Arc::new(bytes), prepared: None }),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        SourceProblem::new(path, ProblemKind::NotUtf8 { line })
    })?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(SourceProblem::new(path, ProblemKind::Empty));
    }
    let script = sql_file::parse(text.strip_prefix('\u{feff}').unwrap_or(&text))
        .map_err(|e| SourceProblem::new(path, ProblemKind::Content(e)))?;
    Ok(Migration {
        stream: String::new(),
        key,
        name,
        label,
        path: path.to_owned(),
        kind: Kind::Sql,
        checksum: Checksum::of_text(&text),
        script: Script::Sql(script),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: i64) -> Version {
        Version::new(n).unwrap()
    }

    #[test]
    fn versioned_and_repeatable_names() {
        assert_eq!(
            classify("0003_add_email.sql", false),
            FileName::Versioned { version: v(3), name: "add_email".into() }
        );
        assert_eq!(
            classify("20261122093000_backfill.SQL", false),
            FileName::Versioned { version: v(20261122093000), name: "backfill".into() }
        );
        assert_eq!(classify("R_views.sql", false), FileName::Repeatable { name: "views".into() });
        assert_eq!(classify("R__views.sql", false), FileName::Repeatable { name: "views".into() });
    }

    #[test]
    fn obvious_non_migrations_are_ignored() {
        for name in [
            "README.md",
            ".gitkeep",
            "0001_x.sql~",
            "0001_x.sql.bak",
            ".0001_x.sql.swp",
            "#0001_x.sql#",
            "notes.txt",
            "schema.json",
        ] {
            assert_eq!(classify(name, false), FileName::Ignored, "{name}");
        }
        assert_eq!(classify("fixtures", true), FileName::Ignored);
    }

    #[test]
    fn malformed_names_are_errors() {
        let invalid = |name, dir| match classify(name, dir) {
            FileName::Invalid(p) => p,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(invalid("add_users.sql", false), NameProblem::NoVersion);
        assert_eq!(invalid("V1__add_users.sql", false), NameProblem::NoVersion);
        assert_eq!(invalid("0001.sql", false), NameProblem::NoName);
        assert_eq!(invalid("0001_.sql", false), NameProblem::NoName);
        assert_eq!(invalid("0001-add.sql", false), NameProblem::BadSeparator);
        assert_eq!(invalid("R_.sql", false), NameProblem::NoName);
        assert!(matches!(invalid("99999999999999999999_x.sql", false), NameProblem::Version(_)));
        assert_eq!(invalid("0001_x.py", false), NameProblem::UnsupportedKind("py".into()));
        assert_eq!(
            classify("0002_backfill", true),
            FileName::Versioned { version: v(2), name: "backfill".into() }
        );
    }
}
