//! `cargo run --release -p godwit-bench --bin live [-- LOAD_ROWS THROUGHPUT_ROWS RATE]`: the
//! batched backfill of `guest-examples/rust-backfill` on PostgreSQL, on a primary with a
//! streaming replica started for the run (`GODWIT_TEST_PG_DURABLE=1` keeps fsync on).
//!
//! 1. Throughput on THROUGHPUT_ROWS rows (2,000,000 by default), one run each: the guest
//!    through `godwit up --batch-size 10000`; its set-based twin (`bench/guests/backfill-set`,
//!    one `sql::execute_set` per batch); the same loop natively in Rust over tokio-postgres,
//!    in-process, its updates pipelined (the fastest the client allows); one set-based
//!    `UPDATE`.
//! 2. Under live load on LOAD_ROWS rows (5,000,000 by default): `pgbench` runs an application
//!    script (read a random row, update it) at a fixed RATE (200/s by default) throughout, and
//!    its per-transaction log gives the latency percentiles (counted from each transaction's
//!    scheduled start) and the share of the scheduled transactions it completed, for: no backfill, one set-based
//!    `UPDATE`, fixed batches of 1k, 10k and 100k rows, and the adaptive default with
//!    `--max-replica-lag 2s`. The replica's replay lag is sampled every 200 ms.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const BATCH: i64 = 10_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let load_rows: i64 = args.next().map_or(5_000_000, |a| a.parse().expect("LOAD_ROWS"));
    let throughput_rows: i64 =
        args.next().map_or(2_000_000, |a| a.parse().expect("THROUGHPUT_ROWS"));
    let rate: u32 = args.next().map_or(200, |a| a.parse().expect("RATE"));
    let (godwit, component) = build();
    let pair = godwit_tests::replica::Pair::start().expect("a primary and a replica");
    let url = pair.primary_url.clone();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir_all(project.join("migrations")).unwrap();
    std::fs::copy(&component, project.join("migrations/0001_split.wasm")).unwrap();
    let bench = Bench { godwit, project, url: url.clone(), cache: work.path().join("cache") };

    // 1. Throughput (0 rows: skipped).
    if throughput_rows > 0 {
        throughput(&bench, &url, throughput_rows, &component);
    }

    // 2. Under live load.
    let pgbench = pgbench_bin();
    let script = work.path().join("app.sql");
    std::fs::write(
        &script,
        format!(
            "\\set id random(1, {load_rows})\nBEGIN;\nSELECT full_name FROM people WHERE id = :id;\n\
             UPDATE people SET app_hits = app_hits + 1 WHERE id = :id;\nCOMMIT;\n"
        ),
    )
    .unwrap();
    let scenarios: [(&str, Option<Vec<&str>>); 7] = [
        ("no backfill (baseline, 20 s)", None),
        ("one set-based `UPDATE`", Some(vec![])),
        ("fixed batches of 1,000", Some(vec!["--batch-size", "1000"])),
        ("fixed batches of 10,000", Some(vec!["--batch-size", "10000"])),
        ("fixed batches of 100,000", Some(vec!["--batch-size", "100000"])),
        ("adaptive default (200 ms), --max-replica-lag 2s", Some(vec!["--max-replica-lag", "2s"])),
        (
            "adaptive, --batch-target 100ms --max-replica-lag 2s",
            Some(vec!["--batch-target", "100ms", "--max-replica-lag", "2s"]),
        ),
    ];
    // LIVE_ONLY=0,5 runs those scenarios only.
    let only: Option<Vec<usize>> = std::env::var("LIVE_ONLY")
        .ok()
        .map(|list| list.split(',').map(|n| n.trim().parse().expect("LIVE_ONLY")).collect());
    println!(
        "| {load_rows} rows, application at {rate}/s | backfill | rows/s | app p50 | app p99 | app transactions done | max replica lag |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (index, (name, flags)) in scenarios.iter().enumerate() {
        if only.as_ref().is_some_and(|only| !only.contains(&index)) {
            continue;
        }
        people(&url, load_rows);
        let logs = work.path().join(format!("logs{index}"));
        std::fs::create_dir_all(&logs).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let load = application(&pgbench, &url, &script, rate, &logs, done.clone());
        let lag = replica_lag(&url, done.clone());
        std::thread::sleep(Duration::from_secs(2));
        let elapsed = match flags {
            None => {
                std::thread::sleep(Duration::from_secs(18));
                None
            }
            Some(flags) if flags.is_empty() => Some(set_based(&url)),
            Some(flags) => Some(bench.up(flags)),
        };
        std::thread::sleep(Duration::from_secs(1));
        done.store(true, Ordering::SeqCst);
        load.join().unwrap();
        let max_lag = lag.join().unwrap();
        let mut latencies = read_latencies(&logs);
        latencies.sort_unstable();
        let window = started.elapsed().as_secs_f64();
        let scheduled = f64::from(rate) * window;
        let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
        let (backfill, speed) = match elapsed {
            Some(d) => (
                format!("{:.1} s", d.as_secs_f64()),
                format!("{:.0}", load_rows as f64 / d.as_secs_f64()),
            ),
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "| {name} | {backfill} | {speed} | {:.1} ms | {:.1} ms | {:.0}% | {:.1} s |",
            pct(0.5),
            pct(0.99),
            100.0 * latencies.len() as f64 / scheduled,
            max_lag.as_secs_f64()
        );
    }
    drop(pair);
}

