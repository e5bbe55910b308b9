//! Transforms run apart from the deploy: `up --defer-transforms` applies `up` and queues the
//! batches; `godwit transforms run` is the worker; pause, resume, cancel and retry work from
//! another process at batch boundaries; a failing transform is marked failed, not the deploy;
//! deploys are not blocked by a running worker, and two workers never run one transform.

use super::backfill::{count, fail_row_650, history_progress, people};
use godwit_tests::{Project, Run, on_both};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn worker(p: &Project, args: &[&str]) -> Child {
    p.command()
        .args(["transforms", "run"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn rows_reach(p: &Project, rows: i64) {
    let started = Instant::now();
    while history_progress(p).1 < rows {
        assert!(started.elapsed() < Duration::from_secs(60), "the worker made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn deferred_transforms_run_in_the_worker_not_the_deploy(p: &Project) {
    people(p, 1000);
    p.godwit(&["up", "--defer-transforms"])
        .ok()
        .stderr_has("Queued 0001_split_names (up in ")
        .stderr_has("its transform waits for `godwit transforms run`");
    assert_eq!(count(p, "passes = 0"), 1000, "the deploy ran batches");
    assert!(p.db().columns("people").contains(&"first_name".to_owned()));
    p.godwit(&["transforms", "status"]).ok().stdout_has("queued").stdout_has("0001_split_names");
    p.godwit(&["status"]).ok().stdout_has("queued ").stdout_has("running");
    // A later deploy applies new migrations and leaves the queued transform to the worker.
    p.migration("0002_more.sql", "CREATE TABLE more (x INTEGER);", None);
    p.godwit(&["up"]).ok().stderr_has("Applying 0002_more");
    assert_eq!(count(p, "passes = 0"), 1000);
    p.godwit(&["transforms", "run", "--parallel", "2", "--batch-size", "100"])
        .ok()
        .stderr_has("Resuming 0001_split_names (")
        .stderr_has("Finished ran 1 transform to the end");
    assert_eq!(count(p, "passes = 1"), 1000);
    assert_eq!(history_progress(p), ("applied".into(), 1000));
    let json = p.godwit(&["transforms", "status", "--format", "json"]);
    json.ok().stdout_has("\"state\": \"done\"").stdout_has("\"rows_done\": 1000");
    p.godwit(&["transforms", "run"]).ok().stderr_has("no transform is queued");
}

fn pause_resume_and_cancel_act_at_batch_boundaries_from_another_process(p: &Project) {
    people(p, 3000);
    p.godwit(&["up", "--defer-transforms"]).ok();
    let running = worker(p, &["--batch-size", "50", "--batch-pause", "30ms"]);
    rows_reach(p, 200);
    // The worker holds no migration lock: a deploy goes on meanwhile.
    p.migration("0002_more.sql", "CREATE TABLE more (x INTEGER);", None);
    p.godwit(&["up", "--lock-timeout", "5s"]).ok().stderr_has("Applying 0002_more");
    p.godwit(&["transforms", "pause", "1"]).ok().stderr_has("Paused 0001_split_names");
    let out = Run::from(running.wait_with_output().unwrap());
    out.ok().stderr_has("Stopped 0001_split_names: paused from elsewhere");
    let (_, paused_at) = history_progress(p);
    assert!(paused_at < 3000, "finished before the pause");
    assert_eq!(count(p, "passes = 1"), paused_at);
    p.godwit(&["transforms", "status"]).ok().stdout_has("paused");
    p.godwit(&["transforms", "run"]).ok().stderr_has("no transform is queued");
    assert_eq!(history_progress(p).1, paused_at, "a paused transform ran");
    p.godwit(&["transforms", "retry", "0001_split_names"])
        .code(1)
        .stderr_has("cannot retry 0001_split_names: its transform is paused");
    p.godwit(&["transforms", "resume", "0001_split_names"]).ok();
    let running = worker(p, &["--batch-size", "50", "--batch-pause", "30ms"]);
    rows_reach(p, paused_at + 200);
    p.godwit(&["transforms", "cancel", "1"]).ok().stderr_has("Cancelled 0001_split_names");
    Run::from(running.wait_with_output().unwrap())
        .ok()
        .stderr_has("Stopped 0001_split_names: cancelled from elsewhere");
    p.godwit(&["transforms", "retry", "1"]).ok();
    p.godwit(&["transforms", "run", "--batch-size", "500"]).ok();
    assert_eq!(count(p, "passes = 1"), 3000, "every row exactly once");
    assert_eq!(history_progress(p), ("applied".into(), 3000));
}

fn a_failing_transform_is_marked_failed_and_the_deploy_succeeds(p: &Project) {
    people(p, 1000);
    fail_row_650(p, true);
    p.migration("0002_more.sql", "CREATE TABLE more (x INTEGER);", None);
    p.godwit(&["up", "--defer-transforms"]).ok().stderr_has("Applying 0002_more");
    p.godwit(&["transforms", "run", "--batch-size", "300"])
        .code(1)
        .stderr_has("Failed 0001_split_names: ")
        .stderr_has("row 650 is locked")
        .stderr_has("1 transform failed");
    assert_eq!(count(p, "passes = 1"), 600);
    p.godwit(&["transforms", "status"]).ok().stdout_has("failed").stdout_has("row 650 is locked");
    fail_row_650(p, false);
    p.godwit(&["transforms", "retry", "1"]).ok();
    p.godwit(&["transforms", "run", "--batch-size", "300"]).ok();
    assert_eq!(count(p, "passes = 1"), 1000);
}

fn two_workers_never_run_one_transform_and_a_killed_one_is_taken_over(p: &Project) {
    people(p, 2000);
    p.godwit(&["up", "--defer-transforms"]).ok();
    let args = ["--batch-size", "50", "--batch-pause", "20ms"];
    let mut first = worker(p, &args);
    rows_reach(p, 100);
    let second = worker(p, &args);
    let second = Run::from(second.wait_with_output().unwrap());
    second.ok().stderr_has("no transform is queued");
    first.kill().unwrap(); // SIGKILL: its row still says running, its lock is gone
    first.wait().unwrap();
    let (_, done) = history_progress(p);
    assert_eq!(count(p, "passes = 1"), done);
    p.godwit(&["transforms", "run", "--batch-size", "500"]).ok().stderr_has("Resuming");
    assert_eq!(count(p, "passes = 1"), 2000);
    assert_eq!(count(p, "passes <> 1"), 0);
}

const DROP_OLD: &str =
    "-- godwit:requires 0001\n-- godwit:up\nALTER TABLE people DROP COLUMN full_name;\n";

fn a_migration_that_requires_a_queued_transform_finishes_it_first(p: &Project) {
    people(p, 1000);
    p.godwit(&["up", "--defer-transforms"]).ok();
    p.write("migrations/0002_drop_full_name.sql", DROP_OLD);
    let before = p.db().fingerprint();
    p.godwit(&["up", "--no-wait"])
        .code(1)
        .stderr_has("0002_drop_full_name needs the transform of 0001_split_names finished first, and it is queued")
        .stderr_has("let `godwit transforms run` finish 0001_split_names");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["transforms", "pause", "1"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["up"])
        .code(1)
        .stderr_has("and it is paused")
        .stderr_has("godwit transforms resume 0001_split_names");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["transforms", "resume", "1"]).ok();
    p.godwit(&["up", "--batch-size", "300"])
        .ok()
        .stderr_has("Resuming 0001_split_names (")
        .stderr_has("Applying 0002_drop_full_name");
    assert_eq!(count(p, "passes = 1"), 1000);
    assert!(!p.db().columns("people").contains(&"full_name".to_owned()));
    p.godwit(&["transforms", "status"]).ok().stdout_has("done");
}

fn a_transform_a_pending_migration_requires_is_not_deferred(p: &Project) {
    people(p, 500);
    p.write("migrations/0002_drop_full_name.sql", DROP_OLD);
    p.godwit(&["up", "--defer-transforms"])
        .ok()
        .stderr_has("Applying 0001_split_names (")
        .stderr_has("Applying 0002_drop_full_name");
    assert_eq!(count(p, "passes = 1"), 500);
}

/// A transform a worker owns is reverted by `down` once it has stopped (paused, failed or
/// cancelled): the migration's down undoes what its batches did, the transform's row goes
/// with the history row, and `up` can apply it again. One still queued is refused, with the
/// commands that stop it.
fn a_stopped_transform_is_reverted_by_down_and_dropped(p: &Project) {
    people(p, 3000);
    let first_name = |p: &Project| p.db().columns("people").contains(&"first_name".to_owned());
    p.godwit(&["up", "--defer-transforms"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["down"])
        .code(1)
        .stderr_has("0001_split_names cannot be reverted while its transform is queued")
        .stderr_has("`godwit transforms cancel 0001_split_names`");
    assert_eq!(p.db().fingerprint(), before, "a refused down changed the database");
    // Paused before a worker took it.
    p.godwit(&["transforms", "pause", "1"]).ok();
    p.godwit(&["down"])
        .ok()
        .stderr_has("Reverting 0001_split_names")
        .stderr_has("Dropped 0001_split_names's paused transform");
    assert!(!first_name(p), "the down did not run");
    assert_eq!(history_progress(p).0, "none");
    p.godwit(&["transforms", "status"]).ok().stderr_has("no transform is queued");
    // Failed in a worker.
    fail_row_650(p, true);
    p.godwit(&["up", "--defer-transforms"]).ok();
    p.godwit(&["transforms", "run", "--batch-size", "300"]).code(1);
    p.godwit(&["down"]).ok().stderr_has("Dropped 0001_split_names's failed transform");
    assert!(!first_name(p));
    fail_row_650(p, false);
    // Cancelled while a worker ran it.
    p.godwit(&["up", "--defer-transforms"]).ok();
    let running = worker(p, &["--batch-size", "50", "--batch-pause", "30ms"]);
    rows_reach(p, 200);
    p.godwit(&["transforms", "cancel", "1"]).ok();
    Run::from(running.wait_with_output().unwrap()).ok();
    p.godwit(&["down"]).ok().stderr_has("Dropped 0001_split_names's cancelled transform");
    assert!(!first_name(p));
    assert_eq!(history_progress(p).0, "none");
    // Nothing of it is left: `up` applies it again and runs it to the end.
    p.godwit(&["up"]).ok().stderr_has("Applying 0001_split_names (");
    assert_eq!(history_progress(p), ("applied".into(), 3000));
    assert_eq!(count(p, "first_name IS NULL"), 0);
}

on_both!(
    a_migration_that_requires_a_queued_transform_finishes_it_first,
    a_transform_a_pending_migration_requires_is_not_deferred,
    deferred_transforms_run_in_the_worker_not_the_deploy,
    pause_resume_and_cancel_act_at_batch_boundaries_from_another_process,
    a_failing_transform_is_marked_failed_and_the_deploy_succeeds,
    two_workers_never_run_one_transform_and_a_killed_one_is_taken_over,
    a_stopped_transform_is_reverted_by_down_and_dropped
);
