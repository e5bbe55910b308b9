//! Batched migrations: each batch commits with its cursor, progress is reported, and a run
//! killed with SIGKILL resumes where it stopped, with no row lost and none processed twice.

use godwit_tests::{Backend, Project, on_both};
use std::process::Stdio;
use std::time::{Duration, Instant};

pub(crate) fn people(p: &Project, n: usize) {
    let create = match p.backend {
        Backend::Sqlite => {
            "CREATE TABLE people (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0);"
        }
        Backend::Postgres => {
            "CREATE TABLE people (id BIGINT PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0);"
        }
    };
    let fill = match p.backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) \
             INSERT INTO people (id, full_name) SELECT i, 'First' || i || ' Last' || i FROM c;"
        ),
        Backend::Postgres => format!(
            "INSERT INTO people (id, full_name) \
             SELECT i, 'First' || i || ' Last' || i FROM generate_series(1, {n}) i;"
        ),
    };
    p.db().execute(&format!("{create}\n{fill}"));
    p.component("rust-backfill", "0001_split_names.wasm");
}

/// Makes the update of row 650 fail (`on`), or lets it succeed again.
pub(crate) fn fail_row_650(p: &Project, on: bool) {
    p.db().execute(match (p.backend, on) {
        (Backend::Sqlite, true) => {
            "CREATE TRIGGER stop BEFORE UPDATE ON people WHEN NEW.id = 650 \
             BEGIN SELECT RAISE(ABORT, 'row 650 is locked'); END;"
        }
        (Backend::Postgres, true) => {
            "CREATE FUNCTION stop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.id = 650 THEN RAISE EXCEPTION 'row 650 is locked'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER stop BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION stop();"
        }
        (Backend::Sqlite, false) => "DROP TRIGGER stop",
        (Backend::Postgres, false) => "DROP TRIGGER stop ON people",
    });
}

pub(crate) fn count(p: &Project, condition: &str) -> i64 {
    p.db()
        .scalar(&format!("SELECT CAST(count(*) AS TEXT) FROM people WHERE {condition}"))
        .parse()
        .unwrap()
}

pub(crate) fn history_progress(p: &Project) -> (String, i64) {
    if !p.db().has_history_table() {
        return ("none".into(), 0);
    }
    let rows =
        p.db().rows("SELECT state, CAST(rows_done AS TEXT) FROM godwit_history WHERE version = 1");
    rows.first().map_or(("none".into(), 0), |r| (r[0].clone(), r[1].parse().unwrap()))
}

fn backfill_processes_every_row_exactly_once(p: &Project) {
    people(p, 2500);
    p.godwit(&["up", "--batch-size", "300"])
        .ok()
        .stderr_has("Applying 0001_split_names (")
        .stderr_has(", 2,500 rows)");
    assert_eq!(count(p, "passes = 1"), 2500);
    assert_eq!(count(p, "first_name IS NULL OR last_name IS NULL"), 0);
    assert_eq!(p.db().scalar("SELECT last_name FROM people WHERE id = 7"), "Last7");
    assert_eq!(history_progress(p), ("applied".into(), 2500));
    p.godwit(&["down"]).ok();
    let columns = p.db().fingerprint();
    assert!(!columns.contains("first_name"), "{columns}");
}

