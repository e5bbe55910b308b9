//! Where migrations come from. A [`MigrationSource`] resolves a set of migrations; the one
//! godwit ships reads a directory. File naming rules live in `name.rs`: a file that looks like a
//! migration but is malformed is an error naming the file, never silently skipped.

pub mod convert;
pub(crate) mod format;
pub(crate) mod name;
mod problem;
mod read;
mod scan;
pub(crate) mod split;
mod sql_file;

pub use self::format::{DetectError, Format, FormatError, UnknownFormat};
pub use self::name::NameProblem;
pub use self::problem::{ProblemKind, SourceError, SourceProblem};
pub use self::sql_file::SqlFileError;

use self::scan::{Found, scan};
use crate::guest_build::{BuildMode, Builder, Language};
use crate::migration::{Key, Migration};
use crate::stream::Stream;
use crate::version::Version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Anything that can produce the ordered list of migrations to consider.
pub trait MigrationSource {
    /// Every migration, versioned ones in version order (or as the folder's tool orders them)
    /// followed by repeatables by name. Slow work (building source migrations) and what the
    /// folder's reading noticed are told to `events`.
    fn resolve(
        &self,
        events: &mut dyn FnMut(SourceEvent<'_>),
    ) -> Result<Vec<Migration>, SourceError>;
}

/// What a source tells while it resolves.
#[derive(Debug)]
#[non_exhaustive]
pub enum SourceEvent<'a> {
    /// The migration in `dir` is being built (it takes seconds).
    Building { dir: &'a Path, language: Language },
    /// A line a build tool wrote while the migration in `dir` builds.
    BuildOutput { dir: &'a Path, line: &'a str },
    /// A folder whose tool orders versions as text (diesel, dbmate) runs `path` after
    /// `before` although its version is smaller: godwit runs them in the tool's order.
    TextOrder { format: Format, path: &'a Path, before: &'a Path },
}

/// Migrations read from the files of one directory, and from the Rust guest crates in its
/// subdirectories named like migrations.
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
    builder: Builder,
    /// Whose migrations these are: the project's, or a pack's.
    stream: Stream,
    format: Format,
}

impl DirSource {
    pub fn new(dir: impl Into<PathBuf>) -> DirSource {
        DirSource {
            dir: dir.into(),
            builder: Builder::default(),
            stream: Stream::Project,
            format: Format::Godwit,
        }
    }

    /// Reads the folder as another tool wrote it ([`Format::detect`] tells which).
    pub fn format(mut self, format: Format) -> DirSource {
        self.format = format;
        self
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

impl DirSource {
    /// The newest version among the file names and how many digits its file name uses,
    /// without reading any file (so a half-written migration does not stop `godwit new`).
    pub fn newest_version(&self) -> Result<Option<(Version, usize)>, SourceError> {
        let (found, problems) = scan(&self.dir, self.format)?;
        if !problems.is_empty() {
            return Err(SourceError::Invalid { problems });
        }
        Ok(found
            .iter()
            .filter_map(|Found { path, key, .. }| {
                let digits =
                    path.file_name()?.to_str()?.bytes().take_while(u8::is_ascii_digit).count();
                Some((key.version()?, digits))
            })
            .max())
    }
}

impl MigrationSource for DirSource {
    fn resolve(
        &self,
        events: &mut dyn FnMut(SourceEvent<'_>),
    ) -> Result<Vec<Migration>, SourceError> {
        let (found, mut problems) = scan(&self.dir, self.format)?;
        let files = read::load_files(&found);
        let mut versioned: BTreeMap<Version, Migration> = BTreeMap::new();
        let mut repeatable: BTreeMap<String, Migration> = BTreeMap::new();
        for (Found { path, key, name, .. }, file) in found.into_iter().zip(files) {
            let loaded = match file {
                Some(loaded) => loaded,
                None => read::load_source(&path, key, name, &self.builder, events),
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
        let mut versioned: Vec<Migration> = versioned.into_values().collect();
        if self.format.orders_as_text() {
            // The tool's order: its version text, compared as text.
            for migration in &mut versioned {
                migration.text_order = scan::version_text(&migration.path);
            }
            versioned.sort_by(|a, b| a.text_order.cmp(&b.text_order));
            for (later, earlier) in scan::text_order_differs(&versioned) {
                let format = self.format;
                events(SourceEvent::TextOrder { format, path: &later.path, before: &earlier.path });
            }
        }
        Ok(versioned.into_iter().chain(repeatable.into_values()).collect())
    }
}
