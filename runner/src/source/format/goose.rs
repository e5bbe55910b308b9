//! goose (SQL migrations): `<version>_<name>.sql` with `-- +goose Up` and `-- +goose Down`
//! sections, `-- +goose StatementBegin` / `StatementEnd` around statements that hold
//! semicolons, and `-- +goose NO TRANSACTION`. Annotations are matched without regard to
//! case, as goose matches them. Versions start at 1. A `.go` migration is a problem naming the
//! file (godwit runs no Go), and so is `-- +goose ENVSUB ON`: godwit runs the text it
//! checksums, never one rewritten from the environment.
//!
//! goose ends a statement at a line that ends with `;` unless it is inside a
//! StatementBegin/End block; godwit's splitter reads quotes, dollar quotes and trigger bodies,
//! so it finds the same statements in every file goose runs (and also splits correctly the
//! bodies goose needs a block for).

use super::statements::{self, Marker, blank_or_comment};
use super::{Format, FormatError, Named, Role, digits_version};
use crate::migration::{Key, SqlScript};
use crate::source::name::NameProblem;

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    let Some((stem, ext)) = file_name.rsplit_once('.') else {
        return Named::Ignored;
    };
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    let numbered = digits > 0 && stem.as_bytes().get(digits) == Some(&b'_');
    if is_dir {
        return Named::Ignored;
    }
    match ext {
        "go" if numbered && !stem.ends_with("_test") => Named::Invalid(NameProblem::GoMigration),
        "sql" if !numbered => {
            Named::Invalid(NameProblem::Skipped { format: "goose", rule: "<version>_<name>.sql" })
        }
        "sql" => match digits_version(&stem[..digits]) {
            Ok(version) if version.number() == Some(0) => {
                Named::Invalid(NameProblem::Zero("goose"))
            }
            Ok(version) => Named::Part {
                key: Key::Versioned(version),
                name: stem[digits + 1..].into(),
                role: Role::Whole,
            },
            Err(problem) => Named::Invalid(problem),
        },
        _ => Named::Ignored,
    }
}

enum Annotation {
    Up,
    Down,
    Begin,
    End,
    NoTransaction,
    EnvSub(bool),
}

/// `-- +goose <word>` lines; `Err` carries one that is not an annotation goose knows.
fn annotation(line: &str) -> Option<Result<Annotation, String>> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let word = rest.strip_prefix("+goose")?.trim();
    let lower = word.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    Some(match words.as_slice() {
        ["up"] => Ok(Annotation::Up),
        ["down"] => Ok(Annotation::Down),
        ["statementbegin"] => Ok(Annotation::Begin),
        ["statementend"] => Ok(Annotation::End),
        ["no", "transaction"] => Ok(Annotation::NoTransaction),
        ["envsub", "on"] => Ok(Annotation::EnvSub(true)),
        ["envsub", "off"] => Ok(Annotation::EnvSub(false)),
        _ => Err(line.trim().to_owned()),
    })
}

const UP: &str = "-- +goose Up";

pub(super) fn parse(text: &str) -> Result<SqlScript, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut up: Option<Marker> = None;
    let mut down: Option<Marker> = None;
    let mut transaction = true;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let next = offset + line.len();
        let marker = Marker { at: offset, start: next, line: number + 1 };
        match annotation(line) {
            Some(Ok(Annotation::Up)) if up.is_some() => {
                return Err(FormatError::Repeated { marker: UP, line: number });
            }
            Some(Ok(Annotation::Up)) => up = Some(marker),
            Some(Ok(Annotation::Down)) if down.is_some() => {
                return Err(FormatError::Repeated { marker: "-- +goose Down", line: number });
            }
            Some(Ok(Annotation::Down)) => down = Some(marker),
            Some(Ok(Annotation::NoTransaction)) => transaction = false,
            Some(Ok(Annotation::Begin | Annotation::End | Annotation::EnvSub(false))) => {}
            Some(Ok(Annotation::EnvSub(true))) => {
                return Err(FormatError::Unsupported {
                    line: number,
                    text: line.trim().to_owned(),
                    why: "godwit runs a migration's text as it is checksummed, never rewritten from environment variables; write the values into the file",
                });
            }
            Some(Err(text)) => {
                return Err(FormatError::UnknownAnnotation {
                    format: Format::Goose,
                    line: number,
                    text,
                });
            }
            None if up.is_none() && down.is_none() && !blank_or_comment(line) => {
                return Err(FormatError::BeforeUp {
                    format: Format::Goose,
                    marker: UP,
                    line: number,
                });
            }
            None => {}
        }
        offset = next;
    }
    statements::script(text, Format::Goose, UP, (up, down), transaction)
}
