//! The static table, statement by statement: what `godwit up --dry-run` shows.

use super::{LockMode, locks_taken};

fn locks(sql: &str) -> Vec<(String, &'static str, bool)> {
    locks_taken(sql).into_iter().map(|l| (l.relation, l.mode.name(), l.rewrites)).collect()
}

fn one(relation: &str, mode: &'static str, rewrites: bool) -> Vec<(String, &'static str, bool)> {
    vec![(relation.to_owned(), mode, rewrites)]
}

#[test]
fn each_kind_of_statement_takes_its_mode() {
    let cases = [
        ("CREATE INDEX i ON orders (c)", one("orders", "SHARE", false)),
        (
            "CREATE INDEX CONCURRENTLY i ON orders (c)",
            one("orders", "SHARE UPDATE EXCLUSIVE", false),
        ),
        ("DROP INDEX orders_c", one("orders_c", "ACCESS EXCLUSIVE", false)),
        ("DROP INDEX CONCURRENTLY orders_c", one("orders_c", "SHARE UPDATE EXCLUSIVE", false)),
        ("ALTER TABLE orders ADD COLUMN n int", one("orders", "ACCESS EXCLUSIVE", false)),
        (
            "ALTER TABLE orders ADD COLUMN n uuid DEFAULT gen_random_uuid()",
            one("orders", "ACCESS EXCLUSIVE", true),
        ),
        ("ALTER TABLE orders ALTER COLUMN n TYPE bigint", one("orders", "ACCESS EXCLUSIVE", true)),
        (
            "ALTER TABLE orders ALTER COLUMN n SET STATISTICS 500",
            one("orders", "SHARE UPDATE EXCLUSIVE", false),
        ),
        (
            "ALTER TABLE orders VALIDATE CONSTRAINT c",
            one("orders", "SHARE UPDATE EXCLUSIVE", false),
        ),
        (
            "ALTER TABLE orders SET (fillfactor = 70)",
            one("orders", "SHARE UPDATE EXCLUSIVE", false),
        ),
        (
            "ALTER TABLE orders SET (fillfactor = 70, oids = true)",
            one("orders", "ACCESS EXCLUSIVE", false),
        ),
        ("ALTER TABLE orders DISABLE TRIGGER t", one("orders", "SHARE ROW EXCLUSIVE", false)),
        ("ALTER TABLE orders SET TABLESPACE fast", one("orders", "ACCESS EXCLUSIVE", true)),
        ("TRUNCATE orders", one("orders", "ACCESS EXCLUSIVE", true)),
        ("VACUUM orders", one("orders", "SHARE UPDATE EXCLUSIVE", false)),
        ("VACUUM (FULL) orders", one("orders", "ACCESS EXCLUSIVE", true)),
        ("ANALYZE orders", one("orders", "SHARE UPDATE EXCLUSIVE", false)),
        (
            "CLUSTER orders USING orders_pkey",
            vec![
                ("orders".into(), "ACCESS EXCLUSIVE", true),
                ("orders_pkey".into(), "ACCESS EXCLUSIVE", true),
            ],
        ),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY totals", one("totals", "EXCLUSIVE", true)),
        (
            "LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE",
            one("orders", "SHARE ROW EXCLUSIVE", false),
        ),
        ("LOCK orders", one("orders", "ACCESS EXCLUSIVE", false)),
        (
            "COMMENT ON COLUMN orders.status IS 'old'",
            one("orders", "SHARE UPDATE EXCLUSIVE", false),
        ),
        (
            "CREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f()",
            one("orders", "SHARE ROW EXCLUSIVE", false),
        ),
        (
            "ALTER INDEX orders_c RENAME TO orders_customer",
            one("orders_c", "SHARE UPDATE EXCLUSIVE", false),
        ),
        ("UPDATE orders SET n = 1", one("orders", "ROW EXCLUSIVE", false)),
        ("CREATE TABLE lines (id bigint)", vec![]),
    ];
    for (sql, expected) in cases {
        assert_eq!(locks(sql), expected, "{sql}");
    }
}

#[test]
fn a_foreign_key_locks_the_table_it_refers_to() {
    let sql =
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) NOT VALID";
    assert_eq!(
        locks(sql),
        [
            ("customers".into(), "SHARE ROW EXCLUSIVE", false),
            ("orders".into(), "SHARE ROW EXCLUSIVE", false)
        ]
    );
    let sql =
        "CREATE TABLE lines (o bigint REFERENCES Orders, p bigint REFERENCES shop.products (id))";
    assert_eq!(
        locks(sql),
        [
            ("orders".into(), "SHARE ROW EXCLUSIVE", false),
            ("shop.products".into(), "SHARE ROW EXCLUSIVE", false)
        ]
    );
}

#[test]
fn an_alter_table_takes_its_strongest_action_once() {
    let sql = "ALTER TABLE orders VALIDATE CONSTRAINT c, ADD COLUMN n int, ALTER COLUMN m SET STATISTICS 5";
    assert_eq!(locks(sql), one("orders", "ACCESS EXCLUSIVE", false));
}

#[test]
fn a_statement_that_reads_and_writes_takes_both() {
    let sql = "INSERT INTO archive SELECT * FROM orders WHERE done";
    assert_eq!(
        locks(sql),
        [("archive".into(), "ROW EXCLUSIVE", false), ("orders".into(), "ACCESS SHARE", false)]
    );
}

#[test]
fn modes_read_back_as_pg_locks_spells_them() {
    assert_eq!(LockMode::from_pg_locks("AccessExclusiveLock"), Some(LockMode::AccessExclusive));
    assert_eq!(
        LockMode::from_pg_locks("ShareUpdateExclusiveLock"),
        Some(LockMode::ShareUpdateExclusive)
    );
    assert_eq!(LockMode::from_pg_locks("SIReadLock"), None);
    assert!(LockMode::AccessExclusive > LockMode::Share);
}
