//! PostgreSQL's schema from `pg_catalog`, with the server's own functions for what has a
//! canonical text (`pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`,
//! `pg_get_triggerdef`, `pg_get_constraintdef`, `format_type`), so two databases built by the
//! same migrations on servers of the same major version print the same. Names are schema
//! qualified except in `public`. What extensions own is the extension's; what the model does
//! not read is named in `unsupported`.

mod others;
mod tables;
mod unsupported;

use crate::driver::{DbError, Driver, Value};
use crate::schema::Object;

/// The namespace `n` is one of the database's own (not the catalog's, TOAST's or a
/// session's temporary one).
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// The relation `c` is not part of an extension.
const NOT_EXTENSION: &str = "NOT EXISTS (SELECT 1 FROM pg_depend e \
     WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')";

pub(super) fn read(db: &mut dyn Driver) -> Result<(Vec<Object>, Vec<String>), DbError> {
    let mut objects = Vec::new();
    others::schemas_and_extensions(db, &mut objects)?;
    others::types(db, &mut objects)?;
    others::sequences(db, &mut objects)?;
    tables::read(db, &mut objects)?;
    others::indexes(db, &mut objects)?;
    others::views(db, &mut objects)?;
    others::functions(db, &mut objects)?;
    others::triggers(db, &mut objects)?;
    others::policies(db, &mut objects)?;
    others::comments(db, &mut objects)?;
    others::grants(db, &mut objects)?;
    let unsupported = unsupported::read(db)?;
    Ok((objects, unsupported))
}

/// SQL naming `relation` of namespace alias `namespace`: quoted, and qualified unless in
/// `public`.
fn qualified(namespace: &str, relation: &str) -> String {
    format!(
        "CASE WHEN {namespace}.nspname = 'public' THEN quote_ident({relation}) \
         ELSE quote_ident({namespace}.nspname) || '.' || quote_ident({relation}) END"
    )
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text.clone()),
        _ => None,
    }
}
