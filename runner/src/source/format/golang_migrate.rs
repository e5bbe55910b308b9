//! golang-migrate: `<version>_<title>.up.<ext>` and `.down.<ext>`; any other name is skipped,
//! as golang-migrate skips it. golang-migrate opens no transaction: it sends each file as one
//! script. PostgreSQL runs such a script in one implicit transaction, so godwit runs the
//! statements in one transaction too, except where the database would not have: a file that
//! manages its own transaction (`BEGIN; ... COMMIT;`, as golang-migrate's documentation
//! recommends) or holds a statement that cannot run inside one (`CREATE INDEX CONCURRENTLY`)
//! runs statement by statement, as written.

use super::{Named, Role, digits_version};
use crate::migration::Key;

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
