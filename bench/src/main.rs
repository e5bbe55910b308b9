//! `cargo run --release -p godwit-bench [-- N RUNS]`: generates N trivial migrations (1000
//! by default), then times the release `godwit` binary as a whole process, the way a user
//! or a deploy script runs it: applying all N to an empty database, and the no-op run with
//! all N applied. Each figure is the median of RUNS runs (5 by default), on a SQLite file
//! and on a throwaway PostgreSQL cluster with the server's default durability (fsync on).
//!
//! Beside godwit, the same run times a floor: the same statements applied in-process over
//! one connection, each migration committed on its own with the database's default
//! durability, which is what migration tools that commit per migration cannot go below.
//! Prints a Markdown table of the times and the ratios between them.
//!
//! With `GODWIT_BENCH_BASELINE=/path/to/another/godwit`, it also times that binary beside this
//! one, run for run in turns (to compare a change with the commit before it), and prints a
//! second table of the two and their ratios.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::{build_release, median};
use godwit_tests::{Backend, Project};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1000, |a| a.parse().expect("N is a number"));
    let runs: usize = args.next().map_or(5, |a| a.parse().expect("RUNS is a number"));
    warn_if_not_durable();
    let bin = build_release();
    let mut rows = Vec::new();
    let cases = [
        ("SQLite file", Backend::Sqlite, ""),
        ("PostgreSQL, sslmode=disable", Backend::Postgres, "?sslmode=disable"),
        ("PostgreSQL, sslmode=require (TLS)", Backend::Postgres, "?sslmode=require"),
    ];
    for (name, backend, query) in cases {
        let (apply, noop, floor) = measure(&bin, backend, query, n, runs);
        rows.push((name, apply, noop, floor));
    }
    println!(
        "| {n} trivial migrations, median of {runs} | godwit apply all | godwit no-op run | \
         floor: commit per migration | apply / floor |"
    );
    println!("|---|---|---|---|---|");
    for (backend, apply, noop, floor) in &rows {
        println!(
            "| {backend} | {} | {} | {} | {:.2} |",
            ms(*apply),
            ms(*noop),
            ms(*floor),
            apply.as_secs_f64() / floor.as_secs_f64()
        );
    }
    if let Some(baseline) = std::env::var_os("GODWIT_BENCH_BASELINE") {
        compare_with(&bin, Path::new(&baseline), &cases, n, runs);
    }
}

/// This binary against `baseline`, in turns on fresh databases: the medians of apply and
/// no-op, and this one's ÷ the baseline's.
fn compare_with(
    bin: &Path,
    baseline: &Path,
    cases: &[(&str, Backend, &str)],
    n: usize,
    runs: usize,
) {
    println!();
    println!(
        "| {n} trivial migrations, median of {runs} | apply: baseline | apply: this | ÷ | \
         no-op: baseline | no-op: this | ÷ |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, backend, query) in cases {
        let mut times: [Vec<Duration>; 4] = Default::default();
        for round in 0..runs {
            // Each round starts with the other binary, so that neither always runs first.
            let order =
                if round % 2 == 0 { [(baseline, 0), (bin, 1)] } else { [(bin, 1), (baseline, 0)] };
            for (which, at) in order {
                let project = Project::new(*backend).expect("a database for the benchmark");
                write_migrations(&project, n);
                times[at].push(run(which, &project, query));
                times[2 + at].push(run(which, &project, query));
            }
        }
        let [apply_base, apply, noop_base, noop] = times.map(median);
        let ratio = |this: Duration, base: Duration| this.as_secs_f64() / base.as_secs_f64();
        println!(
            "| {name} | {} | {} | {:.2} | {} | {} | {:.2} |",
            ms(apply_base),
            ms(apply),
            ratio(apply, apply_base),
            ms(noop_base),
            ms(noop),
            ratio(noop, noop_base)
        );
    }
}

/// The harness reads this variable when it starts the cluster.
fn warn_if_not_durable() {
    if std::env::var_os("GODWIT_TEST_PG_DURABLE").is_none() {
        eprintln!("note: set GODWIT_TEST_PG_DURABLE=1 to keep fsync on (scripts/bench.sh does)");
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn write_migrations(project: &Project, n: usize) {
    for i in 1..=n {
        project.migration(
            &format!("{i:04}_table_{i}.sql"),
            &format!("create table t_{i} (id integer primary key, name text);"),
            Some(&format!("drop table t_{i};")),
        );
    }
}

fn run(bin: &Path, project: &Project, query: &str) -> Duration {
    let started = Instant::now();
    let output = Command::new(bin)
        .current_dir(project.dir.path())
        .env("DATABASE_URL", format!("{}{query}", project.url))
        .args(["-q", "up"])
        .output()
        .expect("run godwit");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    elapsed
}

fn measure(
    bin: &Path,
    backend: Backend,
    query: &str,
    n: usize,
    runs: usize,
) -> (Duration, Duration, Duration) {
    let mut apply = Vec::new();
    let mut noop = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..runs {
        let project = Project::new(backend).expect("a database for the benchmark");
        write_migrations(&project, n);
        apply.push(run(bin, &project, query));
        assert_eq!(project.db().history().len(), n);
        noop.push(run(bin, &project, query));
        let empty = Project::new(backend).expect("a database for the floor");
        floor.push(commit_per_migration(&empty, n));
    }
    (median(apply), median(noop), median(floor))
}

/// Each migration's statement and a history-like row, committed one migration at a time
/// with the database's default durability.
fn commit_per_migration(project: &Project, n: usize) -> Duration {
    let statement = |i: usize| {
        format!(
            "BEGIN; create table t_{i} (id integer primary key, name text); \
             insert into log values ({i}); COMMIT;"
        )
    };
    let started = Instant::now();
    match project.backend {
        Backend::Sqlite => {
            let path = project.url.strip_prefix("sqlite:").unwrap();
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("create table log (v bigint)").unwrap();
            for i in 1..=n {
                conn.execute_batch(&statement(i)).unwrap();
            }
        }
        Backend::Postgres => {
            let mut client = postgres::Client::connect(&project.url, postgres::NoTls).unwrap();
            client.batch_execute("create table log (v bigint)").unwrap();
            for i in 1..=n {
                client.batch_execute(&statement(i)).unwrap();
            }
        }
    }
    started.elapsed()
}
