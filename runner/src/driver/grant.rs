//! What a pack may touch, as the driver enforces it while the pack's steps run: the pack's
//! manifest declares it (`pack`), the driver confines the connection to it (a role of the
//! pack's own on PostgreSQL, an authorizer on SQLite).

/// What a pack may do to the objects it owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Access {
    /// Create, alter and drop its own tables, indexes, views and triggers, and write them.
    Ddl,
    /// Read and write rows of its own tables; no schema changes.
    Dml,
    /// Read its own tables only.
    Read,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Ddl => "ddl",
            Access::Dml => "dml",
            Access::Read => "read",
        }
    }
}

/// A table outside the pack that its grant lets it read: `users` or `schema.users`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// What a pack may touch. On PostgreSQL it owns a schema; on SQLite, which has no schemas,
/// the tables whose names start with its prefix.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    pub access: Access,
    /// The PostgreSQL schema the pack owns (default: the pack's name).
    pub schema: String,
    /// The SQLite table-name prefix the pack owns (default: the pack's name and `_`).
    pub prefix: String,
    /// Tables outside its own that it may read.
    pub read: Vec<TableName>,
}

impl Grant {
    /// One line for people: `ddl on schema billing (PostgreSQL) or tables billing_* (SQLite);
    /// reads users`.
    pub fn summary(&self) -> String {
        let reads = match self.read.is_empty() {
            true => "reads nothing else".to_owned(),
            false => {
                let tables: Vec<String> = self.read.iter().map(ToString::to_string).collect();
                format!("reads {}", tables.join(", "))
            }
        };
        format!(
            "{} on schema {} (PostgreSQL) or tables {}* (SQLite); {reads}",
            self.access.as_str(),
            self.schema,
            self.prefix
        )
    }
}

/// A pack's grant and the pack's name, as a driver confines a connection to them.
#[derive(Clone, Copy, Debug)]
pub struct Confine<'a> {
    pub pack: &'a str,
    pub grant: &'a Grant,
}
