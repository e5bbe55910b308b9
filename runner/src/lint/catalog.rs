//! Where a statement's locks land in the connected PostgreSQL database: each relation's size
//! from the catalog, and for an index the table it belongs to, which the index's lock
//! takes with it (`DROP INDEX` locks its table as it locks the index).

use super::takes::{Lock, RelationSize};
use crate::driver::{Driver, Value};

/// `locks` with the sizes the catalog gives, and the table of each index the statement
/// locks in the index's mode. A relation the database does not have yet (one an earlier
/// migration of the plan creates) keeps no size. Reading the catalog is best effort: what
/// cannot be read is left as the statement says.
pub(crate) fn in_database(db: &mut dyn Driver, mut locks: Vec<Lock>) -> Vec<Lock> {
    if locks.is_empty() {
        return locks;
    }
    let names: Vec<String> = locks.iter().map(|l| regclass_text(&l.relation)).collect();
    let query = "SELECT n.i::bigint, \
                   CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE s.n_live_tup END, \
                   pg_total_relation_size(c.oid)::bigint, \
                   coalesce(x.indrelid::regclass::text, ''), \
                   CASE WHEN t.reltuples >= 0 THEN t.reltuples::bigint ELSE ts.n_live_tup END, \
                   coalesce(pg_total_relation_size(t.oid), 0)::bigint \
                 FROM unnest(string_to_array($1, chr(31))) WITH ORDINALITY AS n(name, i) \
                 JOIN pg_class c ON c.oid = to_regclass(n.name) \
                 LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
                 LEFT JOIN pg_index x ON x.indexrelid = c.oid \
                 LEFT JOIN pg_class t ON t.oid = x.indrelid \
                 LEFT JOIN pg_stat_all_tables ts ON ts.relid = t.oid \
                 ORDER BY n.i";
    let Ok(rows) = db.own_query(query, &[Value::Text(names.join("\u{1f}"))]) else {
        return locks;
    };
    let number = |v: &Value| match v {
        Value::Integer(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    let mut tables = Vec::new();
    for row in rows.iter() {
        let Some(at) = number(&row[0]).and_then(|i| usize::try_from(i).ok()?.checked_sub(1)) else {
            continue;
        };
        let Some(lock) = locks.get_mut(at) else { continue };
        lock.size =
            Some(RelationSize { rows: number(&row[1]), bytes: number(&row[2]).unwrap_or(0) });
        if let Value::Text(table) = &row[3]
            && !table.is_empty()
        {
            let size = RelationSize { rows: number(&row[4]), bytes: number(&row[5]).unwrap_or(0) };
            tables.push(Lock {
                mode: lock.mode,
                relation: table.trim_matches('"').to_owned(),
                rewrites: false,
                size: Some(size),
            });
        }
    }
    for table in tables {
        match locks.iter_mut().find(|l| l.relation == table.relation) {
            Some(lock) => lock.mode = lock.mode.max(table.mode),
            None => locks.push(table),
        }
    }
    locks
}

/// A folded name (`shop.orders`, `Mixed`) as `to_regclass` reads it: each part quoted.
pub(crate) fn regclass_text(name: &str) -> String {
    let parts = name.split('.').map(|p| format!("\"{}\"", p.replace('"', "\"\"")));
    parts.collect::<Vec<_>>().join(".")
}
