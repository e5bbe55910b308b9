//! `godwit lint --trace`: the plan's locks against the server's. Every PostgreSQL example of
//! docs/lint.md, bad and good, runs on a scratch database and the locks each statement took
//! (read from `pg_locks`) agree with the plan; in a transaction that is rolled back, the
//! target is left as it was.

use godwit_tests::{Backend, Project};
use serde_json::Value;

/// The tables the examples of docs/lint.md are written against, with rows.
const FIXTURE: &str = "CREATE TABLE customers (id bigint PRIMARY KEY);\n\
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric, \
      number text, legacy_status text);\n\
    INSERT INTO customers SELECT g FROM generate_series(1, 100) g;\n\
    INSERT INTO orders SELECT g, g % 100 + 1, g, g::text, 'open' FROM generate_series(1, 1000) g;\n\
    CREATE INDEX orders_customer ON orders (customer_id);\n\
    CREATE UNIQUE INDEX orders_number_idx ON orders (number);";

/// Every `sql postgres <kind> <rule>` block of docs/lint.md, as a migration file.
fn examples() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(godwit_tests::root().join("docs/lint.md")).unwrap();
    let mut found = Vec::new();
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("```sql postgres ") {
        let info_end = at + rest[at..].find('\n').unwrap();
        let name = rest[at + "```sql postgres ".len()..info_end].to_owned();
        let end = info_end + rest[info_end..].find("```").unwrap();
        let sql = &rest[info_end + 1..end];
        let (directives, body): (Vec<&str>, Vec<&str>) =
            sql.lines().partition(|l| l.starts_with("-- godwit:"));
        let file = format!("{}\n-- godwit:up\n{}\n", directives.join("\n"), body.join("\n"));
        found.push((name, file.trim_start().to_owned()));
        rest = &rest[end + 3..];
    }
    found
}

fn trace(p: &Project, args: &[&str]) -> Value {
    let run = p.godwit(args);
    serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"))
}

#[test]
fn every_example_of_every_rule_takes_the_locks_the_plan_shows() {
    let Some(indexed) = Project::new(Backend::Postgres) else { return };
    indexed.migration("0001_fixture.sql", FIXTURE, None);
    indexed.godwit(&["up"]).ok();
    // The examples that create orders_customer run where it is not there yet.
    let bare = Project::new(Backend::Postgres).unwrap();
    let without = FIXTURE.replace("CREATE INDEX orders_customer ON orders (customer_id);", "");
    bare.migration("0001_fixture.sql", &without, None);
    bare.godwit(&["up"]).ok();
    let empty = Project::new(Backend::Postgres).unwrap();
    let examples = examples();
    assert!(examples.len() >= 18, "{examples:?}");
    // Those the server refuses: a CONCURRENTLY statement in a transaction, a NOT NULL column
    // without a default on a table with rows, a statement it cannot parse.
    let refused =
        ["bad concurrently-in-transaction", "bad not-null-without-default", "bad unreadable"];
    let mut compared = 0;
    for (name, file) in &examples {
        // The preferences' examples create their own tables.
        let p = match (file.contains("CREATE TABLE"), file.contains("CREATE INDEX")) {
            (true, _) => &empty,
            (_, true) => &bare,
            _ => &indexed,
        };
        p.write("migrations/0002_example.sql", file);
        let traced = trace(p, &["lint", "--trace", "--format", "json"]);
        let scratch = traced["scratch_database"].as_str().unwrap();
        assert!(scratch.starts_with("godwit_scratch_"), "{traced}");
        let left = format!("SELECT count(*) FROM pg_database WHERE datname = '{scratch}'");
        assert_eq!(p.db().scalar(&left), "0", "the scratch database is dropped");
        for statement in traced["statements"].as_array().unwrap() {
            let outcome = statement["outcome"].as_str().unwrap();
            let context = format!("{name}: {statement:#}");
            match outcome {
                "ran" | "observed" => {
                    assert_eq!(statement["agrees"], true, "{context}");
                    compared += 1;
                }
                "failed" => assert!(refused.contains(&name.as_str()), "{context}"),
                _ => panic!("{context}"),
            }
        }
        if name == "bad column-type-change" {
            let taken = &traced["statements"][0]["taken"];
            let orders = taken.as_array().unwrap().iter().find(|l| l["relation"] == "orders");
            assert_eq!(orders.unwrap()["rewrites"], true, "{taken}");
        }
    }
    assert!(compared >= 20, "{compared}");
}

#[test]
fn a_trace_in_a_transaction_is_rolled_back_and_says_what_it_cannot_run() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    p.migration("0001_fixture.sql", FIXTURE, None);
    p.godwit(&["up"]).ok();
    p.migration(
        "0002_total.sql",
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);\n\
         ALTER TABLE orders ADD COLUMN note text;\n\
         CREATE TABLE lines (id bigint, order_id bigint REFERENCES orders);",
        None,
    );
    p.write(
        "migrations/0003_index.sql",
        "-- godwit:no-transaction\n-- godwit:up\nCREATE INDEX CONCURRENTLY lines_order ON lines (order_id);\n",
    );
    let before = p.db().fingerprint();
    let run = p.godwit(&["lint", "--trace", "--in-transaction"]);
    run.ok()
        .stdout_has("-- 0002_total (migrations/0002_total.sql)")
        .stdout_has("took ACCESS EXCLUSIVE on orders (rewrote it)")
        .stdout_has(": as planned")
        .stdout_has("nothing new (its transaction held ACCESS EXCLUSIVE on orders already)")
        .stdout_has("not traced: it runs only outside a transaction")
        .stderr_has("Traced 4 statements of 2 migrations in a transaction that was rolled back: 3 as planned, 1 not traced");
    assert_eq!(p.db().fingerprint(), before, "the trace was rolled back");
    // On a scratch database the CONCURRENTLY statement is read while it runs.
    let traced = trace(&p, &["lint", "--trace", "--format", "json"]);
    let index = &traced["statements"][3];
    assert_eq!(index["outcome"], "observed", "{index}");
    assert_eq!(index["taken"][0]["mode"], "SHARE UPDATE EXCLUSIVE", "{index}");
    assert_eq!(index["agrees"], true);
    assert_eq!(p.db().fingerprint(), before, "the target is only read");
}

#[test]
fn a_statement_the_server_refuses_stops_the_trace() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    p.migration("0001_fixture.sql", FIXTURE, None);
    p.godwit(&["up"]).ok();
    p.migration("0002_bad.sql", "ALTER TABLE orders ADD COLUMN currency text NOT NULL;", None);
    p.migration("0003_after.sql", "ALTER TABLE orders ADD COLUMN note text;", None);
    p.godwit(&["lint", "--trace"])
        .code(1)
        .stdout_has(
            "failed: column \"currency\" of relation \"orders\" contains null values (23502)",
        )
        .stdout_has("not traced: not run: 0002_bad failed before it")
        .stderr_has("1 failed, 1 not traced");
}
