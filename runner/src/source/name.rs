//! Which directory entries are migrations: `<version>_<name>.sql` and `.wasm`, `R_<name>`
//! repeatables, and `<version>_<name>/` crate directories. A version is digits, or digits
//! joined by dots (`1.2.3`, as a converted Flyway folder keeps its versions). A name that
//! looks like a migration but breaks a rule is a problem naming the file, never silently
//! skipped; obvious non-migrations (hidden files, editor backups, READMEs) are ignored.

use crate::version::{Version, VersionError};

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
#[non_exhaustive]
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
    /// A name the folder's tool would skip although it looks like one of its migrations.
    #[error(
        "{format} would skip this file: its migrations are named {rule}; rename it or move it out of the folder"
    )]
    Skipped { format: &'static str, rule: &'static str },
    #[error(
        "a goose migration written in Go: godwit runs goose's SQL migrations; rewrite it in SQL or as a WebAssembly component"
    )]
    GoMigration,
    #[error(
        "a refinery migration written in Rust: godwit runs refinery's SQL migrations; rewrite it in SQL or as a Rust migration directory"
    )]
    RustMigration,
    #[error(
        "a Flyway callback ({0}): Flyway runs it around its migrations, and godwit does not run Flyway's callbacks"
    )]
    FlywayCallback(String),
    #[error("version 0: {0} versions start at 1")]
    Zero(&'static str),
    #[error("version `{0}` is larger than {1} can store")]
    TooLargeFor(String, &'static str),
    #[error("a diesel migration directory without up.sql")]
    NoUpFile,
    #[error("a down file without the up file of the same version")]
    DownWithoutUp,
}

const BACKUP_SUFFIXES: &[&str] = &["~", ".bak", ".swp", ".swo", ".orig", ".tmp", ".rej"];

/// Hidden files, editor backups and the like, which no format reads.
pub(crate) fn is_backup(file_name: &str) -> bool {
    file_name.starts_with('.')
        || file_name.starts_with('#')
        || BACKUP_SUFFIXES.iter().any(|s| file_name.ends_with(s))
}

pub(crate) fn classify(file_name: &str, is_dir: bool) -> FileName {
    if is_backup(file_name) {
        return FileName::Ignored;
    }
    let version_len =
        |stem: &str| stem.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let looks_versioned = |stem: &str| {
        let digits = version_len(stem);
        stem.starts_with(|c: char| c.is_ascii_digit())
            && matches!(stem.as_bytes().get(digits), Some(b'_' | b'-') | None)
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
    let digits = version_len(stem);
    if !stem.starts_with(|c: char| c.is_ascii_digit()) {
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
        assert_eq!(
            classify("1.2.3_seed.sql", false),
            FileName::Versioned { version: "1.2.3".parse().unwrap(), name: "seed".into() }
        );
        assert_eq!(
            classify("0002.0_x.wasm", false),
            FileName::Versioned { version: v(2), name: "x".into() }
        );
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
        assert!(matches!(invalid("1..2_x.sql", false), NameProblem::Version(_)));
        assert!(matches!(invalid("1._x.sql", false), NameProblem::Version(_)));
        assert_eq!(invalid("1.2.sql", false), NameProblem::NoName);
        assert_eq!(invalid("0001_x.py", false), NameProblem::UnsupportedKind("py".into()));
        assert_eq!(
            classify("0002_backfill", true),
            FileName::Versioned { version: v(2), name: "backfill".into() }
        );
    }
}
