//! Checks against the history: edited, missing and out-of-order migrations, `validate`,
//! `repair` and `baseline`, on SQLite and PostgreSQL.

use godwit_tests::{Project, on_both};

fn applied_two(p: &Project) {
    two_files(p);
    p.godwit(&["up"]).ok();
}

fn edited_applied_migration_blocks_up_until_repaired(p: &Project) {
    applied_two(p);
    p.migration("0001_a.sql", "create table a (x int, y int);", Some("drop table a;"));
    p.migration("0003_c.sql", "create table c (x int);", None);
    let before = p.db().fingerprint();
    p.godwit(&["up"])
        .code(1)
        .stderr_has("0001_a was modified after it was applied (migrations/0001_a.sql: applied ")
        .stderr_has("hint: restore the applied files, or run `godwit repair`");
    assert_eq!(p.db().fingerprint(), before, "0003_c must not run");
    p.godwit(&["status"]).ok().stdout_has("modified");
    p.godwit(&["validate"])
        .code(1)
        .stdout_has("0001_a was modified")
        .stderr_has("validation found 1 problem");
    // Without --yes and without a terminal, repair shows the change and refuses.
    p.godwit(&["repair"]).code(2).stderr_has("Accept edited 0001_a").stderr_has("--yes");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["repair", "--yes"]).ok().stderr_has("Repaired 1 history entry");
    p.godwit(&["validate"]).ok();
    p.godwit(&["up"]).ok().stderr_has("Applying 0003_c");
}

fn line_endings_are_not_edits(p: &Project) {
    p.write("migrations/0001_a.sql", "-- godwit:up\ncreate table a (x int);\n");
    p.godwit(&["up"]).ok();
    p.write("migrations/0001_a.sql", "\u{feff}-- godwit:up\r\ncreate table a (x int);\r\n");
    p.godwit(&["validate"]).ok();
}

fn missing_applied_migration_blocks_up_until_repaired(p: &Project) {
    applied_two(p);
    p.remove("migrations/0001_a.sql");
    p.godwit(&["up"]).code(1).stderr_has("1_a is applied but its file is missing");
    p.godwit(&["status"]).ok().stdout_has("missing").stdout_has("file not found");
    p.godwit(&["validate"]).code(1).stdout_has("missing");
    p.godwit(&["repair", "--yes"]).ok().stderr_has("Forget missing 1_a");
    assert_eq!(p.db().history().len(), 1);
    p.godwit(&["up"]).ok();
}

fn out_of_order_needs_a_flag(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.migration("0003_c.sql", "create table c (x int);", None);
    p.godwit(&["up"]).ok();
    p.migration("0002_b.sql", "create table b (x int);", None);
    let before = p.db().fingerprint();
    p.godwit(&["up"])
        .code(1)
        .stderr_has("1 pending migration is older than the newest applied migration 0003_c: 0002_b")
        .stderr_has("--allow-out-of-order");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["status"]).ok().stdout_has("pending*");
    p.godwit(&["validate"])
        .code(1)
        .stdout_has("0002_b is pending but older than the applied 0003_c");
    p.godwit(&["up", "--allow-out-of-order"]).ok().stderr_has("Applying 0002_b");
    p.godwit(&["validate"]).ok();
}

fn repair_with_nothing_to_do(p: &Project) {
    applied_two(p);
    p.godwit(&["repair"]).ok().stderr_has("nothing to repair");
}

fn baseline_marks_an_existing_schema(p: &Project) {
    // The database already has what 0001 and 0002 create; running them would fail.
    p.db().execute("create table a (x int); create table b (x int);");
    two_files(p);
    p.migration("0003_c.sql", "create table c (x int);", None);
    p.godwit(&["baseline", "--version", "2"])
        .ok()
        .stderr_has("Baselined 0001_a")
        .stderr_has("marked 2 migrations up to 2 as applied");
    p.godwit(&["up"]).ok().stderr_has("Applying 0003_c").stderr_has("applied 1 migration");
    assert_eq!(p.db().history().len(), 3);
    p.godwit(&["baseline", "--version", "2"])
        .code(1)
        .stderr_has("already has 3 migrations applied");
    p.godwit(&["baseline", "--version", "9"]).code(2).stderr_has("no migration has version 9");
}

fn two_files(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    p.migration("0002_b.sql", "create table b (x int);", Some("drop table b;"));
}

fn tampered_history_is_reported(p: &Project) {
    applied_two(p);
    p.db().execute("UPDATE godwit_history SET state = 'bogus' WHERE version = 1");
    p.godwit(&["status"])
        .code(1)
        .stderr_has("cannot read the history")
        .stderr_has("godwit_history has a row godwit did not write (an unknown state for `a`)");
}

