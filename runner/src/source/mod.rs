//! Where migrations come from. A [`MigrationSource`] resolves a set of migrations; the one
//! godwit ships reads a directory. File naming rules live in `name.rs`: a file that looks like a
//! migration but is malformed is an error naming the file, never silently skipped.

pub(crate) mod name;
mod problem;

pub use self::name::NameProblem;
pub use self::problem::{ProblemKind, SourceError, SourceProblem};
pub use crate::sql_file::SqlFileError;

use self::name::{FileName, classify};
use crate::build::{BuildMode, BuildProgress, Builder};
use crate::checksum::Checksum;
use crate::migration::{Key, Kind, Migration, Script, WasmScript};
use crate::report::{Event, Reporter};
use crate::sql_file;
use crate::stream::Stream;
use crate::version::Version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Anything that can produce the ordered list of migrations to consider.
pub trait MigrationSource {
    /// Every migration, versioned ones in version order followed by repeatables by name.
    /// Slow work (building crate migrations) reports its progress to `reporter`.
    fn resolve(&self, reporter: &mut dyn Reporter) -> Result<Vec<Migration>, SourceError>;
}

/// Migrations read from the files of one directory, and from the Rust guest crates in its
/// subdirectories named like migrations.
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
    builder: Builder,
    /// Whose migrations these are: the project's, or a pack's.
    stream: Stream,
}

impl DirSource {
    pub fn new(dir: impl Into<PathBuf>) -> DirSource {
        DirSource { dir: dir.into(), builder: Builder::default(), stream: Stream::Project }
    }

    /// Whether resolving may build source migrations (the default) or must use their last
    /// build.
    pub fn building(mut self, mode: BuildMode) -> DirSource {
        self.builder = self.builder.with_mode(mode);
        self
    }

    /// How source migrations are built: mode, cache directory, toolchains.
    pub fn builder(mut self, builder: Builder) -> DirSource {
        self.builder = builder;
        self
    }

    /// Makes the migrations a pack's: recorded in the pack's stream, labelled `pack:0001_x`.
    pub fn in_stream(mut self, stream: Stream) -> DirSource {
        self.stream = stream;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A file whose name makes it a migration: its path, key, name and whether it is a directory
/// (a guest crate).
type Found = (PathBuf, Key, String, bool);

impl DirSource {
    /// The directory's entries that name migrations, sorted by path, and the problems with
    /// names that look like migrations but are not valid ones.
    fn scan(&self) -> Result<(Vec<Found>, Vec<SourceProblem>), SourceError> {
        let read_error = |source| SourceError::ReadDir { path: self.dir.clone(), source };
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
    pub fn newest_version(&self) -> Result<Option<(Version, usize)>, SourceError> {
        let (found, problems) = self.scan()?;
        if !problems.is_empty() {
            return Err(SourceError::Invalid { problems });
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
    fn resolve(&self, reporter: &mut dyn Reporter) -> Result<Vec<Migration>, SourceError> {
        let (found, mut problems) = self.scan()?;
        let files = load_files(&found);
        let mut versioned: BTreeMap<Version, Migration> = BTreeMap::new();
        let mut repeatable: BTreeMap<String, Migration> = BTreeMap::new();
        for ((path, key, name, _), file) in found.into_iter().zip(files) {
            let loaded = match file {
                Some(loaded) => loaded,
                None => load_source(&path, key, name, &self.builder, reporter),
            };
            let mut migration = match loaded {
                Ok(migration) => migration,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            migration.label = self.stream.label(&migration.label);
            migration.stream = self.stream.clone();
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
            return Err(SourceError::Invalid { problems });
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

/// A migration directory: built by its language's toolchain into a component.
fn load_source(
    dir: &Path,
    key: Key,
    name: String,
    builder: &Builder,
    reporter: &mut dyn Reporter,
) -> Result<Migration, SourceProblem> {
    let progress = &mut |progress: BuildProgress<'_>| match progress {
        BuildProgress::Started(language) => reporter.report(Event::Building { dir, language }),
        BuildProgress::Line(line) => reporter.report(Event::BuildOutput { dir, line }),
    };
    let built =
        builder.build(dir, progress).map_err(|e| SourceProblem::new(dir, ProblemKind::Build(e)))?;
    let bytes =
        std::fs::read(&built.artifact).map_err(|e| SourceProblem::new(dir, ProblemKind::Io(e)))?;
    let label = dir.file_name().and_then(|s| s.to_str()).unwrap_or(&name).to_owned();
    Ok(Migration {
        stream: Stream::Project,
        key,
        name,
        label,
        path: dir.to_owned(),
        kind: Kind::Wasm,
        checksum: built.checksum,
        script: Script::Wasm(WasmScript::new(bytes)),
    })
}

fn load(path: &Path, key: Key, name: String) -> Result<Migration, SourceProblem> {
    let bytes = std::fs::read(path).map_err(|e| SourceProblem::new(path, ProblemKind::Io(e)))?;
    let label = path.file_stem().and_then(|s| s.to_str()).unwrap_or(&name).to_owned();
    let is_wasm = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
    if is_wasm {
        if bytes.is_empty() {
            return Err(SourceProblem::new(path, ProblemKind::Empty));
        }
        return Ok(Migration {
            stream: Stream::Project,
            key,
            name,
            label,
            path: path.to_owned(),
            kind: Kind::Wasm,
            checksum: Checksum::of_bytes(&bytes),
            script: Script::Wasm(WasmScript::new(bytes)),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        SourceProblem::new(path, ProblemKind::NotUtf8 { line })
    })?;
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        return Err(SourceProblem::new(path, ProblemKind::NulByte { line }));
    }
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(SourceProblem::new(path, ProblemKind::Empty));
    }
    let script = sql_file::parse(text.strip_prefix('\u{feff}').unwrap_or(&text))
        .map_err(|e| SourceProblem::new(path, ProblemKind::Content(e)))?;
    Ok(Migration {
        stream: Stream::Project,
        key,
        name,
        label,
        path: path.to_owned(),
        kind: Kind::Sql,
        checksum: Checksum::of_text(&text),
        script: Script::Sql(script),
    })
}
