//! The SQL migration file format: `-- godwit:up` and `-- godwit:down` sections and the
//! `-- godwit:no-transaction`, `-- godwit:requires` and `-- godwit:allow` directives. Anything that looks like a directive but is not one
//! is an error, so a typo never silently changes what runs.

use super::split::split;
use crate::locks::LockTimeout;
use crate::migration::{Allow, SqlScript, Squashed, Statement};
use crate::version::Version;

/// Why a SQL file's contents are not a migration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlFileError {
    #[error("no `-- godwit:up` section")]
    NoUpSection,
    #[error("the up section (line {line}) has no statements")]
    EmptyUp { line: usize },
    #[error("unknown directive `{text}` on line {line}")]
    UnknownDirective { line: usize, text: String },
    #[error("a second `-- godwit:{section}` section on line {line}")]
    DuplicateSection { line: usize, section: &'static str },
    #[error("SQL on line {line} is outside the up and down sections")]
    OutsideSection { line: usize },
    /// `-- godwit:allow` names no rule of `godwit lint`, or gives no reason.
    #[error("line {line}: `{text}`: {why}")]
    BadAllow { line: usize, text: String, why: String },
}

enum Directive {
    Up,
    Down,
    NoTransaction,
    /// `-- godwit:requires 0007, 0009_backfill`: transforms to finish first.
    Requires(Vec<String>),
    /// `-- godwit:allow <rule> <reason>`: a lint rule's findings accepted, and why.
    Allow {
        rule: String,
        reason: String,
    },
    /// `-- godwit:lock-timeout 30s` or `off`.
    LockTimeout(LockTimeout),
    /// `-- godwit:squashes 0001_users <checksum>`: a migration this baseline replaces.
    Squashes(Squashed),
}

/// Recognises `-- godwit:<word>` lines; `Err` carries a `godwit:` line that is not a directive.
fn directive(line: &str) -> Option<Result<Directive, String>> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let word = rest.strip_prefix("godwit:")?.trim();
    Some(match word {
        "up" => Ok(Directive::Up),
        "down" => Ok(Directive::Down),
        "no-transaction" => Ok(Directive::NoTransaction),
        _ if word == "allow" || word.starts_with("allow ") => {
            let mut rest = word["allow".len()..].trim().splitn(2, char::is_whitespace);
            let rule = rest.next().unwrap_or_default().to_owned();
            let reason = rest.next().unwrap_or_default().trim().to_owned();
            Ok(Directive::Allow { rule, reason })
        }
        _ if word.starts_with("lock-timeout ") => match word["lock-timeout ".len()..].trim() {
            "off" => Ok(Directive::LockTimeout(LockTimeout::Off)),
            timeout => match humantime::parse_duration(timeout) {
                Ok(timeout) if !timeout.is_zero() => {
                    Ok(Directive::LockTimeout(LockTimeout::After(timeout)))
                }
                _ => Err(line.trim().to_owned()),
            },
        },
        _ if word.starts_with("squashes ") => {
            let mut parts = word["squashes ".len()..].split_whitespace();
            let (label, checksum) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let version = label.split('_').next().and_then(|v| v.parse::<Version>().ok());
            match (version, checksum.is_empty(), parts.next()) {
                (Some(version), false, None) => Ok(Directive::Squashes(Squashed {
                    version,
                    label: label.to_owned(),
                    checksum: crate::checksum::Checksum::from_stored(checksum.to_owned()),
                })),
                _ => Err(line.trim().to_owned()),
            }
        }
        _ if word.starts_with("requires ") => {
            let names: Vec<String> = word["requires ".len()..]
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            match names.is_empty() {
                true => Err(line.trim().to_owned()),
                false => Ok(Directive::Requires(names)),
            }
        }
        _ => Err(line.trim().to_owned()),
    })
}

struct Section {
    marker_line: usize,
    start: usize,
    end: usize,
}

/// Parses a migration file's text (already known to be valid UTF-8).
pub(crate) fn parse(text: &str) -> Result<SqlScript, SqlFileError> {
    // sections[0] is up, sections[1] is down; `open` is the one lines currently belong to.
    let mut sections: [Option<Section>; 2] = [None, None];
    let mut open: Option<usize> = None;
    let mut transaction = true;
    let mut requires = Vec::new();
    let mut allows = Vec::new();
    let mut lock_timeout = None;
    let mut squashes = Vec::new();
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let next = offset + line.len();
        match directive(line) {
            Some(Ok(Directive::NoTransaction)) => transaction = false,
            Some(Ok(Directive::Requires(names))) => requires.extend(names),
            Some(Ok(Directive::LockTimeout(timeout))) => lock_timeout = Some(timeout),
            Some(Ok(Directive::Squashes(squashed))) => squashes.push(squashed),
            Some(Ok(Directive::Allow { rule, reason })) => {
                allows.push(allow(number, line.trim(), rule, reason)?);
            }
            Some(Ok(kind @ (Directive::Up | Directive::Down))) => {
                let (slot, section) = match kind {
                    Directive::Up => (0, "up"),
                    _ => (1, "down"),
                };
                if sections[slot].is_some() {
                    return Err(SqlFileError::DuplicateSection { line: number, section });
                }
                sections[slot] = Some(Section { marker_line: number, start: next, end: next });
                open = Some(slot);
            }
            Some(Err(text)) => return Err(SqlFileError::UnknownDirective { line: number, text }),
            None => match open.and_then(|slot| sections[slot].as_mut()) {
                Some(section) => section.end = next,
                None if !is_blank_or_comment(line) => {
                    return Err(SqlFileError::OutsideSection { line: number });
                }
                None => {}
            },
        }
        offset = next;
    }
    let [up, down] = sections;
    let up = up.ok_or(SqlFileError::NoUpSection)?;
    let up_statements = statements(text, &up);
    if up_statements.is_empty() {
        return Err(SqlFileError::EmptyUp { line: up.marker_line });
    }
    Ok(SqlScript {
        up: up_statements,
        down: down.map(|section| statements(text, &section)),
        transaction,
        requires,
        down_file: None,
        refused: None,
        allows,
        lock_timeout,
        squashes,
    })
}

