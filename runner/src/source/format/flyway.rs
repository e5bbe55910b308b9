//! Flyway (SQL migrations): `V<version>__<description>.sql`, `U<version>__<description>.sql`
//! (the undo of that version, godwit's down) and `R__<description>.sql` (repeatable: applied
//! again whenever its checksum changes, after the versioned ones), anywhere under the folder,
//! as Flyway scans its locations. Versions are numbers or dotted (`V1.2.3`, or `V1_2_3` as
//! Flyway also reads it), compared part by part as numbers (`V01` is `V1`, `V1.0` is `V1`,
//! `V1.10` comes after `V1.9`). Other names are skipped as Flyway skips them, except one that
//! starts like a versioned migration and breaks the rule, which is a problem naming the file.
//!
//! Flyway runs a migration in one transaction unless a statement cannot run inside one
//! (`CREATE INDEX CONCURRENTLY`); so does godwit. A script's config file (`<script>.conf`:
//! `executeInTransaction`, `placeholderReplacement`, `encoding`) is read as Flyway reads it.
//! Flyway fills `${placeholders}` in from its configuration; godwit runs the text it
//! checksums, so a script with a placeholder is refused, naming the file and line, when a
//! run would apply it (an undo script, revert it), unless the script's config turns
//! replacement off (then Flyway, too, runs the text as it is). Flyway's checksum covers the
//! text with its placeholders, so such a script that Flyway applied is adopted as it is.

use super::{FormatError, Named, Role, Texts, statements};
use crate::migration::{DownRead, Key, Refusal, SqlScript, Statement};
use crate::source::name::NameProblem;
use crate::version::Version;
use std::path::Path;

const RULE: &str = "V<version>__<description>.sql (U for undo, R__ for repeatable)";

/// Flyway's callback events that run when Flyway migrates, validates (as `migrate` does
/// first), undoes or connects: a script named after one (`afterMigrate.sql`,
/// `beforeEachMigrate__grants.sql`) would run with the migrations under Flyway. The others
/// (`beforeClean`, `afterInfo`, ...) belong to commands godwit does not take over.
const CALLBACKS: &[&str] = &[
    "beforeConnect",
    "afterConnect",
    "beforeValidate",
    "afterValidate",
    "afterValidateError",
    "beforeMigrate",
    "beforeRepeatables",
    "beforeEachMigrate",
    "beforeEachMigrateStatement",
    "afterEachMigrateStatement",
    "afterEachMigrateStatementError",
    "afterEachMigrate",
    "afterEachMigrateError",
    "afterMigrate",
    "afterMigrateApplied",
    "afterVersioned",
    "afterMigrateError",
    "beforeUndo",
    "beforeEachUndo",
    "beforeEachUndoStatement",
    "afterEachUndoStatement",
    "afterEachUndoStatementError",
    "afterEachUndo",
    "afterEachUndoError",
    "afterUndo",
    "afterUndoError",
    "createSchema",
];

/// The name of a script's config file, as messages name it.
const CONFIG: &str = "the script's .conf file";

pub(super) fn classify(file_name: &str, is_dir: bool) -> Named {
    if is_dir {
        return Named::Ignored;
    }
    // A script's config file belongs to its script; an undo script's is read with it.
    if let Some(script) = file_name.strip_suffix(".sql.conf") {
        return match classify(&format!("{script}.sql"), false) {
            Named::Part { key, name, role: Role::Whole } => {
                Named::Part { key, name, role: Role::Config }
            }
            _ => Named::Ignored,
        };
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
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
    let event = stem.split_once("__").map_or(stem, |(event, _)| event);
    if CALLBACKS.contains(&event) {
        return Named::Invalid(NameProblem::FlywayCallback(event.into()));
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

/// What a script's config file says.
#[derive(Debug, PartialEq, Eq)]
struct ScriptConfig {
    /// `executeInTransaction`; when not set, Flyway's rule decides.
    transaction: Option<bool>,
    /// `placeholderReplacement` (true unless set).
    placeholders: bool,
}

/// Reads a script's config file: Java properties (`key=value` or `key: value`, `#` and `!`
/// comments), with the settings Flyway reads there.
fn config(text: Option<&str>) -> Result<ScriptConfig, String> {
    let mut config = ScriptConfig { transaction: None, placeholders: true };
    for (i, line) in text.unwrap_or_default().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = line
            .split_once(['=', ':'])
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("line {}: `{line}` is not `key=value`", i + 1))?;
        let boolean = || match value.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("line {}: {key} is true or false, not `{value}`", i + 1)),
        };
        match key {
            "executeInTransaction" => config.transaction = Some(boolean()?),
            "placeholderReplacement" => config.placeholders = boolean()?,
            "encoding" if matches!(value.to_ascii_uppercase().as_str(), "UTF-8" | "UTF8") => {}
            "encoding" => {
                return Err(format!(
                    "line {}: encoding {value}: godwit reads migrations as UTF-8; convert the script and drop the setting",
                    i + 1
                ));
            }
            "shouldExecute" => {
                return Err(format!(
                    "line {}: shouldExecute decides by values of Flyway's configuration, which godwit does not have",
                    i + 1
                ));
            }
            _ => return Err(format!("line {}: `{key}` is not a setting of Flyway scripts", i + 1)),
        }
    }
    Ok(config)
}

