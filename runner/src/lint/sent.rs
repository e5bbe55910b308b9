//! A component migration's statements, linted as far as godwit can see them: they are known
//! only once the component has sent them, so the rules read them after its call and what
//! they find is told as warnings (the statements ran already; nothing is refused).

use super::{Finding, Level, Levels, rules};
use crate::driver::Dialect;
use crate::migration::Migration;

/// The findings in the statements `migration`'s component sent, in order, each at the
/// level godwit.toml gives its rule but told as a warning; `line` is 0 (no file line).
pub(crate) fn lint_sent(
    migration: &Migration,
    sent: &[String],
    dialect: Dialect,
    levels: &Levels,
    timeout: bool,
) -> Vec<Finding> {
    let transaction = migration.runs_in_transaction_when(false);
    let mut reader = rules::Reader::new(dialect, transaction);
    reader.next_migration(transaction, timeout, sent.iter().map(String::as_str));
    let texts: Vec<&str> = sent.iter().map(String::as_str).collect();
    let mut findings = Vec::new();
    for (sql, parse) in sent.iter().zip(rules::parse_all(&texts)) {
        for found in reader.check_parsed(sql, &parse) {
            if levels.of(found.rule).is_none() {
                continue;
            }
            findings.push(Finding {
                rule: found.rule,
                level: Level::Warning,
                migration: migration.label.clone(),
                path: migration.path.clone(),
                line: 0,
                what: format!("{} (a statement the component sent)", found.what),
                statement: sql.clone(),
                allowed: None,
            });
        }
    }
    findings
}