/// An allow directive whose rule is a rule of `godwit lint` and which says why.
fn allow(line: usize, text: &str, rule: String, reason: String) -> Result<Allow, SqlFileError> {
    let bad = |why: String| SqlFileError::BadAllow { line, text: text.to_owned(), why };
    if let Err(unknown) = rule.parse::<crate::lint::Rule>() {
        let why = match rule.is_empty() {
            true => "name the rule whose findings the file accepts, and why".to_owned(),
            false => unknown.to_string(),
        };
        return Err(bad(why));
    }
    if reason.is_empty() {
        return Err(bad(format!("say why the file accepts {rule}'s findings, after the rule")));
    }
    Ok(Allow { rule, reason, line })
}

fn statements(text: &str, section: &Section) -> Vec<Statement> {
    split(&text[section.start..section.end], section.marker_line + 1)
}

fn is_blank_or_comment(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_names_a_rule_and_says_why() {
        let text = "-- godwit:allow drops-data the table moved to the archive\n-- godwit:up\nDROP TABLE t;\n";
        let script = parse(text).unwrap();
        let allow = Allow {
            rule: "drops-data".into(),
            reason: "the table moved to the archive".into(),
            line: 1,
        };
        assert_eq!(script.allows, [allow]);
        for (bad, why) in [
            ("-- godwit:allow no-such-rule because\n", "`no-such-rule` is no rule of godwit lint"),
            ("-- godwit:allow drops-data\n", "say why the file accepts drops-data's findings"),
            ("-- godwit:allow\n", "name the rule"),
        ] {
            let error = parse(&format!("{bad}-- godwit:up\nselect 1;\n")).unwrap_err();
            assert!(matches!(&error, SqlFileError::BadAllow { line: 1, .. }), "{error}");
            assert!(error.to_string().contains(why), "{error}");
        }
    }

    #[test]
    fn up_and_down_sections() {
        let text = "-- adds users\n-- godwit:up\ncreate table users (id int);\n\n-- godwit:down\ndrop table users;\n";
        let script = parse(text).unwrap();
        assert!(script.transaction);
        assert_eq!(script.up.len(), 1);
        assert_eq!(script.up[0].line, 3);
        let down = script.down.unwrap();
        assert_eq!(down[0].sql, "drop table users");
        assert_eq!(down[0].line, 6);
    }

    #[test]
    fn no_down_means_irreversible_and_empty_down_is_a_no_op() {
        assert!(parse("-- godwit:up\nselect 1;").unwrap().down.is_none());
        let empty = parse("-- godwit:up\nselect 1;\n-- godwit:down\n-- nothing to undo\n");
        assert_eq!(empty.unwrap().down, Some(vec![]));
    }

    #[test]
    fn no_transaction_directive() {
        let text =
            "-- godwit:no-transaction\n-- godwit:up\ncreate index concurrently i on t (x);\n";
        assert!(!parse(text).unwrap().transaction);
        let spaced = "--   godwit:no-transaction  \r\n--godwit:up\r\nselect 1;\r\n";
        assert!(!parse(spaced).unwrap().transaction);
    }

    #[test]
    fn malformed_files_are_errors() {
        assert_eq!(
            parse("create table t (x int);").unwrap_err(),
            SqlFileError::OutsideSection { line: 1 }
        );
        assert_eq!(parse("-- just a comment\n").unwrap_err(), SqlFileError::NoUpSection);
        assert_eq!(
            parse("-- godwit:up\n-- later\n").unwrap_err(),
            SqlFileError::EmptyUp { line: 1 }
        );
        assert!(matches!(
            parse("-- godwit:up\nselect 1;\n-- godwit:donw\n"),
            Err(SqlFileError::UnknownDirective { line: 3, .. })
        ));
        assert!(matches!(
            parse("-- godwit:up\nselect 1;\n-- godwit:up\nselect 2;"),
            Err(SqlFileError::DuplicateSection { line: 3, section: "up" })
        ));
    }

    #[test]
    fn requires_lists_versions_and_names() {
        let text = "-- godwit:requires 0007, 0009_backfill\n-- godwit:requires 12\n-- godwit:up\nselect 1;\n";
        assert_eq!(parse(text).unwrap().requires, ["0007", "0009_backfill", "12"]);
        assert!(matches!(
            parse("-- godwit:requires\n-- godwit:up\nselect 1;"),
            Err(SqlFileError::UnknownDirective { line: 1, .. })
        ));
    }
}