fn throughput(bench: &Bench, url: &str, throughput_rows: i64, component: &Path) {
    let migration = bench.project.join("migrations/0001_split.wasm");
    let set_guest = godwit_tests::build_source(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/backfill-set"),
    );
    people(url, throughput_rows);
    let guest = bench.up(&["--batch-size", &BATCH.to_string()]);
    people(url, throughput_rows);
    std::fs::copy(&set_guest, &migration).unwrap();
    let set = bench.up(&["--batch-size", &BATCH.to_string()]);
    std::fs::copy(component, &migration).unwrap();
    people(url, throughput_rows);
    let native = native_loop(url);
    people(url, throughput_rows);
    let update = set_based(url);
    println!(
        "| {throughput_rows} rows, PostgreSQL, batches of {BATCH} | time | rows/s | vs native loop | vs one UPDATE |"
    );
    println!("|---|---|---|---|---|");
    for (name, d) in [
        ("wasm guest through `godwit up` (whole process)", guest),
        ("its set-based twin, one `sql::execute_set` per batch", set),
        ("native Rust loop over tokio-postgres, pipelined (in-process)", native),
        ("one set-based `UPDATE`", update),
    ] {
        println!(
            "| {name} | {:.1} s | {:.0} | {:.2} | {:.2} |",
            d.as_secs_f64(),
            throughput_rows as f64 / d.as_secs_f64(),
            d.as_secs_f64() / native.as_secs_f64(),
            d.as_secs_f64() / update.as_secs_f64()
        );
    }
    println!(
        "\nthroughput of the guest relative to the native loop: {:.2}x\n",
        native.as_secs_f64() / guest.as_secs_f64()
    );
}

struct Bench {
    godwit: PathBuf,
    project: PathBuf,
    url: String,
    cache: PathBuf,
}

impl Bench {
    /// `godwit up` with `flags` from a fresh history; its wall-clock time.
    fn up(&self, flags: &[&str]) -> Duration {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        client.batch_execute("DROP TABLE IF EXISTS godwit_history, godwit_transforms").unwrap();
        let started = Instant::now();
        let output = Command::new(&self.godwit)
            .current_dir(&self.project)
            .env("XDG_CACHE_HOME", &self.cache)
            .args(["-q", "--database", &self.url, "up"])
            .args(flags)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        started.elapsed()
    }
}

fn build() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for args in [
        &["build", "--quiet", "--release", "-p", "godwit-cli", "--bin", "godwit"][..],
        &[
            "build",
            "--quiet",
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
            "-p",
            "guest-rust-backfill",
        ],
    ] {
        assert!(Command::new(&cargo).args(args).status().unwrap().success());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    (target.join("release/godwit"), target.join("wasm32-wasip2/guest/guest_rust_backfill.wasm"))
}

