//! Taking over another tool's history: what its table says was applied is recorded in
//! godwit's history, under the migration lock and in one transaction, after every applied
//! file the tool kept a checksum of has been checked against it. Nothing runs and the tool's
//! table is left as it is, so the team can go back to the tool at any point.

use super::Migrator;
use crate::checksum::Checksum;
use crate::driver::Connection;
use crate::error::Error;
use crate::history::adopt::{self, AdoptError, Mismatch, ToolHistory};
use crate::history::{self, NewRecord, RecordState};
use crate::migration::{Key, Kind, Migration};
use crate::report::Reporter;
use crate::run::in_transaction;
use crate::source::Format;
use crate::stream::Stream;
use std::collections::BTreeSet;

/// What to take over.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AdoptRequest {
    /// The tool whose history to read.
    pub tool: Format,
    /// Its table, when not the tool's default ([`adopt::default_table`]; for Flyway's,
    /// `schema_version` is read when only that one is there, as Flyway 5 reads it).
    pub table: Option<String>,
    /// Only say what would be recorded.
    pub dry_run: bool,
}

impl AdoptRequest {
    pub fn new(tool: Format) -> AdoptRequest {
        AdoptRequest { tool, table: None, dry_run: false }
    }
}

/// What an adoption recorded (or, for a dry run, would record).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Adoption {
    pub tool: Format,
    /// The table read.
    pub table: String,
    /// Migrations recorded as applied, by label.
    pub recorded: Vec<String>,
    /// Applied versions the tool lists that have no file; recorded, so that godwit reports
    /// them as missing.
    pub missing: Vec<String>,
    /// Repeatables whose file changed since the tool last ran them: recorded with the tool's
    /// checksum, so that `up` runs them again, as the tool would.
    pub rerun: Vec<String>,
    /// Migrations godwit's history already had.
    pub already: usize,
    pub dry_run: bool,
}

impl Migrator {
    /// Reads `request.tool`'s history table and records the same applied set in godwit's,
    /// in one transaction under the migration lock. Every applied file is checked first
    /// against the checksum the tool kept (sqlx, Flyway, refinery) and every mismatch is
    /// reported before anything is written; a dirty or failed state in the tool's table stops
    /// the adoption. Running it again records nothing.
    pub fn adopt(
        &self,
        conn: &mut Connection,
        request: &AdoptRequest,
        reporter: &mut dyn Reporter,
    ) -> Result<Adoption, Error> {
        if request.tool == Format::Godwit {
            return Err(AdoptError::NoTool.into());
        }
        let table =
            request.table.clone().unwrap_or_else(|| adopt::default_table(request.tool).to_owned());
        let mut conn = self.lock(conn, reporter)?;
        let tool = adopt::read(conn.driver()?, request.tool, &table)?;
        let mismatches = self.mismatches(&tool);
        if !mismatches.is_empty() {
            return Err(AdoptError::Mismatch { tool: tool.tool, files: mismatches }.into());
        }
        // Read before anything is created: a dry run creates nothing.
        let known: BTreeSet<Key> = self
            .history(&mut conn)?
            .into_iter()
            .filter(|row| row.stream.is_project())
            .map(|row| row.key())
            .collect();
        if !request.dry_run {
            history::ensure(conn.driver()?)?;
        }
        let plan = self.adoption(&tool, &known);
        let mut adoption = Adoption {
            tool: tool.tool,
            table: tool.table.clone(),
            recorded: Vec::new(),
            missing: Vec::new(),
            rerun: Vec::new(),
            already: plan.already,
            dry_run: request.dry_run,
        };
        let stream = Stream::Project;
        let mut writes = Vec::new();
        for entry in &plan.entries {
            let (label, name, kind, checksum) = match entry {
                Entry::File { migration, checksum } => {
                    (&migration.label, &migration.name, migration.kind, checksum.clone())
                }
                Entry::Missing { label, name, checksum, .. } => {
                    (label, name, Kind::Sql, checksum.clone())
                }
            };
            match entry {
                Entry::Missing { .. } => adoption.missing.push(label.clone()),
                Entry::File { migration, checksum } if checksum != &migration.checksum => {
                    adoption.rerun.push(label.clone())
                }
                Entry::File { .. } => adoption.recorded.push(label.clone()),
            }
            if !request.dry_run {
                let record = NewRecord {
                    stream: &stream,
                    version: entry.key().version(),
                    name,
                    kind,
                    checksum: &checksum,
                    execution_ms: Some(0),
                    state: RecordState::Applied,
                };
                writes.push(crate::history::record(conn.driver()?, &record));
            }
        }
        if !writes.is_empty() {
            let context = format!("cannot record the adoption of {}", adoption.table);
            in_transaction(&mut conn, context, &writes)?;
        }
        Ok(adoption)
    }

