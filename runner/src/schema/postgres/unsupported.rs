//! The objects of kinds the model does not read, by name, so that a dump or a drift check
//! says what it could not see instead of passing over it: aggregates, operators, rules,
//! collations, composite, range and base types, foreign tables, extended statistics, text
//! search configurations, event triggers and publications.

use super::USER_SCHEMA;
use crate::driver::{DbError, Driver, Value};

pub(super) fn read(db: &mut dyn Driver) -> Result<Vec<String>, DbError> {
    let owned = |class: &str, oid: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass \
             AND e.objid = {oid} AND e.deptype = 'e')"
        )
    };
    let sql = format!(
        "SELECT CASE p.prokind WHEN 'a' THEN 'aggregate ' ELSE 'window function ' END \
           || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prokind IN ('a', 'w') AND {USER_SCHEMA} AND {proc} \
         UNION ALL SELECT 'operator ' || n.nspname || '.' || o.oprname FROM pg_operator o \
           JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE {USER_SCHEMA} AND {operator} \
         UNION ALL SELECT 'rule ' || r.rulename || ' on ' || n.nspname || '.' || c.relname \
           FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE r.rulename <> '_RETURN' AND {USER_SCHEMA} \
         UNION ALL SELECT 'collation ' || n.nspname || '.' || k.collname FROM pg_collation k \
           JOIN pg_namespace n ON n.oid = k.collnamespace WHERE {USER_SCHEMA} AND {collation} \
         UNION ALL SELECT CASE t.typtype WHEN 'c' THEN 'composite type ' WHEN 'r' THEN 'range type ' \
             ELSE 'base type ' END || n.nspname || '.' || t.typname \
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
           WHERE {USER_SCHEMA} AND {kind} AND t.typcategory <> 'A' AND (t.typtype IN ('b', 'r') \
             OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid \
               AND c.relkind = 'c'))) \
         UNION ALL SELECT 'foreign table ' || n.nspname || '.' || c.relname FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind = 'f' AND {USER_SCHEMA} AND {relation} \
         UNION ALL SELECT 'statistics object ' || n.nspname || '.' || s.stxname \
           FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE {USER_SCHEMA} \
         UNION ALL SELECT 'text search configuration ' || n.nspname || '.' || f.cfgname \
           FROM pg_ts_config f JOIN pg_namespace n ON n.oid = f.cfgnamespace \
           WHERE {USER_SCHEMA} AND {config} \
         UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger \
         UNION ALL SELECT 'publication ' || pubname FROM pg_publication",
        proc = owned("pg_proc", "p.oid"),
        operator = owned("pg_operator", "o.oid"),
        collation = owned("pg_collation", "k.oid"),
        kind = owned("pg_type", "t.oid"),
        relation = owned("pg_class", "c.oid"),
        config = owned("pg_ts_config", "f.oid"),
    );
    let rows = db.own_query(&sql, &[])?;
    Ok(rows
        .iter()
        .filter_map(|row| match &row[0] {
            Value::Text(name) => Some(name.clone()),
            _ => None,
        })
        .collect())
}
