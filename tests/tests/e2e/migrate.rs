//! `up`, `down`, dry runs and `status` through the real binary, on SQLite and PostgreSQL.

use godwit_tests::{Project, on_both};

fn three(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    p.migration(
        "0002_b.sql",
        "create table b (x int);\ninsert into b values (1);",
        Some("drop table b;"),
    );
    p.migration("0003_c.sql", "create table c (x int);", Some("drop table c;"));
}

fn versions(p: &Project) -> Vec<i64> {
    p.db().history().iter().filter_map(|r| r.version).collect()
}

fn up_applies_pending_in_order_and_records_them(p: &Project) {
    three(p);
    let run = p.godwit(&["up"]);
    run.ok()
        .stderr_has("    Applying 0001_a (")
        .stderr_has("    Applying 0003_c (")
        .stderr_has("Finished applied 3 migrations");
    assert!(run.stdout.is_empty(), "stdout is for data: {}", run.stdout);
    assert_eq!(p.db().tables(), ["a", "b", "c"]);
    let history = p.db().history();
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|r| r.state == "applied" && r.checksum.len() == 64));
    assert_eq!(p.db().scalar("SELECT CAST(count(*) AS TEXT) FROM b"), "1");
    let again = p.godwit(&["up"]);
    again.ok().stderr_has("is up to date");
    assert_eq!(p.db().history(), history);
}

fn status_shows_applied_and_pending_as_text_and_json(p: &Project) {
    three(p);
    p.godwit(&["up", "--to", "2"]).ok();
    let text = p.godwit(&["status"]);
    text.ok().stderr_has("2 applied, 1 pending");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[1].starts_with("applied") && lines[1].contains("0001_a"), "{}", text.stdout);
    assert!(lines[3].starts_with("pending") && lines[3].contains("0003_c"), "{}", text.stdout);
    let json = p.godwit(&["status", "--format", "json"]);
    json.ok();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["schema_version"], 1);
    let migrations = value["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 3);
    assert_eq!(migrations[0]["state"], "applied");
    assert_eq!(migrations[0]["version"], 1);
    assert!(migrations[0]["applied_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(migrations[2]["state"], "pending");
    assert_eq!(migrations[2]["applied_at"], serde_json::Value::Null);
}

fn up_to_stops_at_the_version(p: &Project) {
    three(p);
    p.godwit(&["up", "--to", "0002"]).ok();
    assert_eq!(versions(p), [1, 2]);
    p.godwit(&["up", "--to", "7"]).code(2).stderr_has("no migration has version 7");
    assert_eq!(versions(p), [1, 2]);
}

fn dry_run_prints_the_plan_and_changes_nothing(p: &Project) {
    three(p);
    let before = p.db().fingerprint();
    let run = p.godwit(&["up", "--dry-run"]);
    run.ok()
        .stdout_has("-- applying 0001_a (migrations/0001_a.sql)\ncreate table a (x int);")
        .stdout_has("insert into b values (1);")
        .stderr_has("3 migrations would be applied; nothing was changed");
    assert_eq!(p.db().fingerprint(), before);
    assert!(!p.db().has_history_table(), "a dry run creates nothing");
    p.godwit(&["up"]).ok();
    let applied = p.db().fingerprint();
    p.godwit(&["down", "--steps", "2", "--dry-run"])
        .ok()
        .stdout_has("-- reverting 0003_c")
        .stdout_has("drop table b;");
    assert_eq!(p.db().fingerprint(), applied);
}

fn failed_migration_leaves_database_and_history_as_before(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.migration(
        "0002_bad.sql",
        "create table b (x int);\ninsert into b values (1);\n\ninsert into\n  no_such_table values (1);",
        None,
    );
    let run = p.godwit(&["up"]);
    run.code(1)
        .stderr_has("error: applying 0002_bad failed at migrations/0002_bad.sql:")
        .stderr_has("    insert into\n      no_such_table values (1)")
        .stderr_has("Caused by:")
        .stderr_has("no_such_table")
        .stderr_has("hint: 0002_bad was rolled back");
    // The statement starts on line 5 of the file; PostgreSQL points at line 6.
    assert!(
        run.stderr.contains("0002_bad.sql:5") || run.stderr.contains("0002_bad.sql:6"),
        "{}",
        run.stderr
    );
    assert_eq!(p.db().fingerprint(), before);
    assert_eq!(p.db().tables(), ["a"]);
}

fn earlier_migrations_of_a_failed_run_stay_applied(p: &Project) {
    three(p);
    p.migration("0004_bad.sql", "create table d (x int);\ninsert into nowhere values (1);", None);
    p.godwit(&["up"]).code(1).stderr_has("applying 0004_bad failed");
    assert_eq!(versions(p), [1, 2, 3]);
    assert_eq!(p.db().tables(), ["a", "b", "c"]);
    p.godwit(&["status"]).ok().stderr_has("3 applied, 1 pending");
}

fn down_reverts_newest_first(p: &Project) {
    three(p);
    p.godwit(&["up"]).ok();
    p.godwit(&["down"]).ok().stderr_has("   Reverting 0003_c (").stderr_has("reverted 1 migration");
    assert_eq!(versions(p), [1, 2]);
    p.godwit(&["up"]).ok();
    p.godwit(&["down", "--steps", "2"]).ok();
    assert_eq!(versions(p), [1]);
    assert_eq!(p.db().tables(), ["a"]);
    p.godwit(&["up"]).ok();
    p.godwit(&["down", "--to", "1"]).ok();
    assert_eq!(versions(p), [1]);
    p.godwit(&["down", "--to", "0"]).ok();
    assert!(versions(p).is_empty());
    assert!(p.db().tables().is_empty());
    p.godwit(&["down"]).ok().stderr_has("nothing to revert");
}

fn down_refuses_irreversible_before_running_anything(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    p.migration("0002_b.sql", "create table b (x int);", None);
    p.migration("0003_c.sql", "create table c (x int);", Some("drop table c;"));
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["down", "--steps", "2"])
        .code(1)
        .stderr_has(
            "cannot revert 0002_b: it has no `-- godwit:down` section (or down file, in another tool's format); nothing was reverted",
        )
        .stderr_has("hint:");
    assert_eq!(p.db().fingerprint(), before, "0003_c must not have been reverted");
}

/// A statement the server cannot even parse fails its step like any other: the steps before
/// it stay applied, and it is neither applied nor recorded (on PostgreSQL the steps of a run
/// are sent together; a message that does not parse runs nothing of what it holds).
fn unparsable_statement_leaves_its_step_unrecorded(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.migration("0002_typo.sql", "creat table b (x int);", None);
    p.migration("0003_c.sql", "create table c (x int);", None);
    p.godwit(&["up"]).code(1).stderr_has("0002_typo");
    let names: Vec<String> = p.db().history().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["a"]);
    let tables = p.db().tables();
    assert!(tables.contains(&"a".to_owned()), "{tables:?}");
    assert!(!tables.iter().any(|t| t == "b" || t == "c"), "{tables:?}");
}

