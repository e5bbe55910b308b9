//! Looks into a test database directly (not through godwit), so assertions about what godwit
//! did are checked against what the database really holds.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One history row, as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub version: Option<i64>,
    pub name: String,
    pub state: String,
    pub checksum: String,
}

#[derive(Debug)]
pub struct Inspector {
    backend: Backend,
    url: String,
}

impl Inspector {
    pub fn new(backend: Backend, url: &str) -> Inspector {
        Inspector { backend, url: url.to_owned() }
    }

    /// Rows of a query whose columns are all cast to text (NULL becomes `NULL`).
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite:").unwrap();
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let columns = statement.column_count();
                statement
                    .query_map([], |row| {
                        (0..columns)
                            .map(|i| {
                                let value: rusqlite::types::Value = row.get(i)?;
                                Ok(match value {
                                    rusqlite::types::Value::Null => "NULL".to_owned(),
                                    rusqlite::types::Value::Integer(i) => i.to_string(),
                                    rusqlite::types::Value::Real(r) => r.to_string(),
                                    rusqlite::types::Value::Text(t) => t,
                                    rusqlite::types::Value::Blob(b) => format!("{b:?}"),
                                })
                            })
                            .collect()
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Backend::Postgres => {
                let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
                let rows = client.simple_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.into_iter()
                    .filter_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(row) => Some(
                            (0..row.len())
                                .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    /// The one value of a query.
    pub fn scalar(&self, sql: &str) -> String {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "{sql} returned {rows:?}");
        rows[0][0].clone()
    }

    pub fn execute(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite:").unwrap();
                rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
            }
            Backend::Postgres => {
                let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
                client.batch_execute(sql).unwrap();
            }
        }
    }

    /// User tables (and views), sorted, without godwit's own.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
                 AND name NOT LIKE 'sqlite_%' AND name <> 'godwit_history' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' \
                 AND table_name <> 'godwit_history' ORDER BY table_name"
            }
        };
        self.rows(sql).into_iter().map(|mut r| r.remove(0)).collect()
    }

    pub fn has_history_table(&self) -> bool {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT count(*) FROM sqlite_schema WHERE name = 'godwit_history'",
            Backend::Postgres => {
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'godwit_history'"
            }
        };
        self.scalar(sql) != "0"
    }

    pub fn history(&self) -> Vec<HistoryRow> {
        if !self.has_history_table() {
            return Vec::new();
        }
        self.rows(
            "SELECT version, name, state, checksum FROM godwit_history ORDER BY version, name",
        )
        .into_iter()
        .map(|r| HistoryRow {
            version: r[0].parse().ok(),
            name: r[1].clone(),
            state: r[2].clone(),
            checksum: r[3].clone(),
        })
        .collect()
    }

    /// The column names of `table`, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.backend {
            Backend::Sqlite => {
                format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
            }
            Backend::Postgres => format!(
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            ),
        };
        self.rows(&sql).into_iter().map(|mut r| r.remove(0)).collect()
    }

    /// Everything a failed command must leave untouched: each table with its columns and
    /// rows, and the whole history.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        for table in self.tables() {
            let columns = match self.backend {
                Backend::Sqlite => self.rows(&format!("SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid")),
                Backend::Postgres => self.rows(&format!(
                    "SELECT column_name, data_type FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
                )),
            };
            let _ = writeln!(text, "{table} {columns:?}");
            let mut rows = self.rows(&format!("SELECT * FROM \"{table}\""));
            rows.sort();
            let _ = writeln!(text, "  {rows:?}");
        }
        if self.has_history_table() {
            let mut rows = self.rows("SELECT * FROM godwit_history");
            rows.sort();
            let _ = writeln!(text, "history {rows:?}");
        }
        text
    }

    /// The schema as the catalog describes it (tables and views with their columns, indexes,
    /// constraints, view definitions) and the rows of every table, without the history tables
    /// of godwit and the tools it reads: what two runs of the same migrations must agree on,
    /// compared as the database sees it rather than as text.
    pub fn schema(&self) -> String {
        let skip = |name: &str| HISTORY_TABLES.contains(&name) || name.starts_with("godwit_");
        let mut text = String::new();
        match self.backend {
            Backend::Sqlite => {
                let objects = self.rows(
                    "SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
                );
                for object in objects.iter().filter(|o| !skip(&o[2])) {
                    let (kind, name) = (&object[0], &object[1]);
                    let _ = writeln!(text, "{kind} {name} on {}", object[2]);
                    let details = match kind.as_str() {
                        "table" | "view" => vec![
                            format!(
                                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}') ORDER BY cid"
                            ),
                            format!(
                                "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}') ORDER BY id, seq"
                            ),
                        ],
                        "index" => vec![format!(
                            "SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"
                        )],
                        _ => vec![],
                    };
                    for sql in details {
                        let _ = writeln!(text, "  {:?}", self.rows(&sql));
                    }
                    if kind == "index" {
                        let unique = self.rows(&format!(
                            "SELECT \"unique\" FROM pragma_index_list('{}') WHERE name = '{name}'",
                            object[2]
                        ));
                        let _ = writeln!(text, "  unique {unique:?}");
                    }
                }
            }
            Backend::Postgres => {
                let queries = [
                    "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') \
                     FROM information_schema.columns WHERE table_schema = 'public' \
                     ORDER BY table_name, ordinal_position",
                    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' \
                     ORDER BY indexname",
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE connamespace = 'public'::regnamespace ORDER BY conname",
                    "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY viewname",
                ];
                for sql in queries {
                    for row in self
                        .rows(sql)
                        .iter()
                        .filter(|row| !skip(row[0].trim_start_matches("public.")))
                    {
                        let _ = writeln!(text, "{row:?}");
                    }
                }
            }
        }
        for table in self.tables().into_iter().filter(|t| !skip(t)) {
            let mut rows = self.rows(&format!("SELECT * FROM \"{table}\""));
            rows.sort();
            let _ = writeln!(text, "{table} rows {rows:?}");
        }
        text
    }
}

/// The history tables of godwit and of the tools whose folders it reads.
pub const HISTORY_TABLES: &[&str] = &[
    "godwit_history",
    "godwit_transforms",
    "_sqlx_migrations",
    "__diesel_schema_migrations",
    "schema_migrations",
    "goose_db_version",
    "goose_db_version_id_seq",
    "flyway_schema_history",
    "refinery_schema_history",
];
