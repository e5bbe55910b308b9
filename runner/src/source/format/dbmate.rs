//! dbmate: `<version>_<name>.sql` (dbmate reads every `.sql` file whose name starts with
//! digits; the version is those digits, compared as text) with `-- migrate:up` and
//! `-- migrate:down` sections. `transaction:false` after either marker runs the migration
//! outside a transaction. dbmate refuses SQL outside the sections and a down section before
//! the up one; so does godwit.

use super::statements::{self, Marker, blank_or_comment};
use super::{Format, FormatError, Named, Role, digits_version};
use crate::migration::{Key, SqlScript};

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    let digits = file_name.bytes().take_while(u8::is_ascii_digit).count();
    if is_dir || digits == 0 || !file_name.ends_with(".sql") {
        return Named::Ignored;
    }
    let stem = &file_name[..file_name.len() - ".sql".len()];
    let name = stem[digits..].trim_start_matches('_');
    match digits_version(&file_name[..digits]) {
        Ok(version) => {
            Named::Part { key: Key::Versioned(version), name: name.into(), role: Role::Whole }
        }
        Err(problem) => Named::Invalid(problem),
    }
}

const UP: &str = "-- migrate:up";

/// `-- migrate:up` or `-- migrate:down` at the start of a line, and whether its options
/// leave the transaction on.
fn marker(line: &str) -> Option<(bool, bool)> {
    let rest = line.strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("migrate:")?;
    let (is_up, options) = if let Some(options) = rest.strip_prefix("up") {
        (true, options)
    } else {
        (false, rest.strip_prefix("down")?)
    };
    if !options.is_empty() && !options.starts_with(char::is_whitespace) {
        return None;
    }
    let transaction = !options.split_whitespace().any(|option| option == "transaction:false");
    Some((is_up, transaction))
}

pub(super) fn parse(text: &str) -> Result<SqlScript, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut up: Option<Marker> = None;
    let mut down: Option<Marker> = None;
    let mut transaction = true;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let next = offset + line.len();
        let here = Marker { at: offset, start: next, line: number + 1 };
        match marker(line) {
            Some((true, _)) if up.is_some() => {
                return Err(FormatError::Repeated { marker: UP, line: number });
            }
            Some((false, _)) if down.is_some() => {
                return Err(FormatError::Repeated { marker: "-- migrate:down", line: number });
            }
            Some((true, tx)) => {
                transaction &= tx;
                up = Some(here);
            }
            Some((false, _)) if up.is_none() => {
                return Err(FormatError::BeforeUp {
                    format: Format::Dbmate,
                    marker: UP,
                    line: number,
                });
            }
            Some((false, tx)) => {
                transaction &= tx;
                down = Some(here);
            }
            None if up.is_none() && !blank_or_comment(line) => {
                return Err(FormatError::BeforeUp {
                    format: Format::Dbmate,
                    marker: UP,
                    line: number,
                });
            }
            None => {}
        }
        offset = next;
    }
    statements::script(text, Format::Dbmate, UP, (up, down), transaction)
}
