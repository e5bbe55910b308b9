//! `cargo run --release -p godwit-bench --bin backfill [-- ROWS]`: the batched backfill of
//! `guest-examples/rust-backfill` (split `people.full_name` into first and last names) on a
//! SQLite file of ROWS rows (1,000,000 by default), three ways in one run:
//!
//! - the guest through the real `godwit up --batch-size 10000` (a whole process, component
//!   loaded from the compile cache, each batch its own transaction);
//! - the same loop written natively in Rust against rusqlite, in-process, same batches;
//! - one set-based `UPDATE`, the floor.
//!
//! Also the cached load + instantiate + describe of a component through the library, and the
//! peak RSS of the godwit process at ROWS and at ROWS / 10 (flat means it does not grow with the
//! table). Each way runs three times, interleaved; the table shows medians and their ratios.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::median;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BATCH: i64 = 10_000;
const ROUNDS: usize = 3;

fn main() {
    let rows: i64 = std::env::args().nth(1).map_or(1_000_000, |a| a.parse().expect("ROWS"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .args(["build", "--quiet", "--release", "-p", "godwit-cli", "--bin", "godwit"])
        .status()
        .unwrap();
    assert!(built.success());
    let built = Command::new(&cargo)
        .args(["build", "--quiet", "--profile", "guest", "--target", "wasm32-wasip2", "-p"])
        .arg("guest-rust-backfill")
        .status()
        .unwrap();
    assert!(built.success());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let godwit = target.join("release/godwit");
    let component = target.join("wasm32-wasip2/guest/guest_rust_backfill.wasm");
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");

    let load = cached_load(&component, work.path());
    let (_, rss_small) = guest_run(&godwit, &component, work.path(), &cache, rows / 10);
    // Three rounds, the three ways interleaved so that a busy moment of the machine does not
    // fall on one of them only; the median of each.
    let (mut guests, mut natives, mut updates, mut rss) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..ROUNDS {
        let (time, peak) = guest_run(&godwit, &component, work.path(), &cache, rows);
        guests.push(time);
        rss = rss.max(peak);
        natives.push(native_run(work.path(), rows));
        updates.push(set_based(work.path(), rows));
    }
    let (guest, native, update) = (median(guests), median(natives), median(updates));

    println!(
        "| {rows} rows, SQLite file, batches of {BATCH}, median of {ROUNDS} | time | vs native loop | vs one UPDATE |"
    );
    println!("|---|---|---|---|");
    let row = |name: &str, d: Duration| {
        println!(
            "| {name} | {:.2} s | {:.2} | {:.2} |",
            d.as_secs_f64(),
            d.as_secs_f64() / native.as_secs_f64(),
            d.as_secs_f64() / update.as_secs_f64()
        );
    };
    row("wasm guest through `godwit up` (whole process)", guest);
    row("native Rust loop over rusqlite (in-process)", native);
    row("one set-based `UPDATE`", update);
    println!(
        "\nthroughput of the guest relative to the native loop: {:.2}x",
        native.as_secs_f64() / guest.as_secs_f64()
    );
    println!(
        "peak RSS of `godwit up`: {rss} KiB at {rows} rows, {rss_small} KiB at {} rows ({:.2}x)",
        rows / 10,
        rss as f64 / rss_small as f64
    );
    println!(
        "cached load + instantiate + describe of the component: {:.2} ms",
        load.as_secs_f64() * 1e3
    );
}

fn people(path: &Path, rows: i64) {
    let _ = std::fs::remove_file(path);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
         INSERT INTO people (id, full_name) SELECT i, 'First' || i || ' Last' || i FROM c;"
    ))
    .unwrap();
}

/// The median of five loads of the component through the library, from a warm cache.
fn cached_load(component: &Path, work: &Path) -> Duration {
    let dir = work.join("load");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(component, dir.join("0001_split.wasm")).unwrap();
    let mut times = Vec::new();
    for _ in 0..6 {
        let started = Instant::now();
        let migrator = godwit::Migrator::load(&dir).unwrap();
        times.push(started.elapsed());
        assert_eq!(migrator.migrations().len(), 1);
    }
    times.remove(0); // the first run fills the cache
    times.sort();
    times[times.len() / 2]
}

fn guest_run(
    godwit: &Path,
    component: &Path,
    work: &Path,
    cache: &Path,
    rows: i64,
) -> (Duration, u64) {
    let dir = work.join("guest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::copy(component, dir.join("migrations/0001_split.wasm")).unwrap();
    people(&dir.join("bench.db"), rows);
    // Warm the compile cache, as a second run would find it.
    let status = Command::new(godwit)
        .current_dir(&dir)
        .env("XDG_CACHE_HOME", cache)
        .args(["-q", "--database", "sqlite:bench.db", "status"])
        .output()
        .unwrap();
    assert!(status.status.success());
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(godwit)
        .current_dir(&dir)
        .env("XDG_CACHE_HOME", cache)
        .args(["-q", "--database", "sqlite:bench.db", "up", "--batch-size", &BATCH.to_string()])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let rss = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    (elapsed, rss)
}

fn native_run(work: &Path, rows: i64) -> Duration {
    let path = work.join("native.db");
    people(&path, rows);
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("ALTER TABLE people ADD COLUMN first_name TEXT; ALTER TABLE people ADD COLUMN last_name TEXT;")
        .unwrap();
    let started = Instant::now();
    let mut after = i64::MIN;
    loop {
        let tx = conn.transaction().unwrap();
        let batch: Vec<(i64, String)> = {
            let mut select = tx
                .prepare_cached(
                    "SELECT id, full_name FROM people WHERE id > ?1 ORDER BY id LIMIT ?2",
                )
                .unwrap();
            select
                .query_map(rusqlite::params![after, BATCH], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE people SET first_name = ?1, last_name = ?2, passes = passes + 1 WHERE id = ?3",
                )
                .unwrap();
            for (id, full) in &batch {
                let (first, last) = full.split_once(' ').unwrap_or((full, ""));
                update.execute(rusqlite::params![first, last, id]).unwrap();
            }
        }
        tx.commit().unwrap();
        match batch.last() {
            Some((id, _)) if batch.len() as i64 == BATCH => after = *id,
            _ => break,
        }
    }
    started.elapsed()
}

fn set_based(work: &Path, rows: i64) -> Duration {
    let path = work.join("update.db");
    people(&path, rows);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("ALTER TABLE people ADD COLUMN first_name TEXT; ALTER TABLE people ADD COLUMN last_name TEXT;")
        .unwrap();
    let started = Instant::now();
    conn.execute_batch(
        "UPDATE people SET first_name = substr(full_name, 1, instr(full_name, ' ') - 1), \
         last_name = substr(full_name, instr(full_name, ' ') + 1), passes = passes + 1",
    )
    .unwrap();
    started.elapsed()
}