fn failed_revert_leaves_database_as_before(p: &Project) {
    p.migration(
        "0001_a.sql",
        "create table a (x int);",
        Some("drop table a;\ndrop table not_there;"),
    );
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["down"]).code(1).stderr_has("reverting 0001_a failed at migrations/0001_a.sql:6");
    assert_eq!(p.db().fingerprint(), before);
}

fn repeatables_run_after_versioned_and_again_when_changed(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.migration("R_view.sql", "drop view if exists v;\ncreate view v as select x from a;", None);
    p.godwit(&["up"]).ok().stderr_has("Applying R_view");
    assert_eq!(p.db().tables(), ["a", "v"]);
    p.godwit(&["up"]).ok().stderr_has("is up to date");
    p.migration(
        "R_view.sql",
        "drop view if exists v;\ncreate view v as select x, x + 1 as y from a;",
        None,
    );
    p.godwit(&["status"]).ok().stdout_has("changed");
    p.godwit(&["up"]).ok().stderr_has("Reapplying R_view");
    p.db().scalar("SELECT CAST(count(*) AS TEXT) FROM (SELECT y FROM v) t");
    let rows = p.db().history();
    assert_eq!(rows.iter().filter(|r| r.name == "view").count(), 1);
}

fn no_transaction_failure_is_recorded_and_blocks_until_repair(p: &Project) {
    p.write(
        "migrations/0001_nt.sql",
        "-- godwit:no-transaction\n-- godwit:up\ncreate table if not exists a (x int);\ninsert into missing values (1);\n",
    );
    p.godwit(&["up"])
        .code(1)
        .stderr_has("applying 0001_nt failed at migrations/0001_nt.sql:4")
        .stderr_has("recorded as failed")
        .stderr_has("godwit repair");
    assert_eq!(p.db().tables(), ["a"], "no-transaction statements before the failure stay");
    assert_eq!(p.db().history()[0].state, "failed");
    p.godwit(&["status"]).ok().stdout_has("failed");
    p.write(
        "migrations/0001_nt.sql",
        "-- godwit:no-transaction\n-- godwit:up\ncreate table if not exists a (x int);\ninsert into a values (1);\n",
    );
    p.godwit(&["up"]).code(1).stderr_has("0001_nt failed part-way and is recorded as failed");
    p.godwit(&["repair", "--yes"]).ok().stderr_has("Clear failed 0001_nt");
    p.godwit(&["up"]).ok();
    assert_eq!(p.db().history()[0].state, "applied");
    assert_eq!(p.db().scalar("SELECT CAST(count(*) AS TEXT) FROM a"), "1");
}

