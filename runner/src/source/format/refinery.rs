//! refinery: `V<n>__<name>.sql` and `U<n>__<name>.sql` anywhere under the folder (refinery
//! walks subdirectories). `U` means *unversioned*, not undo: refinery applies such a
//! migration even when newer ones have run; godwit treats it as a versioned migration of that
//! number, so `godwit up --allow-out-of-order` is what applies one added late. refinery has no
//! down migrations. Each file runs in its own transaction.

use super::{Named, Role, statements};
use crate::migration::{Key, SqlScript};
use crate::source::name::NameProblem;
use crate::version::Version;

const RULE: &str = "V<n>__<name>.sql or U<n>__<name>.sql, the name of letters, digits and _";

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    let Some(first) = file_name.chars().next().filter(|c| matches!(c, 'V' | 'U')) else {
        return Named::Ignored;
    };
    let rest = &file_name[first.len_utf8()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if is_dir || digits == 0 {
        return Named::Ignored;
    }
    let (stem, ext) = rest.rsplit_once('.').unwrap_or((rest, ""));
    if ext == "rs" && stem[digits..].starts_with("__") {
        return Named::Invalid(NameProblem::RustMigration);
    }
    if ext != "sql" {
        return Named::Ignored;
    }
    let name = match stem[digits..].strip_prefix("__") {
        Some(name) if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') => {
            name
        }
        _ => return Named::Invalid(NameProblem::Skipped { format: "refinery", rule: RULE }),
    };
    let text = &stem[..digits];
    // refinery stores versions as a 32-bit integer unless it was built for 64-bit ones.
    match text.parse::<i64>().ok().and_then(Version::new) {
        Some(version) => {
            Named::Part { key: Key::Versioned(version), name: name.into(), role: Role::Whole }
        }
        None => Named::Invalid(NameProblem::TooLargeFor(text.into(), "refinery")),
    }
}

pub(super) fn parse(text: &str) -> SqlScript {
    SqlScript::up_only(statements::of(text), true)
}
