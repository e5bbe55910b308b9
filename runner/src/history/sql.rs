//! The history table's SQL in each dialect. Everything else about the history (which rows
//! exist, what they mean, how they are checked) is the same for every database and lives in
//! the rest of this module.

use crate::driver::Dialect;

/// godwit's columns, in the order the history is read.
pub(super) const COLUMNS: [&str; 11] = [
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
];

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

    /// Every row; `stream` is the column, or `''` for a table from before packs.
    pub fn select(&self, with_stream: bool) -> String {
        let stream = match (with_stream, self.dialect) {
            (true, _) => "stream",
            (false, Dialect::Sqlite) => "''",
            (false, Dialect::Postgres) => "''::text",
        };
        format!(
            "SELECT {stream}, version, name, kind, checksum, applied_at, execution_ms, state, \
             godwit_version, \"cursor\", rows_done FROM {}",
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
                UNIQUE (stream, version)
            );
            {index}",
            table = self.table,
            index = self.repeatable_index()
        )
    }

    /// Repeatable migrations have no version; their names are unique per stream.
    fn repeatable_index(&self) -> String {
        format!(
            "CREATE UNIQUE INDEX godwit_history_repeatable ON {} (stream, name) \
             WHERE version IS NULL;",
            self.table
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
    /// database), state, godwit version.
    pub fn insert(&self) -> String {
        let p = |n| self.param(n);
        format!(
            "INSERT INTO {} (stream, version, name, kind, checksum, applied_at, execution_ms, \
             state, godwit_version) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
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

    /// The condition that picks one row: parameter 1 is the stream, parameter 2 the version,
    /// or the name of a repeatable migration.
    pub fn row(&self, repeatable: bool) -> String {
        let key = match repeatable {
            false => format!("version = {}", self.param(2)),
            true => format!("version IS NULL AND name = {}", self.param(2)),
        };
        format!("stream = {} AND {key}", self.param(1))
    }

    pub fn delete(&self, repeatable: bool) -> String {
        format!("DELETE FROM {} WHERE {}", self.table, self.row(repeatable))
    }

    /// Parameters 3 and on are the new values of `columns`.
    pub fn update(&self, columns: &[&str], repeatable: bool) -> String {
        let set: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("\"{column}\" = {}", self.param(i + 3)))
            .collect();
        format!("UPDATE {} SET {} WHERE {}", self.table, set.join(", "), self.row(repeatable))
    }

    /// Brings a table from before packs (no `stream`, versions unique across the table) up to
    /// date, keeping its rows, in one transaction. PostgreSQL also needs the names of its
    /// unique constraints, which are dropped. SQLite cannot drop a constraint, so the table is
    /// rebuilt.
    pub fn upgrade(&self, constraints: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let columns = COLUMNS[1..].join(", ").replace("cursor", "\"cursor\"");
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
                    "BEGIN; ALTER TABLE {table} ADD COLUMN stream TEXT NOT NULL DEFAULT '';"
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
                    index = self.repeatable_index()
                ));
                sql
            }
        }
    }

    /// What undoes a failed [`Sql::upgrade`].
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
