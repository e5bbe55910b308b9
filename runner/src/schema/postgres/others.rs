//! PostgreSQL's objects beside tables: schemas, extensions, enum types and domains,
//! sequences, indexes, views, functions and procedures, triggers, policies, comments and
//! grants, each read with one query whose columns are all text.

use super::{NOT_EXTENSION, USER_SCHEMA, qualified};
use crate::driver::{DbError, Driver, Value};
use crate::schema::{Kind, Object, is_bookkeeping};

/// The rows of `sql`, every column as text (`NULL` as empty).
fn texts(db: &mut dyn Driver, sql: &str) -> Result<Vec<Vec<String>>, DbError> {
    let rows = db.own_query(sql, &[])?;
    let cell = |v: &Value| match v {
        Value::Text(t) => t.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        _ => String::new(),
    };
    Ok(rows.iter().map(|row| row.iter().map(cell).collect()).collect())
}

/// Not a member of an extension: `class` is the catalog of the object `oid` names.
fn not_extension(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass \
         AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

pub(super) fn schemas_and_extensions(
    db: &mut dyn Driver,
    objects: &mut Vec<Object>,
) -> Result<(), DbError> {
    let schemas = texts(
        db,
        &format!(
            "SELECT quote_ident(n.nspname) FROM pg_namespace n \
             WHERE n.nspname <> 'public' AND {USER_SCHEMA} AND {}",
            not_extension("pg_namespace", "n.oid")
        ),
    )?;
    for row in schemas {
        let create = format!("CREATE SCHEMA {}", row[0]);
        objects.push(Object::new(Kind::Schema, row[0].clone(), "schema".into(), create));
    }
    let extensions = texts(
        db,
        "SELECT quote_ident(x.extname), quote_ident(n.nspname) FROM pg_extension x \
         JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.extname <> 'plpgsql'",
    )?;
    for row in extensions {
        let definition = format!("in schema {}", row[1]);
        let create = format!("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}", row[0], row[1]);
        objects.push(Object::new(Kind::Extension, row[0].clone(), definition, create));
    }
    Ok(())
}

pub(super) fn types(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let owned = not_extension("pg_type", "t.oid");
    let enums = texts(
        db,
        &format!(
            "SELECT {name}, string_agg(quote_literal(v.enumlabel), ', ' ORDER BY v.enumsortorder) \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             JOIN pg_enum v ON v.enumtypid = t.oid WHERE {USER_SCHEMA} AND {owned} GROUP BY 1",
            name = qualified("n", "t.typname")
        ),
    )?;
    for row in enums {
        let definition = format!("ENUM ({})", row[1]);
        let create = format!("CREATE TYPE {} AS {definition}", row[0]);
        objects.push(Object::new(Kind::Type, row[0].clone(), definition, create));
    }
    let domains = texts(
        db,
        &format!(
            "SELECT {name}, format_type(t.typbasetype, t.typtypmod) \
               || CASE WHEN t.typdefault IS NOT NULL THEN ' DEFAULT ' || t.typdefault ELSE '' END \
               || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END \
               || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(k.conname) || ' ' \
                    || pg_get_constraintdef(k.oid), '' ORDER BY k.conname) \
                  FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), '') \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'd' AND {USER_SCHEMA} AND {owned}",
            name = qualified("n", "t.typname")
        ),
    )?;
    for row in domains {
        let create = format!("CREATE DOMAIN {} AS {}", row[0], row[1]);
        objects.push(Object::new(Kind::Domain, row[0].clone(), row[1].clone(), create));
    }
    Ok(())
}

pub(super) fn sequences(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT {name}, 'AS ' || format_type(s.seqtypid, NULL) || ' INCREMENT BY ' \
               || s.seqincrement || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax \
               || ' START WITH ' || s.seqstart || ' CACHE ' || s.seqcache \
               || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END, \
               coalesce((SELECT {table} || '.' || quote_ident(a.attname) FROM pg_depend d \
                 JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1), '') \
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_SCHEMA} AND {NOT_EXTENSION} AND NOT EXISTS (SELECT 1 FROM pg_depend i \
               WHERE i.classid = 'pg_class'::regclass AND i.objid = c.oid AND i.deptype = 'i')",
            name = qualified("n", "c.relname"),
            table = qualified("tn", "t.relname"),
        ),
    )?;
    for row in rows {
        let create = format!("CREATE SEQUENCE {} {}", row[0], row[1]);
        objects.push(Object::new(Kind::Sequence, row[0].clone(), row[1].clone(), create));
        if !row[2].is_empty() {
            let create = format!("ALTER SEQUENCE {} OWNED BY {}", row[0], row[2]);
            let definition = format!("owned by {}", row[2]);
            objects.push(Object::new(Kind::SequenceOwner, row[0].clone(), definition, create));
        }
    }
    Ok(())
}

