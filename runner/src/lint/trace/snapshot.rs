//! What a PostgreSQL session sees of its own locks and of the relations they are on: the
//! relations that exist (with their files, so a rewrite shows as a new file, and the table
//! each index, TOAST table or owned sequence belongs to) and the relation locks it holds.

use crate::driver::{DbError, Driver, Value};
use crate::lint::takes::{Lock, LockMode};
use std::collections::{BTreeSet, HashMap};

/// A relation of the database (not of the system catalog).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Relation {
    /// As `regclass` prints it: schema-qualified when not on the search path.
    pub name: String,
    pub filenode: i64,
    /// `r` table, `i` index, `t` TOAST table, `S` sequence, `m` materialized view...
    pub kind: char,
    /// The relation it belongs to (an index's table, a TOAST table's), if any.
    pub owner: Option<i64>,
}

/// Every user relation, by oid.
#[derive(Clone, Debug, Default)]
pub(super) struct Relations(pub HashMap<i64, Relation>);

/// The relation locks a session holds: (oid, mode).
pub(super) type Held = BTreeSet<(i64, LockMode)>;

/// The first oid PostgreSQL gives to what is not its own catalog.
const FIRST_USER_OID: i64 = 16384;

impl Relations {
    pub fn read(db: &mut dyn Driver) -> Result<Relations, DbError> {
        let rows = db.own_query(
            "SELECT c.oid::bigint, c.oid::regclass::text, c.relfilenode::bigint, \
               c.relkind::text, coalesce(x.indrelid, t.oid, ( \
                 SELECT d.refobjid FROM pg_depend d \
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') \
                 LIMIT 1))::bigint \
             FROM pg_class c \
             LEFT JOIN pg_index x ON x.indexrelid = c.oid \
             LEFT JOIN pg_class t ON t.reltoastrelid = c.oid \
             WHERE c.oid >= 16384",
            &[],
        )?;
        let mut relations = HashMap::new();
        for row in rows.iter() {
            let (Some(oid), Value::Text(name), Value::Text(kind)) =
                (int(&row[0]), &row[1], &row[3])
            else {
                continue;
            };
            let relation = Relation {
                name: name.clone(),
                filenode: int(&row[2]).unwrap_or(0),
                kind: kind.chars().next().unwrap_or('?'),
                owner: int(&row[4]).filter(|&o| o != oid),
            };
            relations.insert(oid, relation);
        }
        Ok(Relations(relations))
    }

    pub fn name(&self, oid: i64) -> String {
        self.0.get(&oid).map_or_else(|| format!("relation {oid}"), |r| r.name.clone())
    }

    /// The table `oid` belongs to in the end (an index of a TOAST table belongs to the
    /// table that TOAST table belongs to), or `oid` itself.
    pub fn root(&self, oid: i64) -> i64 {
        let mut at = oid;
        for _ in 0..4 {
            match self.0.get(&at).and_then(|r| r.owner) {
                Some(owner) => at = owner,
                None => break,
            }
        }
        at
    }

    /// The relations of `self` whose file `after` changed: rewritten, folded to the table or
    /// index a TOAST relation belongs to.
    pub fn rewritten(&self, after: &Relations) -> BTreeSet<i64> {
        let mut rewritten = BTreeSet::new();
        for (oid, relation) in &self.0 {
            let changed = after.0.get(oid).is_some_and(|now| now.filenode != relation.filenode);
            if changed && relation.filenode != 0 {
                let toast = matches!(relation.kind, 't') || self.is_toast_index(*oid);
                rewritten.insert(if toast { self.root(*oid) } else { *oid });
            }
        }
        rewritten
    }

    fn is_toast_index(&self, oid: i64) -> bool {
        let owner = self.0.get(&oid).and_then(|r| r.owner);
        owner.and_then(|o| self.0.get(&o)).is_some_and(|r| r.kind == 't')
    }
}

/// The relation locks this session holds now.
pub(super) fn held(db: &mut dyn Driver) -> Result<Held, DbError> {
    let rows = db.own_query(
        "SELECT relation::bigint, mode FROM pg_locks \
         WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND relation >= 16384",
        &[],
    )?;
    Ok(locks_of(&rows.iter().map(|row| (int(&row[0]), row[1].clone())).collect::<Vec<_>>()))
}

/// Another session's relation locks (granted), and whether it waits for a lock of any kind.
pub(super) fn of_session(db: &mut dyn Driver, pid: i64) -> Result<(Held, bool), DbError> {
    let rows = db.own_query(
        "SELECT CASE WHEN locktype = 'relation' AND granted THEN relation::bigint END, mode, \
           granted FROM pg_locks WHERE pid = $1::bigint",
        &[Value::Integer(pid)],
    )?;
    let waiting = rows.iter().any(|row| row[2] == Value::Boolean(false));
    let pairs: Vec<_> = rows.iter().map(|row| (int(&row[0]), row[1].clone())).collect();
    let held = locks_of(&pairs);
    Ok((held.into_iter().filter(|(oid, _)| *oid >= FIRST_USER_OID).collect(), waiting))
}

fn locks_of(rows: &[(Option<i64>, Value)]) -> Held {
    let mut held = Held::new();
    for (oid, mode) in rows {
        if let (Some(oid), Value::Text(mode)) = (oid, mode)
            && let Some(mode) = LockMode::from_pg_locks(mode)
        {
            held.insert((*oid, mode));
        }
    }
    held
}

/// The relations `locks` name, as oids of this database before the statement runs (`None`:
/// one that does not exist yet), and for an index the table it belongs to in the same
/// mode.
pub(super) fn resolve(
    db: &mut dyn Driver,
    relations: &Relations,
    locks: &[Lock],
) -> Result<Vec<(Option<i64>, Lock)>, DbError> {
    let mut resolved = Vec::new();
    for lock in locks {
        let name = super::super::regclass_text(&lock.relation);
        let rows =
            db.own_query("SELECT to_regclass($1)::oid::bigint", &[Value::Text(name.clone())])?;
        let oid = rows.values.first().and_then(int);
        resolved.push((oid, lock.clone()));
        let owner = oid.and_then(|o| relations.0.get(&o)).filter(|r| r.kind == 'i');
        if let Some(table) = owner.and_then(|r| r.owner) {
            let mut on_table = lock.clone();
            on_table.relation = relations.name(table);
            on_table.rewrites = false;
            resolved.push((Some(table), on_table));
        }
    }
    Ok(resolved)
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}
