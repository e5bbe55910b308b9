//! Many `godwit` processes at once against one database: every migration is applied exactly
//! once, `up` racing `down` leaves a consistent state, and a runner killed while it holds the
//! lock does not block the next one.

use godwit_tests::{Backend, Project, on_both};
use std::process::Stdio;

const RUNNERS: usize = 16;
const MIGRATIONS: usize = 6;

fn sixteen_runners_apply_each_migration_exactly_once(p: &Project) {
    // Each migration takes a moment and logs itself, so double application would show.
    let slow = match p.backend {
        Backend::Sqlite => {
            "with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) select count(*) from c;"
        }
        Backend::Postgres => "select pg_sleep(0.1);",
    };
    p.migration("0001_log.sql", "create table applied_log (name text);", None);
    for i in 2..=MIGRATIONS {
        p.migration(
            &format!("{i:04}_m.sql"),
            &format!("{slow}\ninsert into applied_log values ('{i}');"),
            None,
        );
    }
    let children: Vec<_> = (0..RUNNERS)
        .map(|_| {
            p.command()
                .args(["up", "--lock-timeout", "120s"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut waited = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        if stderr.contains("Waiting for another godwit") {
            waited += 1;
        }
    }
    assert!(waited > 0, "some runner must have waited for the lock");
    let history = p.db().history();
    assert_eq!(history.len(), MIGRATIONS);
    assert_eq!(
        p.db().scalar("SELECT CAST(count(*) AS TEXT) FROM applied_log"),
        (MIGRATIONS - 1).to_string()
    );
    assert_eq!(
        p.db().scalar("SELECT CAST(count(DISTINCT name) AS TEXT) FROM applied_log"),
        (MIGRATIONS - 1).to_string()
    );
}

fn lock_timeout_fails_clearly_and_changes_nothing(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    let mut holder = godwit::connect(&p.url, &godwit::ConnectOptions::default()).unwrap();
    assert!(holder.driver().unwrap().try_lock().unwrap());
    p.godwit(&["up", "--lock-timeout", "300ms"])
        .code(1)
        .stderr_has("Waiting for another godwit to release the migration lock")
        .stderr_has("another godwit still holds the migration lock")
        .stderr_has("--lock-timeout");
    assert!(p.db().tables().is_empty());
    holder.driver().unwrap().unlock().unwrap();
    p.godwit(&["up"]).ok();
}

/// `up` and `down` racing: every process succeeds, and the end state is consistent: the
/// history holds versions 1..=k with no gap, and exactly their tables exist.
fn down_racing_up_leaves_a_consistent_state(p: &Project) {
    for i in 1..=MIGRATIONS {
        p.migration(
            &format!("{i:04}_t.sql"),
            &format!("create table t{i} (x int);"),
            Some(&format!("drop table t{i};")),
        );
    }
    p.godwit(&["up"]).ok();
    let children: Vec<_> = (0..RUNNERS)
        .map(|i| {
            let args: &[&str] = match i % 2 {
                0 => &["up", "--lock-timeout", "120s"],
                _ => &["down", "--steps", "2", "--lock-timeout", "120s"],
            };
            p.command().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let versions: Vec<i64> = p.db().history().iter().filter_map(|row| row.version).collect();
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>(), "no gap in the history");
    let tables: Vec<String> = (1..=versions.len()).map(|i| format!("t{i}")).collect();
    let mut found = p.db().tables();
    found.sort_by_key(|t| t[1..].parse::<usize>().unwrap_or(0));
    assert_eq!(found, tables, "the tables are those of the applied migrations");
}

/// A runner killed while it holds the lock (in the middle of a long statement) does not block
/// the next one: SQLite's lock dies with the process, PostgreSQL's with the session, which
/// the server ends within a second of the client's death.
fn killed_lock_holder_does_not_block_the_next_runner(p: &Project) {
    // Slow only while the marker says so, so that the second run is quick.
    let slow = match p.backend {
        Backend::Sqlite => {
            "with recursive c(x) as (select 1 union all select x + 1 from c where x < (select n from slow_marker)) select count(*) from c;"
        }
        Backend::Postgres => "select pg_sleep((select n from slow_marker) / 1000000.0);",
    };
    p.db()
        .execute("create table slow_marker (n bigint); insert into slow_marker values (30000000);");
    p.migration(
        "0001_slow.sql",
        &format!(
            "{slow}
create table done (x int);"
        ),
        None,
    );
    let mut child =
        p.command().arg("up").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Wait until it holds the lock: a dry run (which changes nothing) then gives up at once.
    let started = std::time::Instant::now();
    loop {
        let probe = p.godwit(&["up", "--dry-run", "--lock-timeout", "100ms"]);
        if probe.code == 1 && probe.stderr.contains("still holds the migration lock") {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "the first runner never took the lock: {}",
            probe.stderr
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    p.db().execute("update slow_marker set n = 1;");
    let started = std::time::Instant::now();
    p.godwit(&["up", "--lock-timeout", "20s"]).ok().stderr_has("Applying 0001_slow");
    let waited = started.elapsed();
    assert!(waited.as_secs() < 10, "the next runner waited {waited:?}");
    assert!(p.db().tables().contains(&"done".to_owned()));
}

on_both!(
    sixteen_runners_apply_each_migration_exactly_once,
    lock_timeout_fails_clearly_and_changes_nothing,
    down_racing_up_leaves_a_consistent_state,
    killed_lock_holder_does_not_block_the_next_runner,
);