/// Indexes that no constraint made (a constraint's index comes with it), and not the copies
/// a partitioned table's index makes on each partition.
pub(super) fn indexes(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT {name}, pg_get_indexdef(x.indexrelid), {table} \
             FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
             WHERE t.relkind IN ('r', 'p', 'm') AND {USER_SCHEMA} AND {NOT_EXTENSION} \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid \
                 AND k.contype IN ('p', 'u', 'x')) \
               AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = x.indexrelid)",
            name = qualified("n", "c.relname"),
            table = qualified("tn", "t.relname"),
        ),
    )?;
    for row in rows.into_iter().filter(|row| !is_bookkeeping(&row[2])) {
        objects.push(Object::new(Kind::Index, row[0].clone(), row[1].clone(), row[1].clone()));
    }
    Ok(())
}

/// Views in the order they were created, since one may select from another.
pub(super) fn views(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT {name}, c.relkind::text, pg_get_viewdef(c.oid, true) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMA} AND {NOT_EXTENSION} ORDER BY c.oid",
            name = qualified("n", "c.relname"),
        ),
    )?;
    for (position, row) in rows.into_iter().enumerate() {
        let body = row[2].trim().trim_end_matches(';').to_owned();
        let (kind, create) = match row[1].as_str() {
            "m" => {
                (Kind::MaterializedView, format!("CREATE MATERIALIZED VIEW {} AS\n{body}", row[0]))
            }
            _ => (Kind::View, format!("CREATE VIEW {} AS\n{body}", row[0])),
        };
        let mut object = Object::new(kind, row[0].clone(), body, create);
        object.position = position;
        objects.push(object);
    }
    Ok(())
}

pub(super) fn functions(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT {name} || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
               pg_get_functiondef(p.oid) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.prokind IN ('f', 'p') AND {USER_SCHEMA} AND {}",
            not_extension("pg_proc", "p.oid"),
            name = qualified("n", "p.proname"),
        ),
    )?;
    for row in rows {
        let definition = row[1].trim().to_owned();
        objects.push(Object::new(Kind::Function, row[0].clone(), definition.clone(), definition));
    }
    Ok(())
}

pub(super) fn triggers(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT quote_ident(g.tgname) || ' on ' || {table}, pg_get_triggerdef(g.oid, true), {table} \
             FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT g.tgisinternal AND g.tgparentid = 0 AND {USER_SCHEMA} AND {NOT_EXTENSION}",
            table = qualified("n", "c.relname"),
        ),
    )?;
    for row in rows.into_iter().filter(|row| !is_bookkeeping(&row[2])) {
        objects.push(Object::new(Kind::Trigger, row[0].clone(), row[1].clone(), row[1].clone()));
    }
    Ok(())
}

pub(super) fn policies(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        "SELECT quote_ident(p.policyname) || ' on ' || CASE WHEN p.schemaname = 'public' \
           THEN quote_ident(p.tablename) ELSE quote_ident(p.schemaname) || '.' || quote_ident(p.tablename) END, \
           'AS ' || p.permissive || ' FOR ' || p.cmd || ' TO ' || array_to_string(p.roles, ', ') \
           || coalesce(' USING (' || p.qual || ')', '') \
           || coalesce(' WITH CHECK (' || p.with_check || ')', '') \
         FROM pg_policies p",
    )?;
    for row in rows {
        let (policy, table) = row[0].split_once(" on ").unwrap_or((&row[0], ""));
        let create = format!("CREATE POLICY {policy} ON {table} {}", row[1]);
        objects.push(Object::new(Kind::Policy, row[0].clone(), row[1].clone(), create));
    }
    Ok(())
}

