//! `GODWIT_TEST_PG_DURABLE=1 cargo run --release -p godwit-bench --bin lint [-- N RUNS]`: what
//! linting costs beside applying. Writes N migrations (1000 by default) of the kinds a real
//! history holds (tables, columns, indexes, data), then, RUNS rounds (3 by default), on a fresh
//! database each time: `godwit lint` (all N pending), `godwit up --no-lint`, and `godwit up`
//! (which lints first) on another fresh database; and the engine's `godwit::lint::lint` alone,
//! in this process, on the migrations loaded once. Prints the medians and the ratio of linting
//! to applying, on SQLite and PostgreSQL.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::{build_release, measure, median};
use godwit_tests::{Backend, Project};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Migration `i`: a table every fourth, then a column, an index and data for it.
fn migration(i: usize, backend: Backend) -> String {
    let table = format!("t_{}", i - i % 4);
    let key = match backend {
        Backend::Postgres => "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        Backend::Sqlite => "integer PRIMARY KEY",
    };
    let up = match i % 4 {
        0 => format!(
            "CREATE TABLE {table} (id {key}, name text NOT NULL, created_at timestamp DEFAULT CURRENT_TIMESTAMP);"
        ),
        1 => format!("ALTER TABLE {table} ADD COLUMN note text;"),
        2 => format!("CREATE INDEX {table}_name ON {table} (name);"),
        _ => format!(
            "INSERT INTO {table} (name, note) VALUES ('a', 'x'), ('b', 'y');\n\
             UPDATE {table} SET note = upper(note) WHERE name = 'a';"
        ),
    };
    format!("-- godwit:up\n{up}\n")
}

fn project(backend: Backend, n: usize) -> Project {
    let p = Project::new(backend).expect("a database");
    for i in 0..n {
        p.write(&format!("migrations/{:04}_m{i}.sql", i + 1), &migration(i, backend));
    }
    p
}

fn time(bin: &Path, p: &Project, args: &[&str]) -> Duration {
    let mut command = Command::new(bin);
    command.current_dir(p.dir.path()).env("DATABASE_URL", &p.url).args(args);
    let run = measure(&mut command, p.dir.path()).expect("run godwit");
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.output);
    run.elapsed
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1000, |a| a.parse().expect("N is a number"));
    let runs: usize = args.next().map_or(3, |a| a.parse().expect("RUNS is a number"));
    let bin = build_release();
    println!(
        "| {n} migrations, median of {runs} | godwit lint | up --no-lint | up (lints first) | lint ÷ apply | up ÷ up --no-lint | lint::lint in process | ÷ apply |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (backend, name) in [(Backend::Sqlite, "SQLite file"), (Backend::Postgres, "PostgreSQL")] {
        let (mut lint, mut apply, mut up) = (Vec::new(), Vec::new(), Vec::new());
        let mut engine = Vec::new();
        let loaded = project(backend, n);
        let migrator =
            godwit::Migrator::load(loaded.path("migrations")).expect("the migrations load");
        let dialect = match backend {
            Backend::Postgres => godwit::driver::Dialect::Postgres,
            Backend::Sqlite => godwit::driver::Dialect::Sqlite,
        };
        for _ in 0..runs {
            let started = Instant::now();
            let (levels, waits) = (Default::default(), Default::default());
            let findings = godwit::lint::lint(migrator.migrations(), dialect, &levels, &waits);
            engine.push(started.elapsed());
            assert!(findings.is_empty(), "{findings:?}");
            let p = project(backend, n);
            lint.push(time(&bin, &p, &["lint"]));
            apply.push(time(&bin, &p, &["up", "--no-lint"]));
            let q = project(backend, n);
            up.push(time(&bin, &q, &["up"]));
        }
        let (lint, apply, up, engine) = (median(lint), median(apply), median(up), median(engine));
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "| {name} | {} | {} | {} | {:.3} | {:.2} | {} | {:.3} |",
            ms(lint),
            ms(apply),
            ms(up),
            ratio(lint, apply),
            ratio(up, apply),
            ms(engine),
            ratio(engine, apply)
        );
    }
}
