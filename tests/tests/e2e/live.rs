//! Batched migrations on a table others use: batches that time out on a row another session
//! holds are rolled back, shrunk and retried; a transform holds off while the user's probe
//! says so; the progress line keeps the estimate and says rows/s.

use super::backfill::{count, history_progress, people};
use godwit_tests::{Backend, Project, on_both};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `godwit up` with `args` in the background, its output kept.
fn spawn_up(p: &Project, args: &[&str]) -> Child {
    p.command().arg("up").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Waits until the transform has committed a batch or more (its `up` is done).
fn wait_for_batches(p: &Project) {
    let started = Instant::now();
    while history_progress(p).0 != "in_progress" {
        assert!(started.elapsed() < Duration::from_secs(60), "no batch committed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A session of the application's that locks the row `id` until it is dropped.
fn lock_row(p: &Project, id: i64) -> ::postgres::Client {
    let mut client = ::postgres::Client::connect(&p.url, ::postgres::NoTls).unwrap();
    client.batch_execute("BEGIN").unwrap();
    client.query("SELECT id FROM people WHERE id = $1 FOR UPDATE", &[&id]).unwrap();
    client
}

fn finished(child: Child) -> godwit_tests::Run {
    godwit_tests::Run::from(child.wait_with_output().unwrap())
}

#[test]
fn postgres_locked_row_times_batches_out_and_they_shrink_retry_and_finish() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    people(&p, 2000);
    let child = spawn_up(
        &p,
        &["--batch-size", "400", "--batch-pause", "200ms", "--batch-lock-timeout", "200ms"],
    );
    wait_for_batches(&p);
    let holder = lock_row(&p, 1990);
    std::thread::sleep(Duration::from_millis(1500));
    drop(holder); // the application commits
    let run = finished(child);
    run.ok()
        .stderr_has("Retrying 0001_split_names: the batch was rolled back (")
        .stderr_has("lock timeout")
        .stderr_has("with 200 rows")
        .stderr_has(", 2,000 rows)");
    assert_eq!(count(&p, "passes = 1"), 2000);
    assert_eq!(history_progress(&p), ("applied".into(), 2000));
}

#[test]
fn postgres_batch_that_keeps_timing_out_fails_resumable() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    people(&p, 2000);
    let child = spawn_up(
        &p,
        &[
            "--batch-size",
            "100",
            "--batch-pause",
            "50ms",
            "--batch-lock-timeout",
            "100ms",
            "--batch-retries",
            "2",
        ],
    );
    wait_for_batches(&p);
    let holder = lock_row(&p, 1990);
    let run = finished(child);
    drop(holder);
    run.code(1).stderr_has("lock timeout").stderr_has("run `godwit up` to resume");
    let (state, done) = history_progress(&p);
    assert_eq!(state, "in_progress");
    assert_eq!(count(&p, "passes = 1"), done, "the rolled-back batches left no row behind");
    p.godwit(&["up"]).ok().stderr_has("Resuming 0001_split_names (");
    assert_eq!(count(&p, "passes = 1"), 2000);
}

/// Waits until rows done stay put for `window`: the transform holds off (within 20 s: the
/// primary measures a delayed replica's lag only once it replays again).
fn held_off(p: &Project, window: Duration) {
    let started = Instant::now();
    let mut last = history_progress(p).1;
    loop {
        std::thread::sleep(window);
        let now = history_progress(p).1;
        if now == last {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never held off ({now} rows)");
        last = now;
    }
}

#[test]
fn postgres_replica_stopped_or_delayed_holds_the_transform_off_until_it_catches_up() {
    // A primary and a replica of the test's own, from the server the PostgreSQL tests run
    // on (15, then 18 in the second pass).
    let Some(pair) = godwit_tests::replica::Pair::for_test() else { return };
    let p = Project::on_postgres(&pair.primary_url);
    people(&p, 10_000);
    let args = ["--batch-size", "100", "--batch-pause", "50ms", "--max-replica-lag", "1s"];
    let child = spawn_up(&p, &args);
    wait_for_batches(&p);
    pair.stop_replica().unwrap();
    held_off(&p, Duration::from_secs(2));
    pair.start_replica().unwrap();
    // Then a replica that replays 3 s behind: held off while its lag is over 1 s.
    let (_, before_delay) = history_progress(&p);
    pair.delay_replica(Duration::from_secs(3)).unwrap();
    let started = Instant::now();
    while history_progress(&p).1 < before_delay + 300 {
        assert!(started.elapsed() < Duration::from_secs(30), "no progress after the restart");
        std::thread::sleep(Duration::from_millis(20));
    }
    held_off(&p, Duration::from_secs(2));
    pair.delay_replica(Duration::ZERO).unwrap();
    finished(child)
        .ok()
        .stderr_has("Throttled 0001_split_names: replica replica1 at 127.0.0.1 stopped streaming")
        .stderr_has("Throttled 0001_split_names: replica replica1 at 127.0.0.1 is ")
        .stderr_has("behind (max 1s)")
        .stderr_has(", 10,000 rows)");
    assert_eq!(count(&p, "passes = 1"), 10_000);
}

fn a_probe_holds_the_transform_off_until_it_says_go(p: &Project) {
    people(p, 500);
    p.db().execute("CREATE TABLE hold (busy INTEGER); INSERT INTO hold VALUES (1);");
    let probe = "SELECT count(*) > 0 FROM hold WHERE busy = 1";
    let child = spawn_up(p, &["--batch-size", "100", "--throttle-when", probe]);
    wait_for_batches(p);
    std::thread::sleep(Duration::from_millis(800));
    let (_, done) = history_progress(p);
    assert!(done <= 100, "{done} rows done while held off");
    p.db().execute("UPDATE hold SET busy = 0");
    finished(child)
        .ok()
        .stderr_has("Throttled 0001_split_names: the throttle probe returned true; holding off")
        .stderr_has(", 500 rows)");
    assert_eq!(count(p, "passes = 1"), 500);
}

fn progress_keeps_the_estimate_and_says_rows_per_second(p: &Project) {
    people(p, 1200);
    p.godwit(&["up", "--batch-size", "100"])
        .ok()
        .stderr_has("Progress 0001_split_names: 100 of about 1,200 rows, ")
        .stderr_has(" rows/s, batch 100, ETA ");
}

/// Collects the size of every committed batch.
struct Sizes(Vec<u32>);

impl godwit::Reporter for Sizes {
    fn report(&mut self, event: godwit::Event<'_>) {
        if let godwit::Event::BatchCommitted { batch_size, .. } = event {
            self.0.push(batch_size);
        }
    }
}

fn an_adaptive_run_grows_its_batches(p: &Project) {
    people(p, 5000);
    let policy = godwit::transforms::BatchPolicy::adaptive(Duration::from_secs(2)).starting_at(100);
    let migrator = godwit::Migrator::load(p.path("migrations")).unwrap().with_batch_policy(policy);
    let mut db = godwit::connect(&p.url, &godwit::ConnectOptions::default()).unwrap();
    let mut sizes = Sizes(Vec::new());
    migrator.run(&mut db, &godwit::Request::up(), &mut sizes).unwrap();
    // Batches of 100 rows take milliseconds, far from 2 s: each batch doubles the next.
    assert_eq!(sizes.0[..4], [100, 200, 400, 800], "{:?}", sizes.0);
    assert!(sizes.0.len() <= 7, "{:?}", sizes.0);
    assert_eq!(count(p, "passes = 1"), 5000);
}

fn bad_batch_flags_are_refused_before_anything_runs(p: &Project) {
    people(p, 10);
    let before = p.db().fingerprint();
    p.godwit(&["up", "--batch-min", "500", "--batch-max", "100"])
        .code(2)
        .stderr_has("--batch-min 500 and --batch-max 100 leave no batch size");
    p.godwit(&["up", "--batch-target", "0s"]).code(2).stderr_has("--batch-target must be longer");
    p.godwit(&["up", "--batch-size", "10", "--batch-target", "1s", "--batch-min", "100"])
        .code(2)
        .stderr_has("--batch-size 10 is outside --batch-min 100 .. --batch-max 100000");
    assert_eq!(p.db().fingerprint(), before);
}

on_both!(
    a_probe_holds_the_transform_off_until_it_says_go,
    progress_keeps_the_estimate_and_says_rows_per_second,
    an_adaptive_run_grows_its_batches,
    bad_batch_flags_are_refused_before_anything_runs
);
