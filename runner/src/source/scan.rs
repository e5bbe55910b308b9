//! Which entries of a migration folder are migrations: godwit's own names (`name.rs`), or
//! another tool's ([`format`](super::format)) beside godwit's own components and migration
//! directories. A format whose migrations span two files (an up and a down) is grouped here,
//! so every [`Found`] is one migration.

use super::format::{self, Format, Named, Role};
use super::name::{FileName, NameProblem, classify};
use super::problem::{ProblemKind, SourceError, SourceProblem};
use crate::migration::{Key, Migration};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A migration found in a folder, before it is read.
#[derive(Debug)]
pub(crate) struct Found {
    /// The file, the migration directory, or a format's up file or directory.
    pub path: PathBuf,
    pub key: Key,
    pub name: String,
    pub what: What,
}

#[derive(Debug)]
pub(crate) enum What {
    /// A godwit SQL file or component.
    File,
    /// A migration directory, built into a component.
    Source,
    /// A migration in another tool's format: its down file, its config file (Flyway's
    /// `<script>.conf`), and whether `path` is a directory holding the files (diesel).
    Format { format: Format, down: Option<PathBuf>, config: Option<PathBuf>, dir: bool },
}

/// The entries of `dir` (and of its subdirectories, for formats whose tool walks them), sorted
/// by path, each with whether it is a directory.
fn entries(dir: &Path, recurse: bool, into: &mut Vec<(PathBuf, bool)>) -> std::io::Result<()> {
    let mut here = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // The directory listing tells the type of most entries without a `stat` each (a
        // project has thousands of files); a symbolic link is followed.
        let is_dir = match entry.file_type() {
            Ok(t) if t.is_symlink() => entry.path().is_dir(),
            Ok(t) => t.is_dir(),
            Err(_) => entry.path().is_dir(),
        };
        here.push((entry.path(), is_dir));
    }
    // Sorted, so that messages about duplicates name the files in a stable order; by the
    // bytes of the names (all in one directory), which is what comparing the paths would
    // come to at many times the cost.
    here.sort_by(|a, b| a.0.as_os_str().as_encoded_bytes().cmp(b.0.as_os_str().as_encoded_bytes()));
    for (path, is_dir) in here {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        let descend = recurse && is_dir && !hidden && crate::guest_build::detect(&path).is_err();
        into.push((path.clone(), is_dir));
        if descend {
            entries(&path, recurse, into)?;
        }
    }
    Ok(())
}

/// The migrations in `dir` read as `format`, and the problems with names that look like
/// migrations but are not valid ones.
pub(crate) fn scan(
    dir: &Path,
    format: Format,
) -> Result<(Vec<Found>, Vec<SourceProblem>), SourceError> {
    let mut paths = Vec::new();
    entries(dir, format.recursive(), &mut paths)
        .map_err(|source| SourceError::ReadDir { path: dir.to_owned(), source })?;
    let mut found = Vec::new();
    let mut problems = Vec::new();
    // A format's parts by key, grouped into migrations once every file is seen.
    let mut parts: BTreeMap<Key, Vec<(Role, PathBuf, String, bool)>> = BTreeMap::new();
    for (path, is_dir) in paths {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            problems.push(SourceProblem::new(&path, ProblemKind::NotUtf8Name));
            continue;
        };
        let named = match format {
            Format::Godwit => Named::Own,
            _ => format::classify(format, file_name, is_dir.then_some(path.as_path())),
        };
        let own = match named {
            Named::Own => classify(file_name, is_dir),
            Named::Ignored => FileName::Ignored,
            Named::Invalid(problem) => FileName::Invalid(problem),
            Named::Part { key, name, role } => {
                parts.entry(key).or_default().push((role, path, name, is_dir));
                continue;
            }
        };
        let what = if is_dir { What::Source } else { What::File };
        match own {
            FileName::Ignored => {}
            FileName::Invalid(problem) => {
                problems.push(SourceProblem::new(&path, ProblemKind::Name(problem)));
            }
            FileName::Versioned { version, name } => {
                found.push(Found { path, key: Key::Versioned(version), name, what });
            }
            FileName::Repeatable { name } => {
                found.push(Found { path, key: Key::Repeatable(name.clone()), name, what });
            }
        }
    }
    for (key, mut files) in parts {
        files.sort_by_key(|file| file.0);
        let mut files = files.into_iter();
        let Some((role, path, name, dir)) = files.next() else { continue };
        match role {
            Role::Down => {
                let problem = ProblemKind::Name(NameProblem::DownWithoutUp);
                problems.push(SourceProblem::new(&path, problem));
                continue;
            }
            // A config file whose script is not there configures nothing, as for Flyway.
            Role::Config => continue,
            Role::Whole | Role::Up => {}
        }
        let (mut down, mut config) = (None, None);
        // A config file is its script's name with `.conf` added, in the same folder.
        let mut config_path = path.clone().into_os_string();
        config_path.push(".conf");
        for (other, other_path, _, _) in files {
            match other {
                Role::Down if down.is_none() => down = Some(other_path),
                Role::Config if other_path.as_os_str() == config_path => config = Some(other_path),
                // Another script's config of the same version configures nothing here.
                Role::Config => {}
                _ => problems.push(SourceProblem::new(
                    &other_path,
                    ProblemKind::Duplicate { first: path.clone() },
                )),
            }
        }
        found.push(Found { path, key, name, what: What::Format { format, down, config, dir } });
    }
    found.sort_by(|a, b| {
        a.path.as_os_str().as_encoded_bytes().cmp(b.path.as_os_str().as_encoded_bytes())
    });
    Ok((found, problems))
}

/// The version as a tool that orders versions as text compares it: the digits of the name up
/// to its first `_` (`20240313` for diesel's `2024-03-13_170000_x`).
pub(crate) fn version_text(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let text =
        name.chars().take_while(|c| c.is_ascii_digit() || *c == '-').filter(char::is_ascii_digit);
    Some(text.collect())
}

/// Where a tool's text order differs from the numeric order (versions of different lengths):
/// each migration of `migrations` (in the tool's order) that runs right after one with a
/// larger version, with that one.
pub(crate) fn text_order_differs(migrations: &[Migration]) -> Vec<(&Migration, &Migration)> {
    let versioned: Vec<&Migration> = migrations.iter().filter(|m| m.version().is_some()).collect();
    versioned
        .windows(2)
        .filter(|pair| pair[1].version() < pair[0].version())
        .map(|p| (p[1], p[0]))
        .collect()
}