/// The first `${name}` in `text` that Flyway would fill in, with its line.
fn placeholder(text: &str) -> Option<(usize, String)> {
    let mut from = 0;
    while let Some(at) = text[from..].find("${").map(|i| from + i) {
        let name = &text[at + 2..];
        let end = name.find('}')?;
        let name = &name[..end];
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            return Some((text[..at].matches('\n').count() + 1, name.to_owned()));
        }
        from = at + 2;
    }
    None
}

/// How a script runs, from its statements and its config, and why it cannot run as Flyway
/// would run it (a placeholder).
fn read(text: &str, config: &ScriptConfig) -> (Vec<Statement>, bool, Option<Refusal>) {
    let refused = placeholder(text)
        .filter(|_| config.placeholders)
        .map(|(line, name)| Refusal::Placeholder { line, name });
    let statements = statements::of(text);
    let transaction =
        config.transaction.unwrap_or_else(|| statements::fit_one_transaction(&statements));
    (statements, transaction, refused)
}

pub(super) fn parse(texts: &Texts) -> Result<SqlScript, FormatError> {
    let config = config(texts.meta.as_deref())
        .map_err(|reason| FormatError::BadSideFile { file: CONFIG, reason })?;
    let (up, transaction, refused) = read(&texts.up, &config);
    Ok(SqlScript { refused, ..SqlScript::up_only(up, transaction) })
}

/// An undo script, read when a revert needs it, with its own config file.
pub(super) fn down(path: &Path, text: &str) -> Result<DownRead, String> {
    let mut file = path.as_os_str().to_owned();
    file.push(".conf");
    let file = std::path::PathBuf::from(file);
    let config_text = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let config =
        config(config_text.as_deref()).map_err(|reason| format!("{}: {reason}", file.display()))?;
    match read(text, &config) {
        (_, _, Some(refused)) => Err(refused.to_string()),
        (statements, transaction, None) => Ok(DownRead { statements, transaction }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_config_is_read_as_flyway_reads_it() {
        let read = |text: &str| config(Some(text));
        assert_eq!(read("").unwrap(), ScriptConfig { transaction: None, placeholders: true });
        let off = "# comment\n! also\nexecuteInTransaction = FALSE\nplaceholderReplacement:false\nencoding=utf-8\n";
        assert_eq!(
            read(off).unwrap(),
            ScriptConfig { transaction: Some(false), placeholders: false }
        );
        assert!(read("executeInTransaction=maybe").unwrap_err().contains("true or false"));
        assert!(read("encoding=ISO_8859_1").unwrap_err().contains("UTF-8"));
        assert!(read("shouldExecute=true").unwrap_err().contains("shouldExecute"));
        assert!(read("flyway.table=x").unwrap_err().contains("`flyway.table` is not a setting"));
        assert!(read("nothing").unwrap_err().contains("line 1"));
    }

    #[test]
    fn placeholders_are_found_where_flyway_fills_them_in() {
        assert_eq!(placeholder("select 1;\n-- ${flyway:user}\n"), Some((2, "flyway:user".into())));
        assert_eq!(placeholder("select '${schema}';"), Some((1, "schema".into())));
        assert_eq!(placeholder("select '$' || '{x}', '${ not one }';"), None);
        assert_eq!(placeholder("select '${' ;"), None);
        assert_eq!(placeholder("select $$x$$, $1;"), None);
    }

    #[test]
    fn config_decides_the_transaction_and_placeholders() {
        let texts =
            |up: &str, meta: Option<&str>| Texts { up: up.into(), meta: meta.map(Into::into) };
        let concurrently = "create index concurrently i on t (x);";
        assert!(!parse(&texts(concurrently, None)).unwrap().transaction);
        let forced = texts(concurrently, Some("executeInTransaction=true"));
        assert!(parse(&forced).unwrap().transaction);
        let alone = texts("update t set x = 1;", Some("executeInTransaction=false"));
        assert!(!parse(&alone).unwrap().transaction);
        let filled = texts("create table ${name} (x int);", None);
        assert_eq!(
            parse(&filled).unwrap().refused,
            Some(Refusal::Placeholder { line: 1, name: "name".into() })
        );
        let literal = texts("create table ${name} (x int);", Some("placeholderReplacement=false"));
        assert_eq!(parse(&literal).unwrap().refused, None);
        let bad = texts("select 1;", Some("encoding=Cp1252"));
        assert!(matches!(parse(&bad), Err(FormatError::BadSideFile { .. })));
    }
}
