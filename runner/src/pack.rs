//! Packs: migrations written by someone else (a vendor's extension schema, a plugin's tables),
//! run without trusting them. A pack is a directory with a `godwit-pack.toml` manifest and its
//! migrations; its migrations are a stream of their own in the history (`billing:0001_x`), and
//! its manifest declares a grant that the database enforces while the pack's steps run.

use crate::checksum::Checksum;
use crate::driver::{Access, Grant, TableName};
use crate::migration::Migration;
use crate::stream::Stream;
use crate::version::Version;
use std::path::{Path, PathBuf};

/// Why a pack cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// Its manifest is missing or says something godwit cannot accept.
    #[error("invalid pack {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    /// Its directory holds no migration; `nested` is a subdirectory that does.
    #[error("pack `{pack}` ({}) has no migrations", dir.display())]
    Empty { pack: String, dir: PathBuf, nested: Option<PathBuf> },
}

/// The manifest's file name, in the pack's directory.
pub const MANIFEST: &str = "godwit-pack.toml";

/// A pack as the project uses it.
#[derive(Clone, Debug)]
pub struct Pack {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub dir: PathBuf,
    pub grant: Grant,
    /// The project migration the pack's migrations wait for (see [`crate::plan::PackOrder`]).
    pub after: Option<Version>,
    /// The SHA-256 of the manifest, as `godwit.lock` pins it with the pack's migrations.
    pub manifest_checksum: Checksum,
}

impl Pack {
    /// What the driver confines the pack's steps to.
    pub fn confine(&self) -> crate::driver::Confine<'_> {
        crate::driver::Confine { pack: &self.name, grant: &self.grant }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    version: String,
    description: Option<String>,
    #[serde(default)]
    grants: GrantsFile,
}

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantsFile {
    access: Option<Access>,
    schema: Option<String>,
    prefix: Option<String>,
    #[serde(default)]
    read: Vec<String>,
}

impl Pack {
    /// Reads the manifest of the pack in `dir`.
    pub fn load(dir: &Path, after: Option<Version>) -> Result<Pack, PackError> {
        let path = dir.join(MANIFEST);
        let invalid = |reason: String| PackError::Invalid { path: path.clone(), reason };
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => invalid(format!("{} has no {MANIFEST}", dir.display())),
            _ => invalid(e.to_string()),
        })?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
        let name = manifest.name;
        check_name("name", &name).map_err(invalid)?;
        if name.starts_with("godwit") {
            return Err(invalid(format!(
                "the name `{name}` is reserved: names starting with `godwit` are godwit's own"
            )));
        }
        let grants = manifest.grants;
        let schema = grants.schema.unwrap_or_else(|| name.clone());
        check_name("grants.schema", &schema).map_err(invalid)?;
        if ["public", "pg_catalog", "information_schema"].contains(&schema.as_str())
            || schema.starts_with("pg_")
            || schema.starts_with("godwit")
        {
            return Err(invalid(format!(
                "grants.schema `{schema}` is not a schema a pack can own; give the pack a schema of its own"
            )));
        }
        let prefix = grants.prefix.unwrap_or_else(|| format!("{name}_"));
        check_name("grants.prefix", &prefix).map_err(invalid)?;
        if "godwit_history".starts_with(&prefix)
            || prefix.starts_with("godwit")
            || prefix.starts_with("sqlite")
        {
            return Err(invalid(format!(
                "grants.prefix `{prefix}` would cover godwit's or SQLite's own tables; use the pack's name and `_`"
            )));
        }
        let read = grants
            .read
            .iter()
            .map(|table| {
                parse_table(table).map_err(|reason| invalid(format!("grants.read: {reason}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pack {
            name,
            version: manifest.version,
            description: manifest.description,
            dir: dir.to_owned(),
            grant: Grant { access: grants.access.unwrap_or(Access::Ddl), schema, prefix, read },
            after,
            manifest_checksum: Checksum::of_text(&text),
        })
    }

    /// One SHA-256 over the manifest and every migration of the pack (label and checksum, in
    /// order): what `godwit.lock` pins, so a changed grant or an added, removed or edited
    /// migration all change it.
    pub fn checksum(&self, migrations: &[Migration]) -> Checksum {
        let mut text = format!("{MANIFEST} {}\n", self.manifest_checksum);
        let stream = self.stream();
        for m in migrations.iter().filter(|m| m.stream == stream) {
            text.push_str(&format!("{} {}\n", m.label, m.checksum));
        }
        Checksum::of_text(&text)
    }
}

impl Pack {
    /// The pack's stream in the history.
    pub fn stream(&self) -> Stream {
        Stream::pack(self.name.as_str())
    }

    /// The error for a pack whose directory holds no migration, naming a subdirectory that
    /// does (migrations put in `migrations/` inside the pack, say).
    pub(crate) fn empty(&self) -> PackError {
        let holds_migrations = |dir: &Path| {
            std::fs::read_dir(dir).is_ok_and(|entries| {
                entries.flatten().any(|entry| {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    matches!(
                        crate::source::name::classify(&name, entry.path().is_dir()),
                        crate::source::name::FileName::Versioned { .. }
                            | crate::source::name::FileName::Repeatable { .. }
                    )
                })
            })
        };
        let nested = std::fs::read_dir(&self.dir).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.is_dir() && holds_migrations(path))
                .min()
        });
        PackError::Empty { pack: self.name.clone(), dir: self.dir.clone(), nested }
    }
}

