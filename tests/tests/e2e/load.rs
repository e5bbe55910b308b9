//! The short form of the live-load benchmark (`bench/src/bin/live.rs`): an application reads
//! and updates random rows of the table at a steady pace while `godwit up` backfills it in
//! adaptive batches. Latencies are the benchmark's business; here every application
//! transaction must succeed, none of its updates may be lost, the two must really overlap,
//! and the backfill must process every row exactly once.

use super::backfill::{count, people};
use godwit_tests::{Backend, Project};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the application did: transactions committed, and those committed while the backfill
/// ran.
struct Application {
    committed: u64,
    during: u64,
}

/// Reads a random row and increments its `app_hits`, one transaction every 2 ms, until told
/// to stop; any error fails the test.
fn application(
    url: &str,
    rows: i64,
    stop: Arc<AtomicBool>,
    window: Arc<AtomicBool>,
) -> Application {
    let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let (mut committed, mut during, mut seed) = (0, 0, 0x9e37_79b9_7f4a_7c15_u64);
    while !stop.load(Ordering::SeqCst) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = 1 + i64::try_from(seed % u64::try_from(rows).unwrap()).unwrap();
        let mut tx = client.transaction().unwrap();
        tx.query_one("SELECT full_name FROM people WHERE id = $1", &[&id]).unwrap();
        tx.execute("UPDATE people SET app_hits = app_hits + 1 WHERE id = $1", &[&id]).unwrap();
        tx.commit().unwrap();
        committed += 1;
        if window.load(Ordering::SeqCst) {
            during += 1;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Application { committed, during }
}

#[test]
fn postgres_backfill_under_application_load_loses_no_update() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    let rows = 20_000;
    people(&p, rows as usize);
    p.db().execute("ALTER TABLE people ADD COLUMN app_hits INTEGER NOT NULL DEFAULT 0");
    let (stop, window) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let app = {
        let (url, stop, window) = (p.url.clone(), stop.clone(), window.clone());
        std::thread::spawn(move || application(&url, rows, stop, window))
    };
    std::thread::sleep(Duration::from_millis(300));
    window.store(true, Ordering::SeqCst);
    let started = Instant::now();
    // Adaptive batches, kept small and paused so that the backfill lasts a few seconds.
    let run = p.godwit(&["up", "--batch-max", "1000", "--batch-pause", "20ms"]);
    window.store(false, Ordering::SeqCst);
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let app = app.join().expect("an application transaction failed");
    run.ok().stderr_has(", 20,000 rows)");
    assert_eq!(count(&p, "passes = 1"), rows, "a row was missed or processed twice");
    let hits: i64 =
        p.db().scalar("SELECT CAST(sum(app_hits) AS TEXT) FROM people").parse().unwrap();
    assert_eq!(hits, i64::try_from(app.committed).unwrap(), "an application update was lost");
    eprintln!(
        "application: {} transactions, {} during the {took:?} backfill",
        app.committed, app.during
    );
    // The application's pace is a transaction every 2-3 ms; held up by the backfill's locks
    // it would commit a handful. An eighth of its pace shows that it went on throughout.
    let floor = (took.as_secs_f64() * 40.0) as u64;
    assert!(
        app.during >= floor.max(20),
        "the application committed {} transactions during the {took:?} backfill (floor {floor})",
        app.during
    );
}
