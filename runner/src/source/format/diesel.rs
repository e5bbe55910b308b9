//! diesel: a directory per migration, `<version>_<name>/` holding `up.sql`, `down.sql` and
//! optionally `metadata.toml` (`run_in_transaction = false` runs it outside a transaction).
//! The version is the directory name up to its first `_` with every `-` removed
//! (`2024-01-15-093000_create_users` is version 20240115093000, as diesel records it), and
//! versions order as text, as diesel orders them. `00000000000000_diesel_initial_setup` is a
//! migration like any other. diesel refuses an `up.sql` with nothing in it; so does godwit.

use super::{Format, FormatError, Named, Role, Texts, digits_version, statements};
use crate::migration::{DownRead, Key, SqlScript};
use std::path::Path;

/// A directory is a diesel migration; whether it has its up.sql is told when it is read.
pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    if !is_dir {
        return Named::Ignored;
    }
    let (version, name) = file_name.split_once('_').unwrap_or((file_name, ""));
    match digits_version(&version.replace('-', "")) {
        Ok(version) => {
            Named::Part { key: Key::Versioned(version), name: name.into(), role: Role::Whole }
        }
        Err(problem) => Named::Invalid(problem),
    }
}

#[derive(serde::Deserialize)]
struct Metadata {
    run_in_transaction: Option<bool>,
}

pub(super) fn parse(texts: &Texts) -> Result<SqlScript, FormatError> {
    if texts.up.trim().is_empty() {
        return Err(FormatError::EmptyFile { format: Format::Diesel, file: "up.sql" });
    }
    let transaction = match &texts.meta {
        None => true,
        Some(text) => {
            let metadata: Metadata = toml::from_str(text).map_err(|e| {
                FormatError::BadSideFile { file: "metadata.toml", reason: e.message().to_owned() }
            })?;
            metadata.run_in_transaction.unwrap_or(true)
        }
    };
    Ok(SqlScript::up_only(statements::of(&texts.up), transaction))
}

/// `down.sql`, read when a revert needs it, in a transaction as `metadata.toml` says for both.
pub(super) fn down_in_transaction(_: &Path, text: &str) -> Result<DownRead, String> {
    Ok(DownRead { statements: statements::of(text), transaction: true })
}

pub(super) fn down_alone(_: &Path, text: &str) -> Result<DownRead, String> {
    Ok(DownRead { statements: statements::of(text), transaction: false })
}
