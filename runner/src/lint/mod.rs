//! What a migration would do to a live database, read before it runs: each SQL statement is
//! parsed with PostgreSQL's grammar (squawk's parser, pure Rust) and checked against rules
//! for the ways a migration takes production down (a table locked while an index builds, a
//! constraint that scans the table under its lock, data dropped) and, on SQLite, the `ALTER
//! TABLE` forms SQLite refuses. Each rule says why it matters and the safe way to write it
//! (docs/lint.md, whose examples are this room's tests).

mod catalog;
mod rules;
mod sent;
pub(crate) mod statement;
mod takes;
mod trace;

pub(crate) use catalog::{in_database, regclass_text};
pub(crate) use sent::lint_sent;
pub use takes::{Lock, LockMode, RelationSize, locks_taken};
pub use trace::{Outcome, Trace, TraceError, TracedStatement};
pub(crate) use trace::{Traced, Tracer};

use crate::driver::Dialect;
use crate::locks::LockWaits;
use crate::migration::{Migration, Script};
use crate::text::plural;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// A rule of the linter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum Rule {
    IndexNotConcurrent,
    ConcurrentlyInTransaction,
    ConstraintNotValid,
    SetNotNull,
    ColumnTypeChange,
    NotNullWithoutDefault,
    VolatileDefault,
    UniqueWithoutIndex,
    AccessExclusiveWithoutTimeout,
    DropsData,
    Renames,
    SqliteAlterUnsupported,
    SqliteRebuild,
    Unreadable,
    PreferIdentity,
    PreferTimestamptz,
    PreferText,
    PreferBigintKeys,
}

impl Rule {
    /// Every rule, in the order docs/lint.md describes them.
    pub const ALL: [Rule; 18] = [
        Rule::IndexNotConcurrent,
        Rule::ConcurrentlyInTransaction,
        Rule::ConstraintNotValid,
        Rule::SetNotNull,
        Rule::ColumnTypeChange,
        Rule::NotNullWithoutDefault,
        Rule::VolatileDefault,
        Rule::UniqueWithoutIndex,
        Rule::AccessExclusiveWithoutTimeout,
        Rule::DropsData,
        Rule::Renames,
        Rule::SqliteAlterUnsupported,
        Rule::SqliteRebuild,
        Rule::Unreadable,
        Rule::PreferIdentity,
        Rule::PreferTimestamptz,
        Rule::PreferText,
        Rule::PreferBigintKeys,
    ];

