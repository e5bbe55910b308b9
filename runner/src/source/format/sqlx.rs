//! sqlx: `<version>_<description>.sql` (simple) or `.up.sql` and `.down.sql` (reversible).
//! The version is everything before the first `_` and must be an integer; files whose name
//! has no `_` or does not end in `.sql` are skipped, as sqlx skips them. A file whose text
//! starts with `-- no-transaction` runs outside a transaction (an up or a down file each for
//! itself, as sqlx reads them). sqlx sends a file to the
//! database as one script inside one transaction; godwit runs its statements one by one inside
//! one transaction, which does the same.

use super::{Named, Role, Texts, digits_version, statements};
use crate::migration::{DownRead, Key, SqlScript};
use std::path::Path;

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    let Some((version, rest)) = file_name.split_once('_') else {
        return Named::Ignored;
    };
    if is_dir || !rest.ends_with(".sql") {
        return Named::Ignored;
    }
    let (name, role) = if let Some(name) = rest.strip_suffix(".up.sql") {
        (name, Role::Up)
    } else if let Some(name) = rest.strip_suffix(".down.sql") {
        (name, Role::Down)
    } else {
        (&rest[..rest.len() - ".sql".len()], Role::Whole)
    };
    match digits_version(version) {
        Ok(version) => Named::Part { key: Key::Versioned(version), name: name.into(), role },
        Err(problem) => Named::Invalid(problem),
    }
}

/// Whether sqlx runs a file in a transaction.
pub(super) fn in_transaction(text: &str) -> bool {
    !text.starts_with("-- no-transaction")
}

pub(super) fn parse(texts: &Texts) -> SqlScript {
    SqlScript::up_only(statements::of(&texts.up), in_transaction(&texts.up))
}

/// A `.down.sql` file, read when a revert needs it: its own `-- no-transaction` decides.
pub(super) fn down(_: &Path, text: &str) -> Result<DownRead, String> {
    Ok(DownRead { statements: statements::of(text), transaction: in_transaction(text) })
}
