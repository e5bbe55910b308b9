//! `cargo run --release -p godwit-bench --bin languages [-- ROWS]`: the same batched backfill
//! (split `people.full_name`, see `guest-examples/*-backfill`) written in Rust, Python,
//! JavaScript and C, each through the real `godwit up --batch-size 10000` on a SQLite file of ROWS
//! rows (100,000 by default), the component loaded from a warm compile cache. Three rounds,
//! interleaved; prints a Markdown table of medians and their ratios to Rust.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;

fn main() {
    let rows: i64 = std::env::args().nth(1).map_or(100_000, |a| a.parse().expect("ROWS"));
    let godwit = godwit_tests::godwit_bin();
    let guests: [(&str, PathBuf); 4] = [
        ("Rust (godwit-sdk)", godwit_tests::guest("rust-backfill")),
        ("Python (componentize-py)", godwit_tests::source_guest("python-backfill")),
        ("JavaScript (componentize-qjs)", godwit_tests::source_guest("js-backfill")),
        ("C (clang 19, godwit.h)", godwit_tests::source_guest("c-backfill")),
    ];
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let mut times = vec![Vec::new(); guests.len()];
    for _ in 0..ROUNDS {
        for (i, (_, component)) in guests.iter().enumerate() {
            times[i].push(run(godwit, component, work.path(), &cache, rows));
        }
    }
    let medians: Vec<Duration> = times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();
    println!(
        "| {rows} rows, SQLite file, batches of 10000, median of {ROUNDS} | time | vs Rust | component |"
    );
    println!("|---|---|---|---|");
    for ((name, component), time) in guests.iter().zip(&medians) {
        let size = std::fs::metadata(component).unwrap().len() as f64 / 1e6;
        println!(
            "| {name} | {:.2} s | {:.2} | {size:.1} MB |",
            time.as_secs_f64(),
            time.as_secs_f64() / medians[0].as_secs_f64()
        );
    }
}

/// One whole `godwit up` of the backfill on a fresh table, after a `status` that fills the
/// compile cache.
fn run(godwit: &Path, component: &Path, work: &Path, cache: &Path, rows: i64) -> Duration {
    let dir = work.join("project");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::copy(component, dir.join("migrations/0001_split.wasm")).unwrap();
    let conn = rusqlite::Connection::open(dir.join("bench.db")).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
         INSERT INTO people (id, full_name) SELECT i, 'First' || i || ' Last' || i FROM c;"
    ))
    .unwrap();
    drop(conn);
    let godwit_in = || {
        let mut command = Command::new(godwit);
        command.current_dir(&dir).env("XDG_CACHE_HOME", cache).env("NO_COLOR", "1");
        command.args(["-q", "--database", "sqlite:bench.db"]);
        command
    };
    assert!(godwit_in().arg("status").output().unwrap().status.success());
    let started = Instant::now();
    let output = godwit_in().args(["up", "--batch-size", "10000"]).output().unwrap();
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let check = rusqlite::Connection::open(dir.join("bench.db")).unwrap();
    let done: i64 = check
        .query_row(
            "SELECT count(*) FROM people WHERE passes = 1 AND last_name IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(done, rows, "{} did not process every row once", component.display());
    elapsed
}
