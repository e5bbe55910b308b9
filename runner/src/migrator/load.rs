//! Loading a project into a [`Migrator`]: its migrations and its packs' (each in its own
//! stream), every component compiled and checked against godwit's world, and its pins. All
//! the files' problems are reported together, before anything connects or runs.

use super::Migrator;
use crate::error::Error;
use crate::guest_build::{BuildMode, Builder};
use crate::lint::Levels;
use crate::lock_file::Pins;
use crate::migration::{Migration, Script};
use crate::pack::{MANIFEST, Pack, PackError};
use crate::report::Reporter;
use crate::source::{DirSource, Format, MigrationSource, ProblemKind, SourceError, SourceProblem};
use crate::transforms::{BatchPolicy, Throttle};
use crate::wasm::{Limits, Runtime};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How to load a project: its migrations directory, its packs, where its lock file is, whether
/// crate migrations may be built, and the sandbox's limits.
#[derive(Debug, Clone)]
pub struct Loader {
    dir: PathBuf,
    packs: Vec<Pack>,
    lock_file: Option<PathBuf>,
    builder: Builder,
    limits: Limits,
    /// The project folder's format; `None` to detect it when loading.
    format: Option<Format>,
}

impl Loader {
    pub fn new(dir: &Path) -> Loader {
        Loader {
            dir: dir.to_owned(),
            packs: Vec::new(),
            lock_file: None,
            builder: Builder::default(),
            limits: Limits::default(),
            format: Some(Format::Godwit),
        }
    }

    /// Reads the migrations directory as another tool wrote it (packs are always godwit's).
    pub fn format(mut self, format: Format) -> Loader {
        self.format = Some(format);
        self
    }

    /// Tells the migrations directory's format from its files when loading
    /// ([`Format::detect`]); an ambiguous or mixed folder stops the load.
    pub fn detect_format(mut self) -> Loader {
        self.format = None;
        self
    }

    /// Packs whose migrations run in streams of their own, confined to their grants.
    pub fn packs(mut self, packs: Vec<Pack>) -> Loader {
        self.packs = packs;
        self
    }

    /// The project's `godwit.lock` (which may not exist yet), instead of looking for it from
    /// the migrations directory up.
    pub fn lock_file(mut self, path: impl Into<PathBuf>) -> Loader {
        self.lock_file = Some(path.into());
        self
    }

    /// Whether source migrations are built (the default) or their last build is used.
    pub fn building(mut self, mode: BuildMode) -> Loader {
        self.builder = self.builder.with_mode(mode);
        self
    }

    /// How source migrations (Rust, Python, JavaScript, C directories) are built: the
    /// mode, the cache directory and the toolchains.
    pub fn builder(mut self, builder: Builder) -> Loader {
        self.builder = builder;
        self
    }

    /// The sandbox's limits for every call into a component migration.
    pub fn wasm_limits(mut self, limits: Limits) -> Loader {
        self.limits = limits;
        self
    }

    /// Resolves and compiles everything; the progress of source migrations' builds goes
    /// to `reporter`.
    pub fn load(self, reporter: &mut dyn Reporter) -> Result<Migrator, Error> {
        for (i, pack) in self.packs.iter().enumerate() {
            if let Some(first) = self.packs[..i].iter().find(|p| p.name == pack.name) {
                return Err(PackError::Invalid {
                    path: pack.dir.join(MANIFEST),
                    reason: format!(
                        "the pack name `{}` is also the name of {}",
                        pack.name,
                        first.dir.display()
                    ),
                }
                .into());
            }
        }
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let mut empty = None;
        let format = match self.format {
            Some(format) => format,
            None => Format::detect(&self.dir).map_err(SourceError::from)?,
        };
        let project = DirSource::new(&self.dir).builder(self.builder.clone()).format(format);
        let packs = self.packs.iter().map(|pack| {
            let source =
                DirSource::new(&pack.dir).builder(self.builder.clone()).in_stream(pack.stream());
            (Some(pack), source)
        });
        for (pack, source) in std::iter::once((None, project)).chain(packs) {
            match source.resolve(&mut |event| reporter.report(event.into())) {
                Ok(found) if found.is_empty() => empty = empty.or(pack),
                Ok(found) => migrations.extend(found),
                Err(SourceError::Invalid { problems: found }) => problems.extend(found),
                Err(error) => return Err(error.into()),
            }
        }
        if !problems.is_empty() {
            return Err(SourceError::Invalid { problems }.into());
        }
        if let Some(pack) = empty {
            return Err(pack.empty().into());
        }
        let cache = self.builder.cache().map(|dir| dir.join("components"));
        let mut migrator = compile(migrations, self.limits, cache)?;
        migrator.packs = self.packs;
        migrator.format = format;
        migrator.pins = match self.lock_file {
            Some(path) => Pins::read(path)?,
            None => Pins::discover(&self.dir)?,
        };
        Ok(migrator)
    }
}

/// A migrator of `migrations` whose components are compiled and have described themselves;
/// every component that is not a godwit migration is a problem naming its file.
/// Compiled components are kept in `cache` (none: compiled on every load).
pub(super) fn compile(
    mut migrations: Vec<Migration>,
    limits: Limits,
    cache: Option<PathBuf>,
) -> Result<Migrator, Error> {
    if migrations.iter().any(|m| matches!(m.script, Script::Wasm(_))) {
        let runtime = Arc::new(Runtime::new(cache)?);
        let mut problems = Vec::new();
        for migration in &mut migrations {
            let Script::Wasm(wasm) = &mut migration.script else {
                continue;
            };
            match runtime.compile(&wasm.bytes, limits) {
                Ok(compiled) => wasm.set_compiled(compiled),
                Err(error) => problems
                    .push(SourceProblem::new(&migration.path, ProblemKind::Component(error))),
            }
        }
        if !problems.is_empty() {
            return Err(SourceError::Invalid { problems }.into());
        }
    }
    Ok(Migrator {
        migrations,
        packs: Vec::new(),
        pins: Pins::default(),
        lock_timeout: Duration::from_secs(60),
        limits,
        batch: BatchPolicy::default(),
        throttle: Throttle::default(),
        keep: None,
        lint: Levels::default(),
        lock_waits: crate::locks::LockWaits::default(),
        format: Format::Godwit,
    })
}
