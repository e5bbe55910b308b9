//! Many `godwit up` processes at once against one database: every migration is applied
//! exactly once, and every process exits successfully.

use godwit_tests::{Backend, Project, on_both};
use std::process::Stdio;

const RUNNERS: usize = 8;
const MIGRATIONS: usize = 6;

fn eight_runners_apply_each_migration_exactly_once(p: &Project) {
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
    assert!(holder.try_lock().unwrap());
    p.godwit(&["up", "--lock-timeout", "300ms"])
        .code(1)
        .stderr_has("Waiting for another godwit to release the migration lock")
        .stderr_has("another godwit still holds the migration lock")
        .stderr_has("--lock-timeout");
    assert!(p.db().tables().is_empty());
    holder.unlock().unwrap();
    p.godwit(&["up"]).ok();
}

on_both!(
    eight_runners_apply_each_migration_exactly_once,
    lock_timeout_fails_clearly_and_changes_nothing
);