    /// The rule's id, as findings, directives and godwit.toml name it.
    pub fn id(self) -> &'static str {
        match self {
            Rule::IndexNotConcurrent => "index-not-concurrent",
            Rule::ConcurrentlyInTransaction => "concurrently-in-transaction",
            Rule::ConstraintNotValid => "constraint-not-valid",
            Rule::SetNotNull => "set-not-null",
            Rule::ColumnTypeChange => "column-type-change",
            Rule::NotNullWithoutDefault => "not-null-without-default",
            Rule::VolatileDefault => "volatile-default",
            Rule::UniqueWithoutIndex => "unique-without-index",
            Rule::AccessExclusiveWithoutTimeout => "access-exclusive-without-timeout",
            Rule::DropsData => "drops-data",
            Rule::Renames => "renames",
            Rule::SqliteAlterUnsupported => "sqlite-alter-unsupported",
            Rule::SqliteRebuild => "sqlite-rebuild",
            Rule::Unreadable => "unreadable",
            Rule::PreferIdentity => "prefer-identity",
            Rule::PreferTimestamptz => "prefer-timestamptz",
            Rule::PreferText => "prefer-text",
            Rule::PreferBigintKeys => "prefer-bigint-keys",
        }
    }

    /// How much a finding of the rule matters unless configured otherwise; `None`: the rule
    /// is off unless godwit.toml turns it on (the preferences).
    pub fn level(self) -> Option<Level> {
        match self {
            Rule::DropsData
            | Rule::Renames
            | Rule::Unreadable
            | Rule::SqliteRebuild
            | Rule::AccessExclusiveWithoutTimeout => Some(Level::Warning),
            Rule::PreferIdentity
            | Rule::PreferTimestamptz
            | Rule::PreferText
            | Rule::PreferBigintKeys => None,
            _ => Some(Level::Error),
        }
    }

    /// Why a statement the rule finds is dangerous.
    pub fn why(self) -> &'static str {
        match self {
            Rule::IndexNotConcurrent => {
                "building or dropping an index without CONCURRENTLY locks the table against writes until it is done"
            }
            Rule::ConcurrentlyInTransaction => {
                "CONCURRENTLY cannot run inside a transaction block: the migration fails"
            }
            Rule::ConstraintNotValid => {
                "adding a foreign key or check constraint checks every row while holding a lock that blocks writes"
            }
            Rule::SetNotNull => "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
            Rule::ColumnTypeChange => {
                "changing a column's type rewrites the table and its indexes under an ACCESS EXCLUSIVE lock"
            }
            Rule::NotNullWithoutDefault => {
                "a NOT NULL column without a default cannot be added to a table that has rows"
            }
            Rule::VolatileDefault => {
                "a column whose default is volatile (random(), gen_random_uuid(), clock_timestamp(), a serial's nextval()) is computed for every row: the table is rewritten under an ACCESS EXCLUSIVE lock"
            }
            Rule::UniqueWithoutIndex => {
                "a primary key or unique constraint builds its index while holding a lock that blocks writes"
            }
            Rule::AccessExclusiveWithoutTimeout => {
                "a statement waiting for an ACCESS EXCLUSIVE lock queues every later query of the table behind it, reads included, for as long as it waits"
            }
            Rule::DropsData => "the data is gone, and the running application may still read it",
            Rule::Renames => "the running application still uses the old name until it is deployed",
            Rule::SqliteAlterUnsupported => {
                "SQLite's ALTER TABLE cannot change a column's type or default, or add a foreign key, unique or primary key constraint: the migration fails"
            }
            Rule::SqliteRebuild => {
                "a table rebuilt (dropped, and another renamed to its name) leaves rows that referenced it unchecked, and PRAGMA foreign_keys does nothing inside a transaction"
            }
            Rule::Unreadable => "godwit cannot read the statement, so it cannot check it",
            Rule::PreferIdentity => {
                "serial makes a sequence the column does not own for permissions and copies, and lets inserts bypass it"
            }
            Rule::PreferTimestamptz => {
                "timestamp without time zone stores the wall-clock time of whoever wrote it, with no zone"
            }
            Rule::PreferText => {
                "char(n) pads with spaces and checks nothing text with a CHECK would not"
            }
            Rule::PreferBigintKeys => {
                "an integer key runs out at 2,147,483,647 rows, and widening it later rewrites the table and every table that references it"
            }
        }
    }

    /// The safe way to write it.
    pub fn instead(self) -> &'static str {
        match self {
            Rule::IndexNotConcurrent => {
                "CREATE INDEX CONCURRENTLY (or DROP INDEX CONCURRENTLY) in a `-- godwit:no-transaction` migration"
            }
            Rule::ConcurrentlyInTransaction => {
                "put `-- godwit:no-transaction` in the file, alone with the CONCURRENTLY statement"
            }
            Rule::ConstraintNotValid => {
                "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (which does not block writes)"
            }
            Rule::SetNotNull => {
                "add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ uses the check and does not scan)"
            }
            Rule::ColumnTypeChange => {
                "add a column of the new type, backfill it in batches, and switch the application to it"
            }
            Rule::NotNullWithoutDefault => {
                "give it a DEFAULT (a constant default does not rewrite the table), or add it nullable and backfill"
            }
            Rule::VolatileDefault => {
                "add the column without a default (or with a constant one), set the default in a second statement, and backfill existing rows in batches"
            }
            Rule::UniqueWithoutIndex => {
                "CREATE UNIQUE INDEX CONCURRENTLY in a no-transaction migration, then ADD CONSTRAINT ... PRIMARY KEY (or UNIQUE) USING INDEX"
            }
            Rule::AccessExclusiveWithoutTimeout => {
                "keep godwit's lock timeout on (the default), or SET LOCAL lock_timeout = '2s' before the statement"
            }
            Rule::DropsData => "stop using it in the application first; drop it in a later release",
            Rule::Renames => {
                "add the new name beside the old one (a column, or a view over the table) and drop the old one later"
            }
            Rule::SqliteAlterUnsupported => {
                "rebuild the table: create the new one, copy the rows, drop the old one, rename the new one"
            }
            Rule::SqliteRebuild => {
                "rebuild in a `-- godwit:no-transaction` migration between PRAGMA foreign_keys = OFF and ON, and run PRAGMA foreign_key_check before ON (SQLite's own twelve steps)"
            }
            Rule::Unreadable => "check that the statement is valid SQL for the database",
            Rule::PreferIdentity => "bigint GENERATED ALWAYS AS IDENTITY (or BY DEFAULT)",
            Rule::PreferTimestamptz => "timestamptz (timestamp with time zone)",
            Rule::PreferText => "text, or varchar(n) where a limit matters",
            Rule::PreferBigintKeys => "bigint (or bigint GENERATED ALWAYS AS IDENTITY)",
        }
    }
}

