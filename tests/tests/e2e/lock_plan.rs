//! The plan shows the locks: `up --dry-run` names, before each statement, the lock it takes,
//! on which relation, and (on PostgreSQL) how big that relation is in the connected database;
//! `--format json` carries the same. SQLite has no lock levels to show.

use godwit_tests::{Backend, Project};

fn orders(p: &Project) {
    p.migration(
        "0001_orders.sql",
        "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);\n\
         INSERT INTO orders SELECT g, g FROM generate_series(1, 20000) g;\n\
         ANALYZE orders;",
        None,
    );
    p.godwit(&["up"]).ok();
    p.write(
        "migrations/0002_change.sql",
        "-- godwit:allow index-not-concurrent reviewed: the table is small\n\
         -- godwit:allow column-type-change reviewed: the table is small\n\
         -- godwit:up\n\
         SET lock_timeout = '2s';\n\
         ALTER TABLE orders ALTER COLUMN total TYPE text;\n\
         CREATE INDEX orders_total ON orders (total);\n\
         CREATE TABLE lines (id bigint, order_id bigint REFERENCES orders);\n",
    );
}

#[test]
fn a_dry_run_names_each_lock_and_the_size_of_its_table() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    orders(&p);
    let before = p.db().fingerprint();
    let run = p.godwit(&["up", "--dry-run"]);
    run.ok()
        .stdout_has(
            "-- ACCESS EXCLUSIVE on orders (20,000 rows, ",
        )
        .stdout_has("): blocks reads and writes; may rewrite it\nALTER TABLE orders ALTER COLUMN total TYPE text;")
        .stdout_has("): blocks writes\nCREATE INDEX orders_total ON orders (total);")
        .stdout_has("-- SHARE ROW EXCLUSIVE on orders (20,000 rows, ");
    // SET takes no lock: nothing is printed before it.
    assert!(run.stdout.contains("0002_change.sql)\nSET lock_timeout = '2s';"), "{}", run.stdout);
    assert_eq!(p.db().fingerprint(), before, "a dry run changes nothing");
}

#[test]
fn the_json_plan_carries_the_locks() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    orders(&p);
    let run = p.godwit(&["up", "--dry-run", "--format", "json"]);
    run.ok();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    let step = &plan["steps"][0];
    assert_eq!(step["action"], "apply");
    assert_eq!(step["migration"], "0002_change");
    let statements = step["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 4, "{statements:?}");
    assert_eq!(statements[0]["locks"], serde_json::json!([]));
    let alter = &statements[1]["locks"][0];
    assert_eq!(alter["mode"], "ACCESS EXCLUSIVE");
    assert_eq!(alter["relation"], "orders");
    assert_eq!(alter["rewrites"], true);
    assert_eq!(alter["size"]["rows"], 20000);
    assert!(alter["size"]["bytes"].as_u64().unwrap() > 20000);
    assert_eq!(statements[2]["locks"][0]["mode"], "SHARE");
    let create = statements[3]["locks"].as_array().unwrap();
    let modes: Vec<_> =
        create.iter().map(|l| (l["relation"].as_str(), l["mode"].as_str())).collect();
    assert!(modes.contains(&(Some("orders"), Some("SHARE ROW EXCLUSIVE"))), "{modes:?}");
    // The real run prints the same shape, without the locks.
    let applied = p.godwit(&["up", "--format", "json"]);
    applied.ok();
    let done: serde_json::Value = serde_json::from_str(&applied.stdout).unwrap();
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["steps"][0]["migration"], "0002_change");
    assert_eq!(p.db().scalar("SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'total'"), "text");
}

#[test]
fn sqlite_plans_have_no_lock_levels() {
    let p = Project::new(Backend::Sqlite).unwrap();
    p.migration("0001_orders.sql", "CREATE TABLE orders (id integer PRIMARY KEY);", None);
    p.godwit(&["up"]).ok();
    p.migration("0002_index.sql", "CREATE INDEX orders_id ON orders (id);", None);
    let run = p.godwit(&["up", "--dry-run"]);
    run.ok().stdout_has("CREATE INDEX orders_id ON orders (id);");
    assert!(!run.stdout.contains(" on orders"), "{}", run.stdout);
    let json = p.godwit(&["up", "--dry-run", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan["steps"][0]["statements"][0]["locks"], serde_json::json!([]));
}
