//! `GODWIT_TEST_PG_DURABLE=1 cargo run --release -p godwit-bench --bin fleet [-- PG_DBS SQLITE_FILES MIGRATIONS]`:
//! a fleet migrated the way users do it today (a shell loop running `godwit up` once per
//! database) against `godwit up --targets FILE --parallel N` for N = 1, 4, 16, on fresh
//! databases each time: PG_DBS PostgreSQL databases (200 by default) and SQLITE_FILES SQLite
//! files (1000), each getting MIGRATIONS trivial migrations (50). Prints the total time, the
//! peak RSS of the process, and (PostgreSQL) the most connections open at once; then where
//! the time went: how busy the machine's cores were, and the CPU time of godwit's processes
//! against the rest (on PostgreSQL, the server's backends).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::{build_release, cpu_ticks, measure};
use godwit_tests::{Backend, Project};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let pg: usize = args.next().map_or(200, |a| a.parse().expect("PG_DBS is a number"));
    let sqlite: usize = args.next().map_or(1000, |a| a.parse().expect("SQLITE_FILES is a number"));
    let migrations: usize = args.next().map_or(50, |a| a.parse().expect("MIGRATIONS is a number"));
    let bin = build_release();
    let p = Project::new(Backend::Sqlite).unwrap();
    for i in 1..=migrations {
        p.migration(
            &format!("{i:04}_t{i}.sql"),
            &format!("CREATE TABLE t{i} (id bigint PRIMARY KEY, name text);"),
            None,
        );
    }
    println!(
        "| fleet, {migrations} migrations each | shell loop | --parallel 1 | --parallel 4 | --parallel 16 | loop ÷ 16 |"
    );
    println!("|---|---|---|---|---|---|");
    let mut where_it_went = Vec::new();
    for (name, count) in [("PostgreSQL", pg), ("SQLite", sqlite)] {
        let mut cells = Vec::new();
        let mut times = Vec::new();
        let mut cpu_cells = Vec::new();
        for parallel in [0, 1, 4, 16] {
            let urls: Vec<String> = (0..count)
                .map(|i| match name {
                    "PostgreSQL" => godwit_tests::pg::fresh_database().unwrap(),
                    _ => {
                        format!("sqlite:{}", p.path(&format!("fleet_{parallel}_{i}.db")).display())
                    }
                })
                .collect();
            p.write("tenants.txt", &urls.join("\n"));
            let most = AtomicI64::new(0);
            let running = AtomicBool::new(true);
            let before = cpu_ticks();
            let (elapsed, rss, godwit_cpu) = std::thread::scope(|scope| {
                if name == "PostgreSQL" {
                    scope.spawn(|| connections(&most, &running));
                }
                let result = if parallel == 0 {
                    // What users do today: one process per database, one after another.
                    let started = std::time::Instant::now();
                    let (mut rss, mut cpu) = (0, Duration::ZERO);
                    for url in &urls {
                        let mut command = Command::new(&bin);
                        command
                            .current_dir(p.dir.path())
                            .env("DATABASE_URL", url)
                            .args(["up", "--no-lint"]);
                        let run = measure(&mut command, p.dir.path()).unwrap();
                        assert_eq!(run.code, Some(0), "{}", run.output);
                        rss = rss.max(run.peak_rss_kib);
                        cpu += run.cpu;
                    }
                    (started.elapsed(), rss, cpu)
                } else {
                    let mut command = Command::new(&bin);
                    let n = parallel.to_string();
                    command.current_dir(p.dir.path()).args([
                        "up",
                        "--no-lint",
                        "--targets",
                        "tenants.txt",
                        "--parallel",
                        &n,
                    ]);
                    let run = measure(&mut command, p.dir.path()).unwrap();
                    assert_eq!(run.code, Some(0), "{}", run.output);
                    (run.elapsed, run.peak_rss_kib, run.cpu)
                };
                running.store(false, Ordering::SeqCst);
                result
            });
            let after = cpu_ticks();
            let connections = match (name, most.load(Ordering::SeqCst)) {
                ("PostgreSQL", 1) => ", 1 connection".to_owned(),
                ("PostgreSQL", n) => format!(", {n} connections"),
                _ => String::new(),
            };
            cells.push(format!("{:.1} s ({} MiB{connections})", elapsed.as_secs_f64(), rss / 1024));
            times.push(elapsed);
            let busy = (after.0 - before.0) as f64;
            let share = busy / (after.1 - before.1).max(1) as f64;
            let busy_s = busy / ticks_per_second();
            let godwit_s = godwit_cpu.as_secs_f64();
            cpu_cells.push(format!(
                "{:.0} % busy: godwit {godwit_s:.1} s, the rest {:.1} s",
                share * 100.0,
                (busy_s - godwit_s).max(0.0)
            ));
        }
        let ratio = times[0].as_secs_f64() / times[3].as_secs_f64();
        println!("| {count} {name} databases | {} | {ratio:.1} |", cells.join(" | "));
        where_it_went.push(format!("| {count} {name} databases | {} |", cpu_cells.join(" | ")));
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!();
    println!(
        "| where the time went ({cores} cores): CPU busy, CPU time | shell loop | --parallel 1 | --parallel 4 | --parallel 16 |"
    );
    println!("|---|---|---|---|---|");
    for row in where_it_went {
        println!("{row}");
    }
}

/// Clock ticks per second, the unit of `/proc/stat`.
#[allow(unsafe_code)]
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a configuration value and has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The most connections to the test databases seen at once while `running`.
fn connections(most: &AtomicI64, running: &AtomicBool) {
    let server = godwit_tests::pg::server().unwrap();
    let mut admin = postgres::Client::connect(&server.admin_url, postgres::NoTls).unwrap();
    while running.load(Ordering::SeqCst) {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'godwit_test_%'",
                &[],
            )
            .unwrap();
        most.fetch_max(row.get::<_, i64>(0), Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
    }
}