on_both!(
    migrations_may_not_change_the_history_table,
    up_applies_pending_in_order_and_records_them,
    status_shows_applied_and_pending_as_text_and_json,
    up_to_stops_at_the_version,
    dry_run_prints_the_plan_and_changes_nothing,
    failed_migration_leaves_database_and_history_as_before,
    earlier_migrations_of_a_failed_run_stay_applied,
    down_reverts_newest_first,
    down_refuses_irreversible_before_running_anything,
    failed_revert_leaves_database_as_before,
    unparsable_statement_leaves_its_step_unrecorded,
    repeatables_run_after_versioned_and_again_when_changed,
    no_transaction_failure_is_recorded_and_blocks_until_repair,
);

/// No migration may change the history table. SQLite's authorizer denies direct writes,
/// schema changes and triggers as the statement is prepared; on PostgreSQL, where the
/// project's migrations run as the table's owner, godwit finds any change before it records
/// the step. Either way the step fails and rolls back.
fn migrations_may_not_change_the_history_table(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.godwit(&["up"]).ok();
    let sqlite = p.backend == godwit_tests::Backend::Sqlite;
    let (written, definition) = match sqlite {
        true => ("", ""),
        false => ("rows were written to it", "its definition changed"),
    };
    let mut cases: Vec<(&str, &str)> = vec![
        (
            "update godwit_history set checksum = 'x';",
            if sqlite {
                "UPDATE of godwit_history was denied"
            } else {
                "rows were written to it (rows: 1 now, 1 left by godwit, 1 written by this step)"
            },
        ),
        (
            "delete from godwit_history;",
            if sqlite {
                "DELETE FROM godwit_history was denied"
            } else {
                "rows were written to it (rows: 0 now, 1 left by godwit, 0 written by this step)"
            },
        ),
        (
            "insert into godwit_history (version, name, kind, checksum, applied_at, execution_ms, state, godwit_version) values (9, 'x', 'sql', 'x', '2026-01-01', 0, 'applied', 'x');",
            if sqlite { "INSERT INTO godwit_history was denied" } else { written },
        ),
        (
            "drop table godwit_history;",
            if sqlite { "DROP TABLE godwit_history was denied" } else { "the table is gone" },
        ),
        (
            "alter table godwit_history add column y int;",
            if sqlite { "ALTER TABLE godwit_history was denied" } else { definition },
        ),
        (
            "drop index godwit_history_repeatable;",
            if sqlite { "DROP INDEX on godwit_history was denied" } else { definition },
        ),
    ];
    if sqlite {
        cases.extend([
            (
                "create trigger t after insert on godwit_history begin select 1; end;",
                "CREATE TRIGGER on godwit_history was denied",
            ),
            (
                "create trigger t after insert on a begin delete from godwit_history; end;\n\
                 insert into a values (1);",
                "DELETE FROM godwit_history (through t) was denied",
            ),
        ]);
    } else {
        cases.extend([
            ("truncate godwit_history;", "its storage was replaced"),
            ("grant all on godwit_history to public;", definition),
            (
                "create function t() returns trigger language plpgsql as $$ begin return new; end $$;\n\
                 create trigger t before insert on godwit_history for each row execute function t();",
                definition,
            ),
            (
                "create function t() returns trigger language plpgsql as $$ begin delete from godwit_history; return new; end $$;\n\
                 create trigger t after insert on a for each row execute function t();\n\
                 insert into a values (1);",
                "rows were written to it (rows: 0 now, 1 left by godwit, 0 written by this step)",
            ),
            // Where the server's write counters cannot tell, the rows are counted.
            (
                "set local track_counts = off;\ndelete from godwit_history;",
                "rows were written to it (rows: 0 now, 1 left by godwit, 0 written by this step)",
            ),
            (
                "reset all;\nupdate godwit_history set checksum = 'x';",
                "rows were written to it (rows: 1 now, 1 left by godwit, 1 written by this step)",
            ),
        ]);
    }
    for (sql, denied) in cases {
        let before = p.db().fingerprint();
        p.migration("0002_sneaky.sql", sql, None);
        // Unlinted: the engine's guard is what is tested (the linter finds the drops too).
        p.godwit(&["up", "--no-lint"])
            .code(1)
            .stderr_has("0002_sneaky")
            .stderr_has(&format!("a migration may not change godwit's history table: {denied}"));
        assert_eq!(p.db().fingerprint(), before, "{sql}");
    }
    // Reading it is allowed.
    p.migration(
        "0002_sneaky.sql",
        "create table c as select count(*) as n from godwit_history;",
        None,
    );
    p.godwit(&["up"]).ok();
    assert_eq!(p.db().scalar("select n from c"), "1");
    if !sqlite {
        // A no-transaction migration commits each statement on its own, outside the step the
        // counters follow: its write is found by the row count, and the step is not recorded.
        p.write(
            "migrations/0003_loose.sql",
            "-- godwit:no-transaction\n-- godwit:up\ndelete from godwit_history;\n",
        );
        p.godwit(&["up"]).code(1).stderr_has(
            "a migration may not change godwit's history table: rows were written to it (rows: 0 now, 2 left by godwit",
        );
    }
}
