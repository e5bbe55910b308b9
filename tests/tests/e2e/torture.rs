//! The short form of the crash torture (see `godwit_tests::torture`): three seeds, up to six
//! kills each, on each backend; and the worker of deferred transforms, killed up to four times
//! a seed. The long form is `cargo run --release -p godwit-bench --bin torture`.

use godwit_tests::{Backend, torture};

fn short(backend: Backend) {
    let Some(reference) = torture::reference(backend) else { return };
    let mut kills = 0;
    for seed in 1..=3 {
        let Some(trial) = torture::trial(backend, seed, 6, &reference) else { return };
        kills += trial.kills;
    }
    assert!(kills >= 3, "every trial must kill a run: {kills} kills");
}

#[test]
fn sqlite_crash_torture() {
    short(Backend::Sqlite);
}

#[test]
fn postgres_crash_torture() {
    short(Backend::Postgres);
}

/// The worker killed at random moments: no row lost, none processed twice.
fn worker(backend: Backend) {
    let mut kills = 0;
    for seed in 1..=3 {
        let Some(trial) = torture::worker_trial(backend, seed, 4) else { return };
        kills += trial.kills;
    }
    assert!(kills >= 3, "the workers must be killed: {kills} kills");
}

#[test]
fn sqlite_worker_crash_torture() {
    worker(Backend::Sqlite);
}

#[test]
fn postgres_worker_crash_torture() {
    worker(Backend::Postgres);
}
