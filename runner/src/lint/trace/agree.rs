//! Whether what a statement took agrees with what the lock plan says it takes: every lock
//! the plan names held, nothing stronger than the plan says on a relation, nothing beyond a
//! read's or a write's lock on a relation the plan does not name (unless it belongs to one
//! it names, as an index belongs to its table), and no table rewritten that the plan does
//! not say may be.

use super::snapshot::{Held, Relations};
use crate::lint::takes::{Lock, LockMode};
use std::collections::BTreeSet;

/// What a statement did, beside what the plan said.
pub(super) struct Seen<'a> {
    /// The plan's locks, with the oid each relation had before the statement (`None`: it did
    /// not exist yet).
    pub expected: &'a [(Option<i64>, Lock)],
    /// The locks held once it ran (also those taken before it in its transaction).
    pub held: &'a Held,
    /// The locks it took that were not held before it.
    pub taken: &'a Held,
    pub rewritten: &'a BTreeSet<i64>,
    pub relations: &'a Relations,
}

/// `None` when they agree; otherwise what differs, in words.
pub(super) fn disagreement(seen: &Seen<'_>) -> Option<String> {
    let mut differences = Vec::new();
    let expected =
        |oid: i64| seen.expected.iter().filter(|(o, _)| *o == Some(oid)).map(|(_, l)| l.mode).max();
    for (oid, lock) in seen.expected {
        let Some(oid) = oid else { continue };
        if !seen.held.contains(&(*oid, lock.mode)) {
            let name = seen.relations.name(*oid);
            let on = modes_on(seen.held, *oid);
            differences.push(format!("the plan says {} on {name}; it holds {on}", lock.mode));
        }
    }
    for &(oid, mode) in seen.taken {
        let name = seen.relations.name(oid);
        match expected(oid) {
            Some(planned) if mode > planned => differences
                .push(format!("it took {mode} on {name}, stronger than the plan's {planned}")),
            Some(_) => {}
            None => {
                let owner = seen.relations.root(oid);
                let through = (owner != oid).then(|| expected(owner)).flatten();
                let fine = match through {
                    Some(planned) => mode <= planned,
                    None => mode <= LockMode::RowExclusive,
                };
                if !fine {
                    differences
                        .push(format!("it took {mode} on {name}, which the plan does not show"));
                }
            }
        }
    }
    for &oid in seen.rewritten {
        let table = seen.relations.0.get(&oid).is_some_and(|r| matches!(r.kind, 'r' | 'm' | 'p'));
        let said = seen.expected.iter().any(|(o, l)| *o == Some(oid) && l.rewrites);
        if table && !said {
            let name = seen.relations.name(oid);
            differences.push(format!("it rewrote {name}; the plan does not say it may"));
        }
    }
    (!differences.is_empty()).then(|| differences.join("; "))
}

fn modes_on(held: &Held, oid: i64) -> String {
    let modes: Vec<&str> = held.iter().filter(|(o, _)| *o == oid).map(|(_, m)| m.name()).collect();
    match modes.is_empty() {
        true => "no lock on it".to_owned(),
        false => modes.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::Relation;
    use super::*;
    use std::collections::HashMap;

    fn relations() -> Relations {
        let table = Relation { name: "orders".into(), filenode: 1, kind: 'r', owner: None };
        let index = Relation { name: "orders_pkey".into(), filenode: 2, kind: 'i', owner: Some(1) };
        let other = Relation { name: "customers".into(), filenode: 3, kind: 'r', owner: None };
        Relations(HashMap::from([(1, table), (2, index), (3, other)]))
    }

    fn plan(mode: LockMode, rewrites: bool) -> Vec<(Option<i64>, Lock)> {
        vec![(Some(1), Lock { mode, relation: "orders".into(), rewrites, size: None })]
    }

    fn check(
        plan: &[(Option<i64>, Lock)],
        taken: &[(i64, LockMode)],
        rewrote: &[i64],
    ) -> Option<String> {
        let taken: Held = taken.iter().copied().collect();
        let rewritten = rewrote.iter().copied().collect();
        let relations = relations();
        let seen = Seen {
            expected: plan,
            held: &taken,
            taken: &taken,
            rewritten: &rewritten,
            relations: &relations,
        };
        disagreement(&seen)
    }

    #[test]
    fn the_planned_lock_and_its_index_agree() {
        let plan = plan(LockMode::AccessExclusive, true);
        let taken = [(1, LockMode::AccessExclusive), (2, LockMode::AccessExclusive)];
        assert_eq!(check(&plan, &taken, &[1, 2]), None);
        assert_eq!(
            check(&plan, &[(1, LockMode::AccessExclusive), (3, LockMode::AccessShare)], &[]),
            None
        );
    }

    #[test]
    fn a_missing_a_stronger_or_an_unplanned_lock_disagrees() {
        let share = plan(LockMode::Share, false);
        let stronger = check(&share, &[(1, LockMode::Share), (1, LockMode::AccessExclusive)], &[]);
        assert_eq!(
            stronger.unwrap(),
            "it took ACCESS EXCLUSIVE on orders, stronger than the plan's SHARE"
        );
        let missing = check(&share, &[(1, LockMode::ShareUpdateExclusive)], &[]).unwrap();
        assert!(
            missing.starts_with("the plan says SHARE on orders; it holds SHARE UPDATE EXCLUSIVE"),
            "{missing}"
        );
        let unplanned = check(&share, &[(1, LockMode::Share), (3, LockMode::AccessExclusive)], &[]);
        assert_eq!(
            unplanned.unwrap(),
            "it took ACCESS EXCLUSIVE on customers, which the plan does not show"
        );
    }

    #[test]
    fn a_rewrite_the_plan_does_not_foresee_disagrees() {
        let plan = plan(LockMode::AccessExclusive, false);
        let said = check(&plan, &[(1, LockMode::AccessExclusive)], &[1]).unwrap();
        assert_eq!(said, "it rewrote orders; the plan does not say it may");
        // An index rebuilt under its table's lock is not the table rewritten.
        assert_eq!(check(&plan, &[(1, LockMode::AccessExclusive)], &[2]), None);
    }
}
