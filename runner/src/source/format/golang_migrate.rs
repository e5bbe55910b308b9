//! golang-migrate: `<version>_<title>.up.<ext>` and `.down.<ext>`; any other name is skipped,
//! as golang-migrate skips it. golang-migrate opens no transaction: it sends each file as one
//! script. PostgreSQL runs such a script in one implicit transaction, so godwit runs the
//! statements in one transaction too, except where the database would not have: a file that
//! manages its own transaction (`BEGIN; ... COMMIT;`, as golang-migrate's documentation
//! recommends) or holds a statement that cannot run inside one (`CREATE INDEX CONCURRENTLY`)
//! runs statement by statement, as written.

use super::{Named, Role, Texts, digits_version, statements};
use crate::migration::{DownRead, Key, SqlScript};

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    if is_dir {
        return Named::Ignored;
    }
    let digits = file_name.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = file_name[digits..].strip_prefix('_').filter(|_| digits > 0) else {
        return Named::Ignored;
    };
    // `<title>.up.<ext>`: the last `.up.` or `.down.` followed by an extension without dots.
    let found =
        [(".up.", Role::Up), (".down.", Role::Down)].into_iter().find_map(|(mark, role)| {
            let at = rest.rfind(mark)?;
            let ext = &rest[at + mark.len()..];
            (!ext.contains('.')).then(|| (&rest[..at], role))
        });
    let Some((name, role)) = found else {
        return Named::Ignored;
    };
    match digits_version(&file_name[..digits]) {
        Ok(version) => Named::Part { key: Key::Versioned(version), name: name.into(), role },
        Err(problem) => Named::Invalid(problem),
    }
}

pub(super) fn parse(texts: &Texts) -> SqlScript {
    let up = statements::of(&texts.up);
    let transaction = statements::fit_one_transaction(&up);
    SqlScript { up, down: None, transaction, requires: Vec::new(), down_file: None }
}

/// The down file, read when a revert needs it, by the same rule as the up file.
pub(super) fn down(text: &str) -> DownRead {
    let statements = statements::of(text);
    DownRead { transaction: statements::fit_one_transaction(&statements), statements }
}