/// Pack names, schemas and prefixes become SQL identifiers and role names: lowercase ASCII
/// letters, digits and `_`, starting with a letter, at most 40 characters.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let valid = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    match valid {
        true => Ok(()),
        false => Err(format!(
            "{what} `{name}` must be lowercase letters, digits and `_`, start with a letter and have at most 40 characters"
        )),
    }
}

fn parse_table(text: &str) -> Result<TableName, String> {
    let part = |part: &str| -> Result<String, String> {
        let valid = !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !part.starts_with(|c: char| c.is_ascii_digit());
        match valid {
            true => Ok(part.to_owned()),
            false => Err(format!("`{text}` is not a table name (`table` or `schema.table`)")),
        }
    };
    match text.split_once('.') {
        Some((schema, name)) => Ok(TableName { schema: Some(part(schema)?), name: part(name)? }),
        None => Ok(TableName { schema: None, name: part(text)? }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(manifest: &str) -> Result<Pack, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), manifest).unwrap();
        Pack::load(dir.path(), None).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_come_from_the_name() {
        let pack = load("name = \"billing\"\nversion = \"1.2.0\"\n").unwrap();
        assert_eq!(pack.grant.access, Access::Ddl);
        assert_eq!(pack.grant.schema, "billing");
        assert_eq!(pack.grant.prefix, "billing_");
        assert!(pack.grant.read.is_empty());
    }

    #[test]
    fn grants_are_read_and_checked() {
        let pack = load(
            "name = \"audit\"\nversion = \"2\"\n[grants]\naccess = \"dml\"\nread = [\"users\", \"public.orders\"]\n",
        )
        .unwrap();
        assert_eq!(pack.grant.access, Access::Dml);
        assert_eq!(pack.grant.read[1].to_string(), "public.orders");
        for (manifest, expected) in [
            ("name = \"Billing\"\nversion = \"1\"", "must be lowercase"),
            ("name = \"godwit_x\"\nversion = \"1\"", "reserved"),
            (
                "name = \"b\"\nversion = \"1\"\n[grants]\nschema = \"public\"",
                "not a schema a pack can own",
            ),
            (
                "name = \"b\"\nversion = \"1\"\n[grants]\nprefix = \"godwit_\"",
                "would cover godwit's",
            ),
            ("name = \"b\"\nversion = \"1\"\n[grants]\nprefix = \"g\"", "would cover godwit's"),
            ("name = \"b\"\nversion = \"1\"\n[grants]\nread = [\"a;b\"]", "not a table name"),
            ("name = \"b\"\nversion = \"1\"\n[grants]\naccess = \"all\"", "unknown variant"),
            ("name = \"b\"", "missing field `version`"),
            ("name = \"b\"\nversion = \"1\"\nextra = 1", "unknown field"),
        ] {
            let error = load(manifest).unwrap_err();
            assert!(error.contains(expected), "{manifest}: {error}");
        }
    }
}