/// A rule name that is no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is no rule of godwit lint ({rules})", rules = Rule::ALL.map(Rule::id).join(", "))]
pub struct UnknownRule(pub String);

impl FromStr for Rule {
    type Err = UnknownRule;

    fn from_str(text: &str) -> Result<Rule, UnknownRule> {
        Rule::ALL.into_iter().find(|r| r.id() == text).ok_or_else(|| UnknownRule(text.to_owned()))
    }
}

/// How much each rule's findings matter: its own level unless set here, or off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    set: HashMap<Rule, Option<Level>>,
}

impl Levels {
    /// `rule`'s findings at `level`; `None` turns the rule off.
    pub fn set(mut self, rule: Rule, level: Option<Level>) -> Levels {
        self.set.insert(rule, level);
        self
    }

    /// The level of `rule`'s findings, `None` when it is off.
    pub fn of(&self, rule: Rule) -> Option<Level> {
        self.set.get(&rule).copied().unwrap_or(rule.level())
    }
}

impl From<Rule> for &'static str {
    fn from(rule: Rule) -> &'static str {
        rule.id()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Something a rule found in a migration's statement.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub level: Level,
    /// The migration's label (`0003_add_index`).
    pub migration: String,
    pub path: PathBuf,
    /// The line of the file the statement (or the part of it found) starts on.
    pub line: usize,
    /// What the rule found, in a few words: `CREATE INDEX on orders`.
    pub what: String,
    pub statement: String,
    /// Why the file accepts it (`-- godwit:allow <rule> <reason>`); an accepted finding
    /// stops nothing.
    pub allowed: Option<String>,
}

impl Finding {
    /// Whether the finding stops a run that lints: an error its file does not allow.
    pub fn refuses(&self) -> bool {
        self.level == Level::Error && self.allowed.is_none()
    }
}

/// The findings that stop a run before anything is applied: errors in the migrations it would
/// apply that their files do not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", refused(.0))]
pub struct Refused(pub Vec<Finding>);

fn refused(findings: &[Finding]) -> String {
    let mut text = format!(
        "godwit lint finds {} in the migrations to apply; nothing was applied",
        plural(findings.len(), "error", "errors")
    );
    for f in findings {
        let (path, line, what, rule) = (f.path.display(), f.line, &f.what, f.rule);
        text.push_str(&format!("\n  {path}:{line}: {what} [{rule}]: {}", rule.why()));
    }
    text
}

/// The findings of every rule in the `up` statements of `migrations` (SQL files; components
/// are not read), for a database of `dialect`, at the levels `levels` gives them (a rule that
/// is off finds nothing). The migrations are read in order as ones that run together: a
/// table an earlier one creates is new to the later ones. `waits` is the lock timeout the run
/// gives each statement (files may change it).
pub fn lint<'m>(
    migrations: impl IntoIterator<Item = &'m Migration>,
    dialect: Dialect,
    levels: &Levels,
    waits: &LockWaits,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut reader = rules::Reader::new(dialect, true);
    let scripts: Vec<(&Migration, &crate::migration::SqlScript)> = migrations
        .into_iter()
        .filter_map(|m| match &m.script {
            Script::Sql(script) => Some((m, script)),
            Script::Wasm(_) => None,
        })
        .collect();
    let texts: Vec<&str> =
        scripts.iter().flat_map(|(_, s)| s.up.iter().map(|st| st.sql.as_str())).collect();
    let mut parsed = rules::parse_all(&texts).into_iter();
    for (migration, script) in scripts {
        let timeout = waits.of_file(script.lock_timeout).is_some();
        let statements = script.up.iter().map(|s| s.sql.as_str());
        reader.next_migration(script.transaction, timeout, statements);
        let allowed = |rule: Rule| {
            script.allows.iter().find(|allow| allow.rule == rule.id()).map(|a| a.reason.clone())
        };
        for statement in &script.up {
            let Some(parse) = parsed.next() else { break };
            for found in reader.check_parsed(&statement.sql, &parse) {
                let Some(level) = levels.of(found.rule) else { continue };
                findings.push(Finding {
                    rule: found.rule,
                    level,
                    migration: migration.label.clone(),
                    path: migration.path.clone(),
                    line: statement.line + found.lines_in,
                    what: found.what,
                    statement: statement.sql.clone(),
                    allowed: allowed(found.rule),
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests;
