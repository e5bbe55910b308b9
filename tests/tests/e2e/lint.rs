//! `godwit lint` from the command line: the pending migrations only (an applied one is not
//! linted again), `--all` every one without a database, findings with their file and line on
//! stdout, the summary on stderr, exit 1 on an error, JSON with every finding.

use godwit_tests::{Backend, Project, on_both};

fn lint_reads_pending_migrations_and_says_where_and_why(p: &Project) {
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint, customer_id bigint);", None);
    p.godwit(&["up"]).ok();
    // Applied, it is not linted again; pending, it is.
    p.migration("0002_legacy.sql", "DROP TABLE orders;", None);
    let warning = p.godwit(&["lint"]);
    warning.ok().stdout_has("warning[drops-data]: migrations/0002_legacy.sql:2: DROP TABLE");
    warning.stderr_has("Linted 0 errors and 1 warning in 1 migration");
    let (bad, rule) = match p.backend {
        Backend::Postgres => (
            "-- orders by customer\nCREATE INDEX orders_customer ON orders (customer_id);",
            "index-not-concurrent",
        ),
        Backend::Sqlite => (
            "ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;",
            "sqlite-alter-unsupported",
        ),
    };
    std::fs::remove_file(p.path("migrations/0002_legacy.sql")).unwrap();
    p.migration("0002_index.sql", bad, None);
    let before = p.db().fingerprint();
    p.godwit(&["lint"])
        .code(1)
        .stdout_has(&format!("error[{rule}]: migrations/0002_index.sql:"))
        .stdout_has("  instead: ")
        .stderr_has("Linted 1 error and 0 warnings in 1 migration");
    assert_eq!(p.db().fingerprint(), before, "lint changed the database");
    let json = p.godwit(&["lint", "--format", "json"]);
    json.code(1).stdout_has("\"schema_version\": 1").stdout_has(&format!("\"rule\": \"{rule}\""));
    p.godwit(&["lint", "--all"]).code(1).stderr_has("in 2 migrations");
}

on_both!(lint_reads_pending_migrations_and_says_where_and_why);
