//! SQLite's schema: `sqlite_schema` keeps each table, index, view and trigger as the text of
//! the statement that made it (rewritten by `ALTER TABLE`), and `pragma_table_xinfo` each
//! column as SQLite understood it. The same migrations leave the same text.

use super::{Kind, Object, is_bookkeeping};
use crate::driver::{DbError, Driver, Value};

pub(super) fn read(db: &mut dyn Driver) -> Result<(Vec<Object>, Vec<String>), DbError> {
    let rows = db.own_query(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema \
         WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY type, name",
        &[],
    )?;
    let mut objects = Vec::new();
    let mut unsupported = Vec::new();
    let mut tables = Vec::new();
    for row in rows.iter() {
        let [Value::Text(kind), Value::Text(name), Value::Text(table), Value::Text(sql)] = row
        else {
            continue;
        };
        if is_bookkeeping(table) {
            continue;
        }
        let kind = match kind.as_str() {
            "table" if sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE") => {
                unsupported.push(format!("virtual table {name}"));
                continue;
            }
            "table" => {
                tables.push(name.clone());
                Kind::Table
            }
            "index" => Kind::Index,
            "view" => Kind::View,
            "trigger" => Kind::Trigger,
            other => {
                unsupported.push(format!("{other} {name}"));
                continue;
            }
        };
        let definition = normalised(sql);
        objects.push(Object::new(kind, name.clone(), definition, sql.clone()));
    }
    for table in tables {
        objects.extend(columns(db, &table)?);
    }
    Ok((objects, unsupported))
}

/// A table's columns as SQLite reads them: type, `NOT NULL`, default, key.
fn columns(db: &mut dyn Driver, table: &str) -> Result<Vec<Object>, DbError> {
    let rows = db.own_query(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
        &[Value::Text(table.to_owned())],
    )?;
    let mut columns = Vec::new();
    for row in rows.iter() {
        let Value::Text(name) = &row[0] else { continue };
        let mut definition = match &row[1] {
            Value::Text(kind) if !kind.is_empty() => kind.clone(),
            _ => "(no type)".to_owned(),
        };
        if row[2] == Value::Integer(1) {
            definition.push_str(" NOT NULL");
        }
        if let Value::Text(default) = &row[3] {
            definition.push_str(&format!(" DEFAULT {default}"));
        }
        if let Value::Integer(key) = row[4]
            && key > 0
        {
            definition.push_str(" PRIMARY KEY");
        }
        if let Value::Integer(hidden) = row[5]
            && hidden > 1
        {
            definition.push_str(" GENERATED");
        }
        let name = format!("{table}.{name}");
        columns.push(Object::new(Kind::Column, name, definition, String::new()));
    }
    Ok(columns)
}

/// The statement's text with runs of whitespace made one space.
fn normalised(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