/// A history table written before packs (no stream, versions unique across the table) is read
/// as it is by `status`, and brought up to date, rows kept, by the next `up`.
fn history_from_before_packs_is_upgraded(p: &Project) {
    let (version, at) = match p.backend {
        godwit_tests::Backend::Sqlite => ("INTEGER", "TEXT"),
        godwit_tests::Backend::Postgres => ("BIGINT", "TIMESTAMPTZ"),
    };
    p.db().execute(&format!(
        "CREATE TABLE godwit_history (version {version} UNIQUE, name TEXT NOT NULL, \
         kind TEXT NOT NULL, checksum TEXT NOT NULL, applied_at {at} NOT NULL, \
         execution_ms {version} NOT NULL, state TEXT NOT NULL, godwit_version TEXT NOT NULL, \
         cursor TEXT, rows_done {version} NOT NULL DEFAULT 0);
         CREATE UNIQUE INDEX godwit_history_repeatable ON godwit_history (name) WHERE version IS NULL;"
    ));
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    let text = std::fs::read_to_string(p.path("migrations/0001_a.sql")).unwrap();
    p.db().execute(&format!(
        "CREATE TABLE a (x int); INSERT INTO godwit_history VALUES \
         (1, 'a', 'sql', '{}', '2026-01-01T00:00:00Z', 3, 'applied', '0.1.0', NULL, 0);",
        godwit::Checksum::of_text(&text)
    ));
    p.godwit(&["status"]).ok().stdout_has("applied   0001_a");
    assert!(
        !p.db().columns("godwit_history").contains(&"stream".to_owned()),
        "status changes nothing"
    );
    p.migration("0002_b.sql", "create table b (x int);", None);
    p.godwit(&["up"]).ok().stderr_has("Applying 0002_b");
    let columns = p.db().columns("godwit_history");
    assert!(
        columns.contains(&"stream".to_owned()) && columns.contains(&"dotted_version".to_owned())
    );
    assert_eq!(p.db().history().len(), 2);
    p.godwit(&["down", "--to", "0"]).code(1).stderr_has("cannot revert 0002_b");
    p.godwit(&["down", "--to", "1"]).code(1);
    p.migration("0002_b.sql", "create table b (x int);", Some("drop table b;"));
    p.godwit(&["repair", "--yes"]).ok();
    p.godwit(&["down", "--to", "0"]).ok().stderr_has("Reverting 0001_a");
    p.godwit(&["validate"]).ok();
}

/// A history table from before dotted versions (no `dotted_version`) is read as it is by
/// `status` and brought up to date by the next `up`, rows kept; then dotted versions sort as
/// numbers part by part, a dotted migration may share its name with a repeatable one, and both
/// revert and reapply.
fn history_from_before_dotted_versions_is_upgraded(p: &Project) {
    let (version, at) = match p.backend {
        godwit_tests::Backend::Sqlite => ("INTEGER", "TEXT"),
        godwit_tests::Backend::Postgres => ("BIGINT", "TIMESTAMPTZ"),
    };
    p.db().execute(&format!(
        "CREATE TABLE godwit_history (version {version}, name TEXT NOT NULL, \
         kind TEXT NOT NULL, checksum TEXT NOT NULL, applied_at {at} NOT NULL, \
         execution_ms {version} NOT NULL, state TEXT NOT NULL, godwit_version TEXT NOT NULL, \
         cursor TEXT, rows_done {version} NOT NULL DEFAULT 0, stream TEXT NOT NULL DEFAULT '', \
         UNIQUE (stream, version));
         CREATE UNIQUE INDEX godwit_history_repeatable ON godwit_history (stream, name) \
         WHERE version IS NULL;"
    ));
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    p.write("migrations/R_views.sql", "-- godwit:up\ncreate view views as select 1 as one;\n");
    let checksum = |file: &str| {
        let text = std::fs::read_to_string(p.path(file)).unwrap();
        godwit::Checksum::of_text(&text)
    };
    p.db().execute(&format!(
        "CREATE TABLE a (x int); CREATE VIEW views AS SELECT 1 AS one;
         INSERT INTO godwit_history (version, name, kind, checksum, applied_at, execution_ms, \
         state, godwit_version) VALUES \
         (1, 'a', 'sql', '{}', '2026-01-01T00:00:00Z', 3, 'applied', '0.1.0'), \
         (NULL, 'views', 'sql', '{}', '2026-01-01T00:00:00Z', 3, 'applied', '0.1.0');",
        checksum("migrations/0001_a.sql"),
        checksum("migrations/R_views.sql"),
    ));
    p.migration("1.10_views.sql", "create table c (x int);", Some("drop table c;"));
    p.migration("1.2_b.sql", "create table b (x int);", Some("drop table b;"));
    p.godwit(&["status"]).ok().stdout_has("pending   1.2_b").stdout_has("pending   1.10_views");
    assert!(
        !p.db().columns("godwit_history").contains(&"dotted_version".to_owned()),
        "status changes nothing"
    );
    p.godwit(&["up"])
        .ok()
        .stderr_has("Applying 1.2_b")
        .stderr_has("Applying 1.10_views")
        .stderr_has("applied 2 migrations");
    assert!(p.db().columns("godwit_history").contains(&"dotted_version".to_owned()));
    assert_eq!(p.db().history().len(), 4);
    p.godwit(&["status", "--format", "json"]).ok().stdout_has("\"version\": \"1.10\"");
    p.godwit(&["down", "--to", "1.2"]).ok().stderr_has("Reverting 1.10_views");
    assert!(p.db().tables().contains(&"views".to_owned()), "the repeatable's row is kept");
    p.godwit(&["down", "--to", "1"]).ok().stderr_has("Reverting 1.2_b");
    p.godwit(&["up"]).ok().stderr_has("applied 2 migrations");
    p.godwit(&["validate"]).ok();
}

on_both!(
    history_from_before_packs_is_upgraded,
    history_from_before_dotted_versions_is_upgraded,
    edited_applied_migration_blocks_up_until_repaired,
    line_endings_are_not_edits,
    missing_applied_migration_blocks_up_until_repaired,
    out_of_order_needs_a_flag,
    repair_with_nothing_to_do,
    baseline_marks_an_existing_schema,
    tampered_history_is_reported,
);
