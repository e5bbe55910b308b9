//! `cargo run --release -p godwit-bench --bin torture [-- SEEDS [KILLS]]`: the long form of
//! the crash torture (see `godwit_tests::torture`): SEEDS trials (25 by default) on SQLite and
//! on PostgreSQL, each killing `godwit up` with SIGKILL at up to KILLS (12) seeded random
//! moments before letting a run finish, checking consistency after every kill and the end
//! state against a run without crashes. Prints a Markdown table; any violation panics with
//! the backend, seed and kill.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use godwit_tests::{Backend, torture};

fn main() {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().map_or(25, |a| a.parse().expect("SEEDS"));
    let kills: usize = args.next().map_or(12, |a| a.parse().expect("KILLS"));
    println!("| backend | trials | kills | kills mid-backfill | violations |");
    println!("|---|---|---|---|---|");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let reference = torture::reference(backend).expect("a PostgreSQL server");
        let (mut total, mut mid) = (0, 0);
        for seed in 1..=seeds {
            let trial = torture::trial(backend, seed, kills, &reference).expect("a database");
            total += trial.kills;
            mid += trial.mid_backfill;
        }
        println!("| {backend:?} | {seeds} | {total} | {mid} | 0 |");
    }
}