    fn project(&self) -> impl Iterator<Item = &Migration> {
        self.migrations.iter().filter(|m| m.stream.is_project())
    }

    /// Every applied file whose text is not what the tool recorded a checksum of.
    fn mismatches(&self, tool: &ToolHistory) -> Vec<Mismatch> {
        let mut found = Vec::new();
        for record in &tool.applied {
            let (Some(checksum), Key::Versioned(version)) = (&record.checksum, &record.key) else {
                continue;
            };
            let Some(migration) = self.project().find(|m| m.key == record.key) else {
                continue;
            };
            let Some(text) = adopt::tool_text(migration) else {
                continue;
            };
            // Only refinery's checksum covers the version, and its versions are numbers.
            let number = version.number().unwrap_or(0);
            if !checksum.matches(&migration.name, number, &text) {
                found.push(Mismatch {
                    path: migration.path.clone(),
                    version: version.to_string(),
                    recorded: checksum.to_string(),
                    now: checksum.of_same_kind(&migration.name, number, &text),
                });
            }
        }
        found
    }

    /// What to record: each applied migration godwit's history does not have yet.
    fn adoption<'m>(&'m self, tool: &ToolHistory, known: &BTreeSet<Key>) -> Plan<'m> {
        let mut plan = Plan { entries: Vec::new(), already: 0 };
        let mut keys: Vec<(Key, Option<&adopt::ToolRecord>)> = Vec::new();
        if let Some(up_to) = tool.up_to {
            for migration in self.project() {
                if migration.version().is_some_and(|v| v <= up_to) {
                    keys.push((migration.key.clone(), None));
                }
            }
            if !keys.iter().any(|(k, _)| k.version() == Some(up_to)) {
                keys.push((Key::Versioned(up_to), None));
            }
        }
        for record in &tool.applied {
            if !keys.iter().any(|(k, _)| *k == record.key) {
                keys.push((record.key.clone(), Some(record)));
            }
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, record) in keys {
            if known.contains(&key) {
                plan.already += 1;
                continue;
            }
            let stored = |r: Option<&adopt::ToolRecord>| {
                let text = r
                    .and_then(|r| r.checksum.as_ref())
                    .map_or("none".to_owned(), ToString::to_string);
                Checksum::from_stored(format!("{}:{text}", tool.tool))
            };
            match self.project().find(|m| m.key == key) {
                Some(migration) => {
                    // A repeatable the tool ran at another text runs again, as the tool would.
                    let changed = matches!(key, Key::Repeatable(_))
                        && record.and_then(|r| r.checksum.as_ref()).is_some_and(|c| {
                            let text = adopt::tool_text(migration).unwrap_or_default();
                            !c.matches(&migration.name, 0, &text)
                        });
                    let checksum = match changed {
                        true => stored(record),
                        false => migration.checksum.clone(),
                    };
                    plan.entries.push(Entry::File { migration, checksum });
                }
                None => {
                    let name = record.and_then(|r| r.name.clone()).unwrap_or_default();
                    let label = match (&key, name.is_empty()) {
                        (Key::Versioned(v), false) => format!("{v}_{name}"),
                        (key, _) => key.to_string(),
                    };
                    let checksum = stored(record);
                    plan.entries.push(Entry::Missing { key, label, name, checksum });
                }
            }
        }
        plan
    }
}

struct Plan<'m> {
    entries: Vec<Entry<'m>>,
    already: usize,
}

enum Entry<'m> {
    File { migration: &'m Migration, checksum: Checksum },
    Missing { key: Key, label: String, name: String, checksum: Checksum },
}

impl Entry<'_> {
    fn key(&self) -> &Key {
        match self {
            Entry::File { migration, .. } => &migration.key,
            Entry::Missing { key, .. } => key,
        }
    }
}
