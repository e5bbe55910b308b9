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
        Backend::Sqlite => {
            ("ALTER TABLE orders ALTER COLUMN customer_id TYPE text;", "sqlite-alter-unsupported")
        }
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
    let sarif = p.godwit(&["lint", "--format", "sarif"]);
    sarif
        .code(1)
        .stdout_has("\"version\": \"2.1.0\"")
        .stdout_has(&format!("\"ruleId\": \"{rule}\""));
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let result = &log["runs"][0]["results"][0];
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "migrations/0002_index.sql");
    assert!(location["region"]["startLine"].as_u64().unwrap() >= 2);
    // Linted with the migration that creates the table, the index is on a new, empty table;
    // SQLite refuses its ALTER whatever the table.
    let all = match p.backend {
        Backend::Postgres => 0,
        Backend::Sqlite => 1,
    };
    p.godwit(&["lint", "--all"]).code(all).stderr_has("in 2 migrations");
}

/// `[lint]` in godwit.toml raises a rule to an error, or turns it off.
fn levels_in_godwit_toml_raise_or_silence_a_rule(p: &Project) {
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    p.migration("0002_legacy.sql", "DROP TABLE orders;", None);
    p.write("godwit.toml", "[lint]\ndrops-data = \"error\"\n");
    p.godwit(&["lint"]).code(1).stdout_has("error[drops-data]: migrations/0002_legacy.sql:2");
    p.write("godwit.toml", "[lint]\ndrops-data = \"off\"\n");
    p.godwit(&["lint"]).ok().stderr_has("Linted 0 errors and 0 warnings in 1 migration");
}

/// `-- godwit:allow <rule> <why>` accepts a rule's findings in its file: they are listed as
/// allowed, with the reason, and stop nothing.
fn a_file_allows_a_finding_with_a_reason(p: &Project) {
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    p.write("godwit.toml", "[lint]\ndrops-data = \"error\"\n");
    p.write(
        "migrations/0002_legacy.sql",
        "-- godwit:allow drops-data orders moved to the archive in 0001\n-- godwit:up\nDROP TABLE orders;\n",
    );
    p.godwit(&["lint"])
        .ok()
        .stdout_has("allowed[drops-data]: migrations/0002_legacy.sql:3: DROP TABLE (orders moved to the archive in 0001)")
        .stderr_has("Linted 0 errors and 0 warnings in 1 migration (1 finding allowed by their files)");
    let sarif = p.godwit(&["lint", "--format", "sarif"]);
    sarif.ok().stdout_has("\"justification\": \"orders moved to the archive in 0001\"");
}

/// `godwit up` lints what it is about to apply: warnings are printed, an error refuses the
/// run (exit 2) with nothing applied, a dry run shows the plan and exits 2, an allow in the
/// file lets it through (and `status` shows it), and `--no-lint` skips the lint.
fn up_lints_what_it_applies_and_refuses_errors(p: &Project) {
    p.migration(
        "0001_orders.sql",
        "CREATE TABLE orders (id bigint, customer_id bigint);\nCREATE TABLE legacy (id bigint);",
        None,
    );
    p.godwit(&["up"]).ok();
    let (bad, rule) = match p.backend {
        Backend::Postgres => {
            ("CREATE INDEX orders_customer ON orders (customer_id);", "index-not-concurrent")
        }
        Backend::Sqlite => {
            ("ALTER TABLE orders ALTER COLUMN customer_id TYPE text;", "sqlite-alter-unsupported")
        }
    };
    p.migration("0002_legacy.sql", "DROP TABLE legacy;", None);
    p.migration("0003_index.sql", bad, None);
    let before = p.db().fingerprint();
    p.godwit(&["up"])
        .code(2)
        .stderr_has("warning[drops-data]: migrations/0002_legacy.sql:2: DROP TABLE")
        .stderr_has("godwit lint finds 1 error in the migrations to apply; nothing was applied")
        .stderr_has("migrations/0003_index.sql:2: ")
        .stderr_has(&format!("[{rule}]"))
        .stderr_has("godwit up --no-lint");
    assert_eq!(p.db().fingerprint(), before, "a refused run changed the database");
    p.godwit(&["up", "--dry-run"])
        .code(2)
        .stdout_has(bad)
        .stderr_has(&format!("error[{rule}]: migrations/0003_index.sql:2"))
        .stderr_has("godwit up would refuse to run: 1 lint error");
    assert_eq!(p.db().fingerprint(), before, "a dry run changed the database");
    p.write(
        "migrations/0003_index.sql",
        &format!(
            "-- godwit:allow {rule} orders is read-only until the release\n-- godwit:up\n{bad}\n"
        ),
    );
    p.godwit(&["status"])
        .ok()
        .stdout_has(&format!("allows {rule}: orders is read-only until the release"));
    p.godwit(&["status", "--format", "json"]).ok().stdout_has(&format!("\"rule\": \"{rule}\""));
    match p.backend {
        Backend::Postgres => {
            p.godwit(&["up"]).ok().stderr_has("applied 2 migrations");
        }
        // Let through, SQLite itself refuses the statement.
        Backend::Sqlite => {
            p.godwit(&["up"]).code(1).stderr_has("0003_index");
            p.migration("0003_index.sql", bad, None);
            p.godwit(&["up", "--no-lint"]).code(1).stderr_has("0003_index");
        }
    }
}

