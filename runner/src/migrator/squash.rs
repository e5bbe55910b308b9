//! `godwit squash --to V`: the project's migrations up to V replaced by one baseline file,
//! the schema they build (dumped from a scratch database where they ran) with the label and
//! checksum of each migration it replaces. A database that applied them is validated against
//! those checksums and untouched; a new one runs the baseline, then what comes after.

use super::Migrator;
use super::drift::read;
use super::scratch::Scratch;
use crate::driver::connection::connect;
use crate::driver::{ConnectOptions, Dialect};
use crate::error::Error;
use crate::migration::{Migration, Squashed};
use crate::plan::Target;
use crate::report::NoReport;
use crate::schema::SchemaError;
use crate::source::Format;
use crate::stream::Stream;
use crate::version::Version;
use std::path::PathBuf;

/// What a squash wrote and removed.
#[derive(Clone, Debug)]
pub struct Squash {
    /// The baseline file written.
    pub path: PathBuf,
    /// The files of the migrations it replaces, removed.
    pub removed: Vec<PathBuf>,
    pub replaced: Vec<Squashed>,
}

impl Migrator {
    /// Replaces the project's migrations up to `to` by a baseline built on a scratch database
    /// (beside the database at `url`, or the empty `dev` one). The files are written and
    /// removed only once the baseline is built; a database is not changed.
    pub fn squash(
        &self,
        url: &str,
        options: &ConnectOptions,
        dev: Option<&str>,
        to: Version,
    ) -> Result<Squash, Error> {
        let refuse = |reason: String| Error::from(SchemaError::Squash { reason });
        if self.format != Format::Godwit {
            let reason =
                "a squash writes godwit's own files: convert the folder first (`godwit convert`)";
            return Err(refuse(reason.to_owned()));
        }
        let replaced: Vec<&Migration> = self
            .migrations
            .iter()
            .filter(|m| m.stream == Stream::Project && m.version().is_some_and(|v| v <= to))
            .collect();
        let Some(last) = replaced.last() else {
            return Err(refuse(format!("no migration has a version up to {to}")));
        };
        if replaced.len() < 2 && last.squashes().is_empty() {
            return Err(refuse(format!("only {} is up to {to}: nothing to squash", last.label)));
        }
        let mut conn = match dev {
            Some(_) => None,
            None if crate::driver::dialect_of(url) == Some(Dialect::Sqlite) => None,
            None => Some(connect(url, options)?),
        };
        let scratch = match (conn.as_mut(), dev) {
            (Some(conn), _) => Scratch::new(conn, url, None, options)?,
            (None, Some(dev)) => {
                let mut conn = connect(dev, options)?;
                Scratch::new(&mut conn, dev, Some(dev), options)?
            }
            (None, None) => Scratch::sqlite()?,
        };
        let built = connect(&scratch.url, options).map_err(Error::from).and_then(|mut db| {
            let target = Target::Up { to: last.version(), allow_out_of_order: true };
            let request = super::Request { target, lint: false, ..super::Request::up() };
            self.run(&mut db, &request, &mut NoReport)?;
            read(&mut db)
        });
        if let Some(conn) = conn.as_mut() {
            scratch.discard(conn)?;
        }
        let schema = built?;
        if schema.objects.is_empty() {
            return Err(refuse("they build no schema: a baseline would hold nothing".to_owned()));
        }
        if !schema.unsupported.is_empty() {
            return Err(refuse(format!(
                "they make {}, of kinds godwit's schema model does not read: a baseline would lose them",
                schema.unsupported.join(", ")
            )));
        }
        let mut squashed = Vec::new();
        for m in &replaced {
            squashed.extend(m.squashes().iter().cloned());
            if let Some(version) = m.version() {
                let (label, checksum) = (m.label.clone(), m.checksum.clone());
                squashed.push(Squashed { version, label, checksum });
            }
        }
        let prefix = last.label.split('_').next().unwrap_or_default();
        let dir = last.path.parent().map(PathBuf::from).unwrap_or_default();
        let path = dir.join(format!("{prefix}_baseline.sql"));
        let text = baseline(&schema, &squashed, &replaced, to);
        let write = |e: std::io::Error| refuse(format!("cannot write {}: {e}", path.display()));
        std::fs::write(&path, text).map_err(write)?;
        let mut removed = Vec::new();
        for m in &replaced {
            if m.path == path {
                continue;
            }
            let gone = match m.path.is_dir() {
                true => std::fs::remove_dir_all(&m.path),
                false => std::fs::remove_file(&m.path),
            };
            gone.map_err(|e| refuse(format!("cannot remove {}: {e}", m.path.display())))?;
            removed.push(m.path.clone());
        }
        Ok(Squash { path, removed, replaced: squashed })
    }
}

/// The baseline's text: what it is, the migrations it replaces, and the schema as its up.
fn baseline(
    schema: &crate::schema::Schema,
    squashed: &[Squashed],
    replaced: &[&Migration],
    to: Version,
) -> String {
    let first = replaced.first().map_or("", |m| m.label.as_str());
    let last = replaced.last().map_or("", |m| m.label.as_str());
    let mut text = format!(
        "-- The schema {first} to {last} built, squashed by `godwit squash --to {to}`. A database\n\
         -- that applied them is validated against their checksums below and left as it is; a\n\
         -- new one runs this file. Rows those migrations inserted are not in it.\n"
    );
    for replaced in squashed {
        text.push_str(&format!("-- godwit:squashes {} {}\n", replaced.label, replaced.checksum));
    }
    text.push_str("-- godwit:up\n");
    let dump = schema.dump();
    let body = dump
        .lines()
        .filter(|line| !line.starts_with("-- The schema, as"))
        .map(|line| match line {
            "SET check_function_bodies = false;" => "SET LOCAL check_function_bodies = false;",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push_str(body.trim_start());
    text.push('\n');
    text
}
