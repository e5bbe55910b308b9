//! `GODWIT_TEST_PG_DURABLE=1 cargo run --release -p godwit-bench --bin schema [-- TABLES RUNS]`:
//! reading the schema model of a big schema. Applies migrations making TABLES tables (1000
//! by default) with five indexes each, then times, RUNS rounds (5 by default): the engine's
//! `Schema::read` in this process, `godwit schema dump` and `godwit drift` as processes (with
//! their peak RSS), and on PostgreSQL `pg_dump --schema-only` on the same database.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::{build_release, measure, median};
use godwit_tests::{Backend, Project};
use std::process::Command;
use std::time::{Duration, Instant};

/// Ten tables per migration, each with an id, five columns and an index on each column.
fn migrations(p: &Project, tables: usize) {
    for file in 0..tables.div_ceil(10) {
        let mut sql = String::from("-- godwit:up\n");
        for t in file * 10..(file * 10 + 10).min(tables) {
            sql.push_str(&format!(
                "CREATE TABLE t_{t} (id bigint PRIMARY KEY, a text, b integer, c numeric, d text, e integer);\n"
            ));
            for column in ["a", "b", "c", "d", "e"] {
                sql.push_str(&format!("CREATE INDEX t_{t}_{column} ON t_{t} ({column});\n"));
            }
        }
        p.write(&format!("migrations/{:04}_tables.sql", file + 1), &sql);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tables: usize = args.next().map_or(1000, |a| a.parse().expect("TABLES is a number"));
    let runs: usize = args.next().map_or(5, |a| a.parse().expect("RUNS is a number"));
    let bin = build_release();
    println!(
        "| {tables} tables, {} indexes, median of {runs} | Schema::read in process | `godwit schema dump` | peak RSS | `godwit drift` | peak RSS | `pg_dump --schema-only` |",
        tables * 5
    );
    println!("|---|---|---|---|---|---|---|");
    for (backend, name) in [(Backend::Sqlite, "SQLite file"), (Backend::Postgres, "PostgreSQL")] {
        let p = Project::new(backend).expect("a database");
        migrations(&p, tables);
        let up = p.godwit(&["up", "--no-lint"]);
        assert_eq!(up.code, 0, "{}", up.stderr);
        let mut db = godwit::connect(&p.url, &godwit::ConnectOptions::default()).unwrap();
        let (mut read, mut dump, mut drift, mut pg_dump) = (vec![], vec![], vec![], vec![]);
        let (mut dump_rss, mut drift_rss) = (0, 0);
        for _ in 0..runs {
            let started = Instant::now();
            let schema = godwit::schema::Schema::read(db.driver().unwrap()).unwrap();
            read.push(started.elapsed());
            assert_eq!(
                schema.objects.iter().filter(|o| o.kind == godwit::schema::Kind::Index).count(),
                tables * 5
            );
            for (args, times, rss) in [
                (&["schema", "dump"][..], &mut dump, &mut dump_rss),
                (&["drift"][..], &mut drift, &mut drift_rss),
            ] {
                let mut command = Command::new(&bin);
                command.current_dir(p.dir.path()).env("DATABASE_URL", &p.url).args(args);
                let run = measure(&mut command, p.dir.path()).unwrap();
                assert_eq!(run.code, Some(0), "{args:?}: {}", run.output);
                times.push(run.elapsed);
                *rss = (*rss).max(run.peak_rss_kib);
            }
            if backend == Backend::Postgres {
                let mut command = Command::new("/usr/lib/postgresql/15/bin/pg_dump");
                command.args(["--schema-only", "-d", &p.url]);
                let run = measure(&mut command, p.dir.path()).unwrap();
                assert_eq!(run.code, Some(0), "pg_dump: {}", run.output);
                pg_dump.push(run.elapsed);
            }
        }
        let pg_dump = match pg_dump.is_empty() {
            true => "-".to_owned(),
            false => ms(median(pg_dump)),
        };
        println!(
            "| {name} | {} | {} | {} MiB | {} | {} MiB | {pg_dump} |",
            ms(median(read)),
            ms(median(dump)),
            dump_rss / 1024,
            ms(median(drift)),
            drift_rss / 1024,
        );
    }
}