fn killed_backfill_resumes_without_loss_or_double_work(p: &Project) {
    people(p, 3000);
    let mut child = p
        .command()
        .args(["up", "--batch-size", "50", "--batch-pause", "20ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let (state, done) = history_progress(p);
        if state == "in_progress" && done >= 500 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no progress: {state} {done}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (state, done) = history_progress(p);
    assert_eq!(state, "in_progress");
    assert!(done < 3000, "killed too late to test anything");
    // The data and the cursor committed together: exactly the recorded rows are done.
    assert_eq!(count(p, "passes = 1"), done);
    assert_eq!(count(p, "passes > 1"), 0);
    p.godwit(&["status"]).ok().stdout_has("running").stdout_has(&format!("{done} rows done"));
    p.godwit(&["down"])
        .code(1)
        .stderr_has("0001_split_names is a batched migration that has not finished");
    p.godwit(&["up", "--batch-size", "400"]).ok().stderr_has("Resuming 0001_split_names (");
    assert_eq!(count(p, "passes = 1"), 3000);
    assert_eq!(count(p, "passes <> 1"), 0);
    assert_eq!(history_progress(p), ("applied".into(), 3000));
}

fn failed_batch_keeps_earlier_batches_and_resumes(p: &Project) {
    people(p, 1000);
    // The update of row 650 fails, in the third batch of 300.
    fail_row_650(p, true);
    p.godwit(&["up", "--batch-size", "300"])
        .code(1)
        .stderr_has("applying 0001_split_names failed")
        .stderr_has("row 650 is locked")
        .stderr_has("the batches before it stay committed (600 rows done)")
        .stderr_has("run `godwit up` to resume");
    assert_eq!(count(p, "passes = 1"), 600);
    assert_eq!(count(p, "passes = 0"), 400);
    assert_eq!(history_progress(p), ("in_progress".into(), 600));
    fail_row_650(p, false);
    p.godwit(&["up", "--batch-size", "300"]).ok().stderr_has("Resuming 0001_split_names (");
    assert_eq!(count(p, "passes = 1"), 1000);
    assert_eq!(history_progress(p), ("applied".into(), 1000));
}

/// The set-based twin of the backfill (`bench/guests/backfill-set`, `sql::execute_set`):
/// every row once, text with quotes, backslashes and non-ASCII intact, on both databases.
fn set_based_backfill_processes_every_row_exactly_once(p: &Project) {
    people(p, 2500);
    p.db().execute("UPDATE people SET full_name = 'Émilie \"du\" Châtelet\\n' WHERE id = 7");
    let component =
        godwit_tests::build_source(&godwit_tests::root().join("bench/guests/backfill-set"));
    std::fs::copy(component, p.path("migrations/0001_split_names.wasm")).unwrap();
    p.godwit(&["up", "--batch-size", "300"]).ok().stderr_has(", 2,500 rows)");
    assert_eq!(count(p, "passes = 1"), 2500);
    assert_eq!(count(p, "first_name IS NULL OR last_name IS NULL"), 0);
    assert_eq!(p.db().scalar("SELECT last_name FROM people WHERE id = 7"), "\"du\" Châtelet\\n");
    assert_eq!(p.db().scalar("SELECT first_name FROM people WHERE id = 2500"), "First2500");
}

const SET_UPDATE: &str = "UPDATE people SET first_name = v.first_name, last_name = v.last_name, \
    passes = passes + 1 FROM {rows} AS v WHERE people.id = v.id";
const SET_COLUMNS: &str = "[\"first_name text\", \"last_name text\", \"id bigint\"]";

/// The Python and JavaScript backfills with their updates set-based (`execute_set`,
/// `executeSet`): every row once, text intact.
fn set_based_backfill_in_python_and_javascript(p: &Project) {
    let per_row =
        "\"UPDATE people SET first_name = $1, last_name = $2, passes = passes + 1 WHERE id = $3\",";
    let python = super::options::variant("python-backfill", "migration.py", |text| {
        text.replace("godwit.execute_many(", "godwit.execute_set(")
            .replace(per_row, &format!("\"{SET_UPDATE}\",\n            {SET_COLUMNS},"))
    });
    let js = super::options::variant("js-backfill", "migration.js", |text| {
        text.replace("executeMany(\n", "executeSet(\n")
            .replace("executeMany, query", "executeMany, executeSet, query")
            .replace(per_row, &format!("\"{SET_UPDATE}\",\n      {SET_COLUMNS},"))
    });
    people(p, 700);
    p.db().execute("UPDATE people SET full_name = 'Émilie \"du\" Châtelet\\n' WHERE id = 7");
    for component in [python, js] {
        std::fs::copy(&component, p.path("migrations/0001_split_names.wasm")).unwrap();
        p.godwit_shared_cache(&["up", "--batch-size", "300"]).ok().stderr_has(", 700 rows)");
        assert_eq!(count(p, "passes = 1"), 700);
        assert_eq!(
            p.db().scalar("SELECT last_name FROM people WHERE id = 7"),
            "\"du\" Châtelet\\n"
        );
        assert_eq!(p.db().scalar("SELECT first_name FROM people WHERE id = 700"), "First700");
        p.godwit_shared_cache(&["down"]).ok();
        p.db().execute("UPDATE people SET passes = 0");
    }
}

on_both!(
    set_based_backfill_processes_every_row_exactly_once,
    set_based_backfill_in_python_and_javascript,
    failed_batch_keeps_earlier_batches_and_resumes,
    backfill_processes_every_row_exactly_once,
    killed_backfill_resumes_without_loss_or_double_work
);
