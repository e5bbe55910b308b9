//! Flyway (SQL migrations): `V<version>__<description>.sql`, `U<version>__<description>.sql`
//! (the undo of that version, godwit's down) and `R__<description>.sql` (repeatable: applied
//! again whenever its checksum changes, after the versioned ones), anywhere under the folder,
//! as Flyway scans its locations. Versions are numbers or dotted (`V1.2.3`, or `V1_2_3` as
//! Flyway also reads it), compared part by part as numbers (`V01` is `V1`, `V1.0` is `V1`,
//! `V1.10` comes after `V1.9`). Other names are
//! skipped as Flyway skips them, except one that starts like a versioned migration and breaks
//! the rule, which is a problem naming the file. Flyway runs a migration in one transaction
//! unless a statement cannot run inside one (`CREATE INDEX CONCURRENTLY`); so does godwit.

use super::{Named, Role};
use crate::migration::Key;
use crate::source::name::NameProblem;
use crate::version::Version;

const RULE: &str = "V<version>__<description>.sql (U for undo, R__ for repeatable)";

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    let Some(stem) = file_name.strip_suffix(".sql").filter(|_| !is_dir) else {
        return Named::Ignored;
    };
    if let Some(name) = stem.strip_prefix("R__") {
        return match name.is_empty() {
            true => Named::Invalid(NameProblem::NoName),
            false => Named::Part {
                key: Key::Repeatable(name.into()),
                name: name.into(),
                role: Role::Whole,
            },
        };
    }
    let role = match stem.as_bytes().first() {
        Some(b'V') => Role::Whole,
        Some(b'U') => Role::Down,
        _ => return Named::Ignored,
    };
    let rest = &stem[1..];
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Named::Ignored;
    }
    let Some((version, name)) = rest.split_once("__") else {
        return Named::Invalid(NameProblem::Skipped { format: "Flyway", rule: RULE });
    };
    let parts = version.split(['.', '_']);
    if parts.clone().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Named::Invalid(NameProblem::Skipped { format: "Flyway", rule: RULE });
    }
    match Version::from_parts(parts) {
        Ok(version) => Named::Part { key: Key::Versioned(version), name: name.into(), role },
        Err(problem) => Named::Invalid(NameProblem::Version(problem)),
    }
}
