//! What can be wrong with a migration source: a directory that cannot be read, or files that
//! are not valid migrations. Every problem names its file; all of a source's problems are
//! reported together, so one run shows everything to fix.

use super::format::{DetectError, FormatError};
use super::name::NameProblem;
use super::sql_file::SqlFileError;
use crate::guest_build::BuildError;
use crate::wasm::GuestError;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why migrations could not be resolved from a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("cannot read the migrations directory {}", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", crate::text::list("invalid migration file", problems))]
    Invalid { problems: Vec<SourceProblem> },
    /// `--format auto` could not tell the folder's format.
    #[error(transparent)]
    Detect(#[from] DetectError),
}

/// One problem with one file of a migration source.
#[derive(Debug)]
pub struct SourceProblem {
    pub path: PathBuf,
    pub kind: ProblemKind,
}

/// What is wrong with the file.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Its name looks like a migration's but breaks a naming rule.
    Name(NameProblem),
    NotUtf8Name,
    NotUtf8 {
        line: usize,
    },
    /// A SQL file with a NUL byte: a binary file, or one saved in UTF-16.
    NulByte {
        line: usize,
    },
    Empty,
    /// A SQL file whose sections or directives are malformed.
    Content(SqlFileError),
    /// Another file has the same version (or repeatable name).
    Duplicate {
        first: PathBuf,
    },
    Io(std::io::Error),
    /// A `.wasm` file (or a built crate) that is not a godwit migration component.
    Component(GuestError),
    /// A crate migration that could not be built.
    Build(BuildError),
    /// A file of another tool's format that cannot run as that tool would run it.
    Format(FormatError),
}

impl SourceProblem {
    pub(crate) fn new(path: &Path, kind: ProblemKind) -> SourceProblem {
        SourceProblem { path: path.to_owned(), kind }
    }
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ProblemKind::Name(problem) => write!(f, "{path}: {problem}"),
            ProblemKind::NotUtf8Name => write!(f, "{path}: the file name is not valid UTF-8"),
            ProblemKind::NotUtf8 { line } => write!(f, "{path}: invalid UTF-8 on line {line}"),
            ProblemKind::NulByte { line } => {
                write!(f, "{path}: a NUL byte on line {line}; a SQL migration is a text file")
            }
            ProblemKind::Empty => write!(f, "{path}: the file is empty"),
            ProblemKind::Content(problem) => write!(f, "{path}: {problem}"),
            ProblemKind::Duplicate { first } => {
                write!(f, "{path}: same version as {}", first.display())
            }
            ProblemKind::Io(error) => write!(f, "{path}: {error}"),
            ProblemKind::Component(error) => write!(f, "{path}: {error}"),
            ProblemKind::Build(error) => write!(f, "{path}: {error}"),
            ProblemKind::Format(error) => write!(f, "{path}: {error}"),
        }
    }
}
