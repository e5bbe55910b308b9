//! `cargo run --release -p godwit-bench --bin formats [-- N RUNS]`: the cost of reading other
//! tools' folders. Writes N trivial migrations (1000 by default) in godwit's layout and in
//! each other format godwit reads, applies each folder to its own SQLite file, then times the
//! no-op run (`godwit up` with everything applied) of every folder in turn, RUNS rounds (15 by
//! default), and prints the median of each and its ratio to godwit's own layout.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use godwit_bench::{build_release, measure, median};
use godwit_tests::{Backend, Project};
use std::process::Command;

const FORMATS: [&str; 8] =
    ["godwit", "diesel", "sqlx", "golang-migrate", "goose", "dbmate", "flyway", "refinery"];

/// The files of migration `i` in `format`: (relative path, text).
fn files(format: &str, i: usize) -> Vec<(String, String)> {
    let up = format!("create table t_{i} (id integer primary key, name text);\n");
    let down = format!("drop table t_{i};\n");
    match format {
        "godwit" => vec![(
            format!("{i:04}_t_{i}.sql"),
            format!("-- godwit:up\n{up}\n-- godwit:down\n{down}"),
        )],
        "diesel" => vec![
            (format!("2024-01-01-{i:06}_t_{i}/up.sql"), up),
            (format!("2024-01-01-{i:06}_t_{i}/down.sql"), down),
        ],
        "sqlx" => vec![(format!("{i}_t_{i}.up.sql"), up), (format!("{i}_t_{i}.down.sql"), down)],
        "golang-migrate" => {
            vec![(format!("{i:06}_t_{i}.up.sql"), up), (format!("{i:06}_t_{i}.down.sql"), down)]
        }
        "goose" => vec![(
            format!("{i:05}_t_{i}.sql"),
            format!("-- +goose Up\n{up}\n-- +goose Down\n{down}"),
        )],
        "dbmate" => vec![(
            format!("20240101{i:06}_t_{i}.sql"),
            format!("-- migrate:up\n{up}\n-- migrate:down\n{down}"),
        )],
        "flyway" => vec![(format!("V{i}__t_{i}.sql"), up), (format!("U{i}__t_{i}.sql"), down)],
        "refinery" => vec![(format!("V{i}__t_{i}.sql"), up)],
        other => panic!("unknown format {other}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1000, |a| a.parse().expect("N is a number"));
    let runs: usize = args.next().map_or(15, |a| a.parse().expect("RUNS is a number"));
    let bin = build_release();
    let projects: Vec<Project> = FORMATS
        .iter()
        .map(|format| {
            let p = Project::new(Backend::Sqlite).unwrap();
            for i in 1..=n {
                for (path, text) in files(format, i) {
                    p.write(&format!("migrations/{path}"), &text);
                }
            }
            p.write("godwit.toml", &format!("format = \"{format}\"\n"));
            let applied = p.godwit(&["up"]);
            assert_eq!(applied.code, 0, "{format}: {}", applied.stderr);
            p
        })
        .collect();
    let mut times = vec![Vec::new(); FORMATS.len()];
    for _ in 0..runs {
        for (index, p) in projects.iter().enumerate() {
            let mut command = Command::new(&bin);
            command.current_dir(p.dir.path()).env("DATABASE_URL", &p.url).arg("up");
            let run = measure(&mut command, p.dir.path()).expect("run godwit");
            assert_eq!(run.code, Some(0), "{}: {}", FORMATS[index], run.output);
            times[index].push(run.elapsed);
        }
    }
    let medians: Vec<_> = times.into_iter().map(median).collect();
    println!(
        "| {n} migrations on SQLite, no-op run (median of {runs}) | time | ÷ godwit's layout |"
    );
    println!("|---|---|---|");
    for (format, time) in FORMATS.iter().zip(&medians) {
        println!(
            "| {format} | {:.1} ms | {:.2} |",
            time.as_secs_f64() * 1000.0,
            time.as_secs_f64() / medians[0].as_secs_f64()
        );
    }
}