pub(super) fn comments(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT CASE WHEN d.objsubid = 0 THEN CASE c.relkind WHEN 'v' THEN 'VIEW ' \
                 WHEN 'm' THEN 'MATERIALIZED VIEW ' WHEN 'S' THEN 'SEQUENCE ' WHEN 'i' THEN 'INDEX ' \
                 ELSE 'TABLE ' END || {relation} \
               ELSE 'COLUMN ' || {relation} || '.' || quote_ident(a.attname) END, \
               quote_literal(d.description), {relation} \
             FROM pg_description d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid \
             WHERE {USER_SCHEMA} AND {NOT_EXTENSION} \
             UNION ALL \
             SELECT CASE WHEN p.prokind = 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || {function} \
               || '(' || pg_get_function_identity_arguments(p.oid) || ')', quote_literal(d.description), '' \
             FROM pg_description d JOIN pg_proc p ON d.classoid = 'pg_proc'::regclass AND d.objoid = p.oid \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_SCHEMA} \
             UNION ALL \
             SELECT 'TYPE ' || {kind}, quote_literal(d.description), '' \
             FROM pg_description d JOIN pg_type t ON d.classoid = 'pg_type'::regclass AND d.objoid = t.oid \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_SCHEMA} \
             UNION ALL \
             SELECT 'SCHEMA ' || quote_ident(n.nspname), quote_literal(d.description), '' \
             FROM pg_description d JOIN pg_namespace n ON d.classoid = 'pg_namespace'::regclass \
               AND d.objoid = n.oid WHERE {USER_SCHEMA} AND n.nspname <> 'public'",
            relation = qualified("n", "c.relname"),
            function = qualified("n", "p.proname"),
            kind = qualified("n", "t.typname"),
        ),
    )?;
    for row in rows.into_iter().filter(|row| !is_bookkeeping(&row[2])) {
        // `TABLE orders` names `on table orders`: the keywords are upper case, the name
        // (from quote_ident) is not.
        let keywords = row[0].chars().take_while(|c| c.is_ascii_uppercase() || *c == ' ');
        let keywords: String = keywords.collect();
        let name = format!("on {}{}", keywords.to_lowercase(), &row[0][keywords.len()..]);
        let create = format!("COMMENT ON {} IS {}", row[0], row[1]);
        objects.push(Object::new(Kind::Comment, name, row[1].clone(), create));
    }
    Ok(())
}

/// Privileges granted on tables, views and sequences to roles other than their owner.
pub(super) fn grants(db: &mut dyn Driver, objects: &mut Vec<Object>) -> Result<(), DbError> {
    let rows = texts(
        db,
        &format!(
            "SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || {name}, \
               coalesce(quote_ident(r.rolname), 'PUBLIC'), \
               string_agg(g.privilege_type, ', ' ORDER BY g.privilege_type), \
               bool_or(g.is_grantable)::text, {name} \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, \
               aclexplode(c.relacl) g LEFT JOIN pg_roles r ON r.oid = g.grantee \
             WHERE c.relacl IS NOT NULL AND g.grantee <> c.relowner \
               AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {USER_SCHEMA} AND {NOT_EXTENSION} \
             GROUP BY 1, 2, 5",
            name = qualified("n", "c.relname"),
        ),
    )?;
    for row in rows.into_iter().filter(|row| !is_bookkeeping(&row[4])) {
        let option = if row[3] == "true" { " WITH GRANT OPTION" } else { "" };
        let create = format!("GRANT {} ON {} TO {}{option}", row[2], row[0], row[1]);
        let name = format!("on {} to {}", row[0].to_lowercase(), row[1]);
        objects.push(Object::new(Kind::Grant, name, format!("{}{option}", row[2]), create));
    }
    Ok(())
}
