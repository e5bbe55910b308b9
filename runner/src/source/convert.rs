//! Writing a folder of another tool's format in godwit's own layout: each SQL migration
//! becomes one `<version>_<name>.sql` with its up and down sections and its
//! `no-transaction` directive, each repeatable an `R_<name>.sql`; components and migration
//! directories are copied as they are. What is written runs the same statements in the same
//! transactions as the migration it comes from.

use crate::checksum::Checksum;
use crate::migration::{DownFileError, Key, Migration, Script, Statement};
use std::fmt::Write;
use std::path::PathBuf;

/// One migration in godwit's layout.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Converted {
    pub key: Key,
    /// Where it was read from.
    pub from: PathBuf,
    /// Its path in the new folder.
    pub file: PathBuf,
    pub contents: Contents,
    /// Its checksum as it was read, and as it is written: what a history row of it follows.
    pub old: Checksum,
    pub new: Checksum,
}

/// What a converted migration is written as.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Contents {
    Text(String),
    /// A component or migration directory, copied as it is.
    Copy,
}

/// A name made of letters, digits and `_`, as godwit's file names have them.
fn file_name_part(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_alphanumeric() || c == '_' { c } else { '_' }).collect();
    let trimmed = cleaned.trim_matches('_');
    match trimmed.is_empty() {
        true => "migration".to_owned(),
        false => trimmed.to_owned(),
    }
}

fn section(text: &mut String, marker: &str, statements: &[Statement]) {
    let _ = writeln!(text, "-- godwit:{marker}");
    for statement in statements {
        let _ = writeln!(text, "{};", statement.sql);
    }
}

/// The migrations (of one folder) in godwit's layout. Down files are read here; one that
/// cannot be read stops the conversion, naming it. godwit has one transaction setting for
/// both directions: a migration whose up or down runs outside a transaction is written with
/// `-- godwit:no-transaction`.
pub fn to_godwit(migrations: &[Migration]) -> Result<Vec<Converted>, DownFileError> {
    migrations
        .iter()
        .map(|migration| -> Result<Converted, DownFileError> {
            let stem = match &migration.key {
                Key::Versioned(version) => format!("{version}_{}", file_name_part(&migration.name)),
                Key::Repeatable(name) => format!("R_{}", file_name_part(name)),
            };
            match &migration.script {
                Script::Sql(script) => {
                    let mut text = format!(
                        "-- {} (converted from {})\n",
                        migration.label,
                        migration
                            .path
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                    );
                    let down = script.down_statements()?;
                    if !script.in_transaction(false) || !script.in_transaction(true) {
                        text.push_str("-- godwit:no-transaction\n");
                    }
                    if !script.requires.is_empty() {
                        let _ = writeln!(text, "-- godwit:requires {}", script.requires.join(", "));
                    }
                    section(&mut text, "up", &script.up);
                    if let Some(down) = down {
                        text.push('\n');
                        section(&mut text, "down", down);
                    }
                    Ok(Converted {
                        key: migration.key.clone(),
                        from: migration.path.clone(),
                        file: PathBuf::from(format!("{stem}.sql")),
                        new: Checksum::of_text(&text),
                        contents: Contents::Text(text),
                        old: migration.checksum.clone(),
                    })
                }
                Script::Wasm(_) => Ok(Converted {
                    key: migration.key.clone(),
                    from: migration.path.clone(),
                    file: PathBuf::from(migration.path.file_name().unwrap_or_default()),
                    contents: Contents::Copy,
                    old: migration.checksum.clone(),
                    new: migration.checksum.clone(),
                }),
            }
        })
        .collect()
}