/// A fresh `people` table of `rows` rows, vacuumed and checkpointed.
fn people(url: &str, rows: i64) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS people, godwit_history, godwit_transforms;
             CREATE TABLE people (id BIGINT PRIMARY KEY, full_name TEXT NOT NULL,
               passes INTEGER NOT NULL DEFAULT 0, app_hits INTEGER NOT NULL DEFAULT 0);
             INSERT INTO people (id, full_name)
               SELECT i, 'First' || i || ' Last' || i FROM generate_series(1, {rows}) i;"
        ))
        .unwrap();
    // Each its own statement: VACUUM refuses a multi-statement string (a transaction block).
    client.batch_execute("VACUUM ANALYZE people").unwrap();
    client.batch_execute("CHECKPOINT").unwrap();
}

fn set_based(url: &str) -> Duration {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let started = Instant::now();
    client
        .batch_execute(
            "ALTER TABLE people ADD COLUMN IF NOT EXISTS first_name TEXT, ADD COLUMN IF NOT EXISTS last_name TEXT;
             UPDATE people SET first_name = split_part(full_name, ' ', 1),
               last_name = substr(full_name, strpos(full_name, ' ') + 1), passes = passes + 1;",
        )
        .unwrap();
    started.elapsed()
}

/// The guest's loop written natively: per batch a transaction, the select, then every update
/// sent before any answer is read.
fn native_loop(url: &str) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("ALTER TABLE people ADD COLUMN first_name TEXT, ADD COLUMN last_name TEXT")
            .await
            .unwrap();
        let select = client
            .prepare("SELECT id, full_name FROM people WHERE id > $1 ORDER BY id LIMIT $2")
            .await
            .unwrap();
        let update = client
            .prepare("UPDATE people SET first_name = $1, last_name = $2, passes = passes + 1 WHERE id = $3")
            .await
            .unwrap();
        let started = Instant::now();
        let mut after = i64::MIN;
        loop {
            client.batch_execute("BEGIN").await.unwrap();
            let rows = client.query(&select, &[&after, &BATCH]).await.unwrap();
            let batch: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let updates = batch.iter().map(|(id, full)| {
                let (first, last) = full.split_once(' ').unwrap_or((full, ""));
                let (client, update) = (&client, &update);
                async move { client.execute(update, &[&first, &last, id]).await.unwrap() }
            });
            futures_util::future::join_all(updates).await;
            client.batch_execute("COMMIT").await.unwrap();
            match batch.last() {
                Some((id, _)) if batch.len() as i64 == BATCH => after = *id,
                _ => break,
            }
        }
        started.elapsed()
    })
}

/// The newest installed `pgbench`.
fn pgbench_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's client tools in /usr/lib/postgresql")
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin/pgbench"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().expect("pgbench")
}

/// The application: one `pgbench` at `rate` transactions per second, from now until `done`.
/// Its latencies count from each transaction's scheduled start, so transactions held up by a
/// backfill's row locks, and the backlog behind them, show as they would to users. It is
/// stopped with SIGINT; the last few lines of its log may be lost with its buffer.
fn application(
    pgbench: &Path,
    url: &str,
    script: &Path,
    rate: u32,
    logs: &Path,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let mut child = Command::new(pgbench)
        .args(["-n", "-c", "4", "-j", "2", "-T", "86400", "-R", &rate.to_string(), "-l"])
        .arg(format!("--log-prefix={}/app", logs.display()))
        .arg("-f")
        .arg(script)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::spawn(move || {
        while !done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: signalling our own child, which has not been waited for.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        child.wait().unwrap();
    })
}

/// Samples the replica's replay lag on the primary every 200 ms until `done`; the largest.
fn replica_lag(url: &str, done: Arc<AtomicBool>) -> std::thread::JoinHandle<Duration> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut max = Duration::ZERO;
        while !done.load(Ordering::SeqCst) {
            let row = client
                .query_one(
                    "SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 FROM pg_stat_replication",
                    &[],
                )
                .unwrap();
            max = max.max(Duration::from_secs_f64(row.get::<_, f64>(0).max(0.0)));
            std::thread::sleep(Duration::from_millis(200));
        }
        max
    })
}

/// Every transaction's latency in microseconds from pgbench's logs (`client tx latency ...`).
fn read_latencies(logs: &Path) -> Vec<u64> {
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(us) = line.split_whitespace().nth(2).and_then(|f| f.parse().ok()) {
                latencies.push(us);
            }
        }
    }
    latencies
}