/// Another tool's folder, written for a runner that does not lint, is linted by `up` but
/// never refused: its errors are printed as warnings.
fn up_warns_instead_of_refusing_in_another_tools_folder(p: &Project) {
    p.write("godwit.toml", "format = \"golang-migrate\"\n");
    p.write("migrations/1_orders.up.sql", "CREATE TABLE orders (id bigint, customer_id bigint);\n");
    p.godwit(&["up"]).ok();
    let (bad, rule) = match p.backend {
        Backend::Postgres => {
            ("CREATE INDEX orders_customer ON orders (customer_id);", "index-not-concurrent")
        }
        Backend::Sqlite => ("ALTER TABLE orders DROP COLUMN customer_id;", "drops-data"),
    };
    p.write("migrations/2_index.up.sql", &format!("{bad}\n"));
    p.godwit(&["lint"]).stdout_has(&format!("[{rule}]: migrations/2_index.up.sql:1"));
    p.godwit(&["up"])
        .ok()
        .stderr_has(&format!(
            "Warning {}[{rule}]: migrations/2_index.up.sql:1",
            match p.backend {
                Backend::Postgres => "error",
                Backend::Sqlite => "warning",
            }
        ))
        .stderr_has("applied 1 migration");
}

on_both!(
    up_lints_what_it_applies_and_refuses_errors,
    up_warns_instead_of_refusing_in_another_tools_folder,
    lint_reads_pending_migrations_and_says_where_and_why,
    a_file_allows_a_finding_with_a_reason,
    levels_in_godwit_toml_raise_or_silence_a_rule
);

/// A component's statements are known once it sends them: they are linted after its `up`,
/// and what the rules find is told as a warning (it ran already); `--no-lint` tells nothing.
#[test]
fn the_statements_a_component_sends_are_linted_after_it_runs() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    p.migration(
        "0001_people.sql",
        "CREATE TABLE people (id bigint PRIMARY KEY, full_name text NOT NULL, \
           passes integer NOT NULL DEFAULT 0);\n\
         INSERT INTO people VALUES (1, 'Ada Lovelace');",
        None,
    );
    p.godwit(&["up"]).ok();
    let indexed = super::options::variant("python-backfill", "migration.py", |text| {
        text.replace(
            "        godwit.execute(\"ALTER TABLE people ADD COLUMN last_name TEXT\")\n",
            "        godwit.execute(\"ALTER TABLE people ADD COLUMN last_name TEXT\")\n        \
             godwit.execute(\"CREATE INDEX people_full_name ON people (full_name)\")\n",
        )
    });
    std::fs::copy(&indexed, p.path("migrations/0002_split.wasm")).unwrap();
    p.godwit(&["up"]).ok().stderr_has(
        "warning[index-not-concurrent]: migrations/0002_split.wasm: CREATE INDEX on people \
         without CONCURRENTLY (a statement the component sent)",
    );
    let columns = p.db().columns("people");
    assert_eq!(columns, ["id", "full_name", "passes", "first_name", "last_name"]);
    p.godwit(&["down"]).ok();
    // Its down does not drop the index its up made.
    p.db().execute("DROP INDEX people_full_name");
    let quiet = p.godwit(&["up", "--no-lint"]);
    quiet.ok();
    assert!(!quiet.stderr.contains("index-not-concurrent"), "{}", quiet.stderr);
}
