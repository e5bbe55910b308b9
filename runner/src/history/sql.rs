//! The history table's SQL in each dialect. Everything else about the history (which rows
//! exist, what they mean, how they are checked) is the same for every database and lives in
//! the rest of this module.

use crate::driver::Dialect;

/// godwit's columns, in the order the history is read. `stream` came with packs and
/// `dotted_version` with Flyway's dotted versions: a table from before either is upgraded.
pub(super) const COLUMNS: [&str; 12] = [
    "stream",
    "version",
    "name",
    "kind",
    "checksum",
    "applied_at",
    "execution_ms",
    "state",
    "godwit_version",
    "cursor",
    "rows_done",
    "dotted_version",
];

/// How a row is found: by its version (a number or dotted) or, for a repeatable migration,
/// by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RowKey {
    Number,
    Dotted,
    Repeatable,
}

/// The SQL of one history table.
pub(super) struct Sql<'a> {
    pub dialect: Dialect,
    /// The table as SQL names it (schema-qualified and quoted on PostgreSQL).
    pub table: &'a str,
}

impl Sql<'_> {
    /// Parameter `n` (from 1).
    pub fn param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The table's columns (one row each, the name first); no row when it does not exist.
    /// `$1` or `?1` is the table's name, as [`Sql::table`] has it.
    pub fn columns(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "SELECT name FROM pragma_table_info(?1)",
            Dialect::Postgres => {
                "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) \
                 AND attnum > 0 AND NOT attisdropped"
            }
        }
    }

    /// Every row; `stream` is the column, or `''` for a table from before packs, and
    /// `dotted_version` the column, or NULL for a table from before dotted versions.
    pub fn select(&self, with_stream: bool, with_dotted: bool) -> String {
        let stream = match (with_stream, self.dialect) {
            (true, _) => "stream",
            (false, Dialect::Sqlite) => "''",
            (false, Dialect::Postgres) => "''::text",
        };
        let dotted = match (with_dotted, self.dialect) {
            (true, _) => "dotted_version",
            (false, Dialect::Sqlite) => "NULL",
            (false, Dialect::Postgres) => "NULL::text",
        };
        format!(
            "SELECT {stream}, version, name, kind, checksum, applied_at, execution_ms, state, \
             godwit_version, \"cursor\", rows_done, {dotted} FROM {}",
            self.table
        )
    }

    pub fn create(&self) -> String {
        let (int, time) = match self.dialect {
            Dialect::Sqlite => ("INTEGER", "TEXT"),
            Dialect::Postgres => ("BIGINT", "TIMESTAMPTZ"),
        };
        format!(
            "CREATE TABLE {table} (
                version        {int},
                name           TEXT   NOT NULL,
                kind           TEXT   NOT NULL,
                checksum       TEXT   NOT NULL,
                applied_at     {time} NOT NULL,
                execution_ms   {int}  NOT NULL,
                state          TEXT   NOT NULL,
                godwit_version TEXT   NOT NULL,
                \"cursor\"     TEXT,
                rows_done      {int}  NOT NULL DEFAULT 0,
                stream         TEXT   NOT NULL DEFAULT '',
                dotted_version TEXT,
                UNIQUE (stream, version)
            );
            {index}",
            table = self.table,
            index = self.version_indexes()
        )
    }

    /// A versioned migration has a number in `version` or a dotted version in
    /// `dotted_version`, unique per stream; a repeatable one has neither, and its name is
    /// unique per stream.
    fn version_indexes(&self) -> String {
        format!(
            "CREATE UNIQUE INDEX godwit_history_repeatable ON {table} (stream, name) \
             WHERE version IS NULL AND dotted_version IS NULL;
             CREATE UNIQUE INDEX godwit_history_dotted ON {table} (stream, dotted_version) \
             WHERE dotted_version IS NOT NULL;",
            table = self.table
        )
    }

    /// The current time as `applied_at` stores it.
    fn now(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            Dialect::Postgres => "now()",
        }
    }

    /// `execution_ms` from parameter `n`, or when it is NULL, what the database can measure:
    /// the milliseconds since the transaction began on PostgreSQL (0 on SQLite, whose steps
    /// share a transaction and are measured by the driver).
    fn elapsed(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("coalesce({}, 0)", self.param(n)),
            Dialect::Postgres => format!(
                "coalesce({}, (extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::bigint)",
                self.param(n)
            ),
        }
    }

    /// Parameters: stream, version, name, kind, checksum, execution_ms (NULL: measured by the
    /// database), state, godwit version, and for a dotted version the dotted version (the
    /// column is only named then, so that a table from before dotted versions takes the
    /// other rows as it is).
    pub fn insert(&self, dotted: bool) -> String {
        let p = |n| self.param(n);
        let (column, value) = match dotted {
            true => (", dotted_version", format!(", {}", p(9))),
            false => ("", String::new()),
        };
        format!(
            "INSERT INTO {} (stream, version, name, kind, checksum, applied_at, execution_ms, \
             state, godwit_version{column}) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}{value})",
            self.table,
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            self.now(),
            self.elapsed(6),
            p(7),
            p(8)
        )
    }

    /// The condition that picks one row: parameter 1 is the stream, parameter 2 the version
    /// (a number, or dotted text), or the name of a repeatable migration.
    pub fn row(&self, key: RowKey) -> String {
        let key = match key {
            RowKey::Number => format!("version = {}", self.param(2)),
            RowKey::Dotted => format!("dotted_version = {}", self.param(2)),
            RowKey::Repeatable => {
                format!("version IS NULL AND dotted_version IS NULL AND name = {}", self.param(2))
            }
        };
        format!("stream = {} AND {key}", self.param(1))
    }

    pub fn delete(&self, key: RowKey) -> String {
        format!("DELETE FROM {} WHERE {}", self.table, self.row(key))
    }

    /// Parameters 3 and on are the new values of `columns`.
    pub fn update(&self, columns: &[&str], key: RowKey) -> String {
        let set: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("\"{column}\" = {}", self.param(i + 3)))
            .collect();
        format!("UPDATE {} SET {} WHERE {}", self.table, set.join(", "), self.row(key))
    }

    /// Brings a table from before packs (no `stream`, versions unique across the table) up to
    /// date, keeping its rows, in one transaction. PostgreSQL also needs the names of its
    /// unique constraints, which are dropped. SQLite cannot drop a constraint, so the table is
    /// rebuilt.
    pub fn upgrade_streams(&self, constraints: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                // The columns such a table has: neither `stream` nor `dotted_version`.
                let columns = COLUMNS[1..11].join(", ").replace("cursor", "\"cursor\"");
                format!(
                    "SAVEPOINT godwit_upgrade;
                     DROP INDEX godwit_history_repeatable;
                     ALTER TABLE godwit_history RENAME TO godwit_history_v1;
                     {create}
                     INSERT INTO godwit_history ({columns}) SELECT {columns} FROM godwit_history_v1;
                     DROP TABLE godwit_history_v1;
                     RELEASE godwit_upgrade;",
                    create = self.create()
                )
            }
            Dialect::Postgres => {
                let table = self.table;
                let mut sql = format!(
                    "BEGIN; ALTER TABLE {table} ADD COLUMN stream TEXT NOT NULL DEFAULT '';
                     ALTER TABLE {table} ADD COLUMN dotted_version TEXT;"
                );
                for name in constraints {
                    let name = name.replace('"', "\"\"");
                    sql.push_str(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\";"));
                }
                let schema = table.rsplit_once('.').map_or(String::new(), |(s, _)| format!("{s}."));
                sql.push_str(&format!(
                    "ALTER TABLE {table} ADD UNIQUE (stream, version);
                     DROP INDEX IF EXISTS {schema}godwit_history_repeatable;
                     {index}
                     COMMIT;",
                    index = self.version_indexes()
                ));
                sql
            }
        }
    }

    /// Brings a table from before dotted versions up to date in one transaction: the column,
    /// and repeatable rows told from dotted ones (both have no number).
    pub fn upgrade_dotted(&self) -> String {
        let table = self.table;
        let schema = table.rsplit_once('.').map_or(String::new(), |(s, _)| format!("{s}."));
        let (begin, end) = match self.dialect {
            Dialect::Sqlite => ("SAVEPOINT godwit_upgrade;", "RELEASE godwit_upgrade;"),
            Dialect::Postgres => ("BEGIN;", "COMMIT;"),
        };
        format!(
            "{begin}
             ALTER TABLE {table} ADD COLUMN dotted_version TEXT;
             DROP INDEX IF EXISTS {schema}godwit_history_repeatable;
             {index}
             {end}",
            index = self.version_indexes()
        )
    }

    /// What undoes a failed upgrade ([`Sql::upgrade_streams`], [`Sql::upgrade_dotted`]).
    pub fn abandon_upgrade(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "ROLLBACK TO godwit_upgrade; RELEASE godwit_upgrade",
            Dialect::Postgres => "ROLLBACK",
        }
    }

    /// The names of the table's unique constraints (PostgreSQL; SQLite has none by name).
    pub fn unique_constraints(&self) -> Option<&'static str> {
        match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(
                "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1) \
                 AND contype = 'u'",
            ),
        }
    }

    /// Whether `schema` exists (PostgreSQL).
    pub fn schema_exists(&self) -> &'static str {
        "SELECT nspname::text FROM pg_namespace WHERE nspname = $1"
    }
}
