//! PostgreSQL's tables as the model holds them: the table (its `CREATE TABLE` with columns
//! and the constraints that can be written inline), each column, each constraint, each
//! foreign key (added after every table exists), and row-level security.

use super::{NOT_EXTENSION, USER_SCHEMA, int, qualified, text};
use crate::driver::{DbError, Driver, Value};
use crate::schema::{Kind, Object, is_bookkeeping};
use std::collections::BTreeMap;

struct Table {
    name: String,
    /// `CREATE UNLOGGED TABLE`, `PARTITION BY ...`, `PARTITION OF ...`.
    unlogged: bool,
    partition_key: String,
    partition_of: Option<(String, String)>,
    columns: Vec<String>,
    inline: Vec<String>,
}

pub(super) fn read(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let filter = format!("c.relkind IN ('r', 'p') AND {USER_SCHEMA} AND {}", NOT_EXTENSION);
    let rows = db.own_query(
        &format!(
            "SELECT c.oid::bigint, {name}, c.relpersistence::text, \
               coalesce(pg_get_partkeydef(c.oid), ''), c.relispartition, \
               coalesce((SELECT {parent} FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent \
                 JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid LIMIT 1), ''), \
               coalesce(pg_get_expr(c.relpartbound, c.oid), ''), c.relrowsecurity, c.relforcerowsecurity \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {filter}",
            name = qualified("n", "c.relname"),
            parent = qualified("pn", "p.relname"),
        ),
        &[],
    )?;
    let mut tables = BTreeMap::new();
    for row in rows.iter() {
        let (Some(oid), Some(name)) = (int(&row[0]), text(&row[1])) else { continue };
        if is_bookkeeping(&name) {
            continue;
        }
        let partition_of = (row[4] == Value::Boolean(true))
            .then(|| (text(&row[5]).unwrap_or_default(), text(&row[6]).unwrap_or_default()));
        if row[7] == Value::Boolean(true) {
            let force = row[8] == Value::Boolean(true);
            let mut create = format!("ALTER TABLE {name} ENABLE ROW LEVEL SECURITY");
            if force {
                create.push_str(&format!(";\nALTER TABLE {name} FORCE ROW LEVEL SECURITY"));
            }
            let definition = if force { "enabled, forced" } else { "enabled" };
            objects.push(Object::new(Kind::RowSecurity, name.clone(), definition.into(), create));
        }
        tables.insert(
            oid,
            Table {
                name,
                unlogged: text(&row[2]).as_deref() == Some("u"),
                partition_key: text(&row[3]).unwrap_or_default(),
                partition_of,
                columns: Vec::new(),
                inline: Vec::new(),
            },
        );
    }
    columns(db, &filter, &mut tables, objects)?;
    constraints(db, &filter, &mut tables, objects)?;
    for table in tables.into_values() {
        let create = create_table(&table);
        let definition = match &table.partition_of {
            Some((parent, bound)) => format!("partition of {parent} {bound}"),
            None if !table.partition_key.is_empty() => {
                format!("partitioned by {}", table.partition_key)
            }
            None if table.unlogged => "unlogged table".to_owned(),
            None => "table".to_owned(),
        };
        objects.push(Object::new(Kind::Table, table.name, definition, create));
    }
    Ok(())
}

fn create_table(table: &Table) -> String {
    let unlogged = if table.unlogged { "UNLOGGED " } else { "" };
    if let Some((parent, bound)) = &table.partition_of {
        return format!("CREATE {unlogged}TABLE {} PARTITION OF {parent} {bound}", table.name);
    }
    let body: Vec<&String> = table.columns.iter().chain(&table.inline).collect();
    let body: Vec<String> = body.iter().map(|line| format!("    {line}")).collect();
    let mut create = format!("CREATE {unlogged}TABLE {} (\n{}\n)", table.name, body.join(",\n"));
    if !table.partition_key.is_empty() {
        create.push_str(&format!(" PARTITION BY {}", table.partition_key));
    }
    create
}

fn columns(
    db: &mut dyn Driver,
    filter: &str,
    tables: &mut BTreeMap<i64, Table>,
    objects: &mut Vec<Object>,
) -> Result<(), DbError> {
    let rows = db.own_query(
        &format!(
            "SELECT a.attrelid::bigint, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), \
               a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, \
               a.attgenerated::text, \
               coalesce(CASE WHEN a.attcollation <> t.typcollation THEN quote_ident(co.collname) END, '') \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND {filter} \
             ORDER BY a.attrelid, a.attnum"
        ),
        &[],
    )?;
    for row in rows.iter() {
        let (Some(oid), Some(column)) = (int(&row[0]), text(&row[1])) else { continue };
        let Some(table) = tables.get_mut(&oid) else { continue };
        let mut definition = text(&row[2]).unwrap_or_default();
        if let Some(collation) = text(&row[7]).filter(|c| !c.is_empty()) {
            definition.push_str(&format!(" COLLATE {collation}"));
        }
        let default = text(&row[4]).unwrap_or_default();
        match (text(&row[5]).as_deref(), text(&row[6]).as_deref()) {
            (_, Some("s")) => {
                definition.push_str(&format!(" GENERATED ALWAYS AS ({default}) STORED"))
            }
            (_, Some("v")) => {
                definition.push_str(&format!(" GENERATED ALWAYS AS ({default}) VIRTUAL"))
            }
            (Some("a"), _) => definition.push_str(" GENERATED ALWAYS AS IDENTITY"),
            (Some("d"), _) => definition.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
            _ if !default.is_empty() => definition.push_str(&format!(" DEFAULT {default}")),
            _ => {}
        }
        if row[3] == Value::Boolean(true) {
            definition.push_str(" NOT NULL");
        }
        if table.partition_of.is_none() {
            table.columns.push(format!("{column} {definition}"));
        }
        let name = format!("{}.{column}", table.name);
        objects.push(Object::new(Kind::Column, name, definition, String::new()));
    }
    Ok(())
}

/// Primary keys, unique, check and exclusion constraints go in `CREATE TABLE` (a `NOT VALID`
/// one after it, as it was added); foreign keys after every table.
fn constraints(
    db: &mut dyn Driver,
    filter: &str,
    tables: &mut BTreeMap<i64, Table>,
    objects: &mut Vec<Object>,
) -> Result<(), DbError> {
    let rows = db.own_query(
        &format!(
            "SELECT k.conrelid::bigint, quote_ident(k.conname), k.contype::text, \
               pg_get_constraintdef(k.oid), k.convalidated \
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE k.contype IN ('p', 'u', 'c', 'x', 'f') AND k.conislocal AND {filter}"
        ),
        &[],
    )?;
    for row in rows.iter() {
        let (Some(oid), Some(constraint), Some(kind), Some(definition)) =
            (int(&row[0]), text(&row[1]), text(&row[2]), text(&row[3]))
        else {
            continue;
        };
        let Some(table) = tables.get_mut(&oid) else { continue };
        let name = format!("{}.{constraint}", table.name);
        let added = format!("ALTER TABLE {} ADD CONSTRAINT {constraint} {definition}", table.name);
        let validated = row[4] == Value::Boolean(true);
        let object = match kind.as_str() {
            "f" => Object::new(Kind::ForeignKey, name, definition, added),
            _ if !validated || table.partition_of.is_some() => {
                Object::new(Kind::Constraint, name, definition, added)
            }
            _ => {
                table.inline.push(format!("CONSTRAINT {constraint} {definition}"));
                Object::new(Kind::Constraint, name, definition, String::new())
            }
        };
        objects.push(object);
    }
    Ok(())
}
