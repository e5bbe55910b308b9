//! Crash torture: `godwit up` over SQL files, components and a batched backfill, killed with
//! SIGKILL at seeded random moments and started again until a run finishes. After every kill
//! the database must be consistent (each migration applied at most once, the history matching
//! the schema, no backfill row processed twice, the rows done matching the cursor's progress),
//! and the end state must equal that of a run without crashes. The e2e tests run a short form;
//! `cargo run --release -p godwit-bench --bin torture` runs the long one.

use crate::{Backend, Project, Run};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Rows of the backfilled table, and rows per batch.
const PEOPLE: usize = 3000;
const BATCH: &str = "100";

/// What one seeded trial did.
#[derive(Debug, Clone, Copy)]
pub struct Trial {
    /// Runs killed before one finished.
    pub kills: usize,
    /// Kills that left a backfill half done (the run resumed it).
    pub mid_backfill: usize,
}

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// The migrations: SQL, the batched backfill (`passes` counts how often each row was
/// processed), more SQL, and a component that creates a table.
fn project(backend: Backend) -> Option<Project> {
    let p = Project::new(backend)?;
    p.migration(
        "0001_people.sql",
        &format!(
            "create table people (id bigint primary key, full_name text not null, passes integer not null default 0);\n\
             insert into people (id, full_name) \
             with recursive c(i) as (select 1 union all select i + 1 from c where i < {PEOPLE}) \
             select i, 'First' || i || ' Last' || i from c;"
        ),
        None,
    );
    p.migration("0002_orders.sql", "create table orders (id int);", None);
    std::fs::copy(crate::guest("rust-backfill"), p.path("migrations/0003_split.wasm")).unwrap();
    p.migration(
        "0004_audit.sql",
        "create table audit (x int);\ninsert into audit values (4);",
        None,
    );
    std::fs::copy(crate::guest("rust-schema"), p.path("migrations/0005_observers.wasm")).unwrap();
    Some(p)
}

fn up(p: &Project) -> std::process::Command {
    let mut command = p.command();
    command.args(["up", "--batch-size", BATCH]).stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

/// Everything a run leaves, without times: each table's rows, and the history's rows.
fn state(p: &Project) -> String {
    let db = p.db();
    let mut text = String::new();
    for table in db.tables() {
        let mut rows = db.rows(&format!("SELECT * FROM \"{table}\""));
        rows.sort();
        text.push_str(&format!("{table} {:?} {rows:?}\n", db.columns(&table)));
    }
    for row in db.history() {
        text.push_str(&format!("{:?} {} {} {}\n", row.version, row.name, row.state, row.checksum));
    }
    text
}

/// The consistency a crash at any moment must leave; returns whether the backfill was
/// half done.
fn check(p: &Project, context: &str) -> bool {
    let db = p.db();
    let history = db.history();
    let state_of = |v: i64| history.iter().find(|r| r.version == Some(v)).map(|r| r.state.clone());
    for row in &history {
        assert!(
            row.state == "applied" || (row.version == Some(3) && row.state == "in_progress"),
            "{context}: unexpected history row {row:?}"
        );
    }
    let tables = db.tables();
    for (version, table) in [(1, "people"), (2, "orders"), (4, "audit"), (5, "observers")] {
        assert_eq!(
            tables.contains(&table.to_owned()),
            state_of(version).is_some(),
            "{context}: table {table} against the history {history:?}"
        );
    }
    if state_of(4).is_some() {
        assert_eq!(db.scalar("SELECT count(*) FROM audit"), "1", "{context}: 0004 ran twice");
    }
    let Some(backfill) = state_of(3) else {
        if tables.contains(&"people".to_owned()) {
            assert!(!db.columns("people").contains(&"first_name".to_owned()), "{context}");
            assert_eq!(
                db.scalar("SELECT count(*) FROM people WHERE passes <> 0"),
                "0",
                "{context}"
            );
        }
        return false;
    };
    let twice = db.scalar("SELECT count(*) FROM people WHERE passes > 1");
    assert_eq!(twice, "0", "{context}: rows processed twice");
    let done: usize = db.scalar("SELECT count(*) FROM people WHERE passes = 1").parse().unwrap();
    let recorded: usize = db
        .scalar("SELECT CAST(rows_done AS TEXT) FROM godwit_history WHERE version = 3")
        .parse()
        .unwrap();
    assert_eq!(done, recorded, "{context}: rows done against the recorded progress");
    let wrong = db.scalar(
        "SELECT count(*) FROM people WHERE passes = 1 AND (first_name <> 'First' || id OR last_name <> 'Last' || id)",
    );
    assert_eq!(wrong, "0", "{context}: rows split wrongly");
    match backfill.as_str() {
        "applied" => {
            assert_eq!(done, PEOPLE, "{context}: an applied backfill left rows");
            false
        }
        _ => done < PEOPLE,
    }
}

/// How long an uninterrupted `godwit up` takes here, and the state it leaves.
pub fn reference(backend: Backend) -> Option<(Duration, String)> {
    let p = project(backend)?;
    p.godwit(&["status"]).ok(); // compile the components into the cache first
    let started = Instant::now();
    Run::from(up(&p).output().unwrap()).ok();
    Some((started.elapsed(), state(&p)))
}

/// One trial: kill `godwit up` at random moments (at most `max_kills` times) until a run
/// finishes, checking the database after each kill; then compare with the reference state.
pub fn trial(
    backend: Backend,
    seed: u64,
    max_kills: usize,
    reference: &(Duration, String),
) -> Option<Trial> {
    let p = project(backend)?;
    p.godwit(&["status"]).ok();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let window = reference.0.as_millis() as u64 * 6 / 5 + 1;
    // The first kill of a trial comes within 30 ms, before any run can have finished, so
    // every trial kills at least once; after that each restart has less left to do, so the
    // window halves (down to a sixteenth) to keep killing runs.
    let span = |kills: usize| match kills {
        0 => window.min(30),
        n => window >> n.min(4),
    };
    let context = format!("{backend:?} seed {seed}");
    let outcome = kill_until_done(&p, || up(&p), &mut rng, max_kills, span, &context);
    check(&p, &format!("{backend:?} seed {seed} at the end"));
    assert_eq!(
        state(&p),
        reference.1,
        "{backend:?} seed {seed}: the end state differs from a run without crashes"
    );
    Some(outcome)
}

/// The worker's trial: `up --defer-transforms` queues the backfill, then `godwit transforms
/// run` is killed at random moments (at most `max_kills` times) until one finishes, the
/// database checked after each kill as for `up`; at the end every row is done exactly once.
/// A killed worker leaves its transform `running`; the next one takes it over.
pub fn worker_trial(backend: Backend, seed: u64, max_kills: usize) -> Option<Trial> {
    let p = project(backend)?;
    Run::from(p.command().args(["up", "--defer-transforms"]).output().unwrap()).ok();
    let mut rng = Rng(seed.wrapping_mul(0xd1b5_4a32_d192_ed03) | 1);
    let worker = || {
        let mut command = p.command();
        command
            // A pause between batches keeps the worker's run longer than the kill delays, so
            // that on a fast machine too most runs are killed rather than finishing first.
            .args(["transforms", "run", "--batch-size", BATCH, "--batch-pause", "10ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    let span = |kills: usize| 200 >> kills.min(4);
    let context = format!("{backend:?} worker seed {seed}");
    let outcome = kill_until_done(&p, worker, &mut rng, max_kills, span, &context);
    let context = format!("{backend:?} worker seed {seed} at the end");
    assert!(!check(&p, &context), "{context}: the backfill did not finish");
    Some(outcome)
}

/// Starts `command` again and again, killing it with SIGKILL after a random delay of up to
/// `span(kills so far)` ms (at most `max_kills` times) and checking the database after every
/// kill, until a run finishes; that run must succeed.
fn kill_until_done(
    p: &Project,
    command: impl Fn() -> std::process::Command,
    rng: &mut Rng,
    max_kills: usize,
    span: impl Fn(usize) -> u64,
    context: &str,
) -> Trial {
    let mut outcome = Trial { kills: 0, mid_backfill: 0 };
    loop {
        let mut child = command().spawn().unwrap();
        if outcome.kills < max_kills {
            let delay = Duration::from_millis(rng.below(span(outcome.kills)));
            let started = Instant::now();
            while started.elapsed() < delay && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if child.try_wait().unwrap().is_none() && outcome.kills < max_kills {
            child.kill().unwrap();
            child.wait().unwrap();
            outcome.kills += 1;
            if check(p, &format!("{context} after kill {}", outcome.kills)) {
                outcome.mid_backfill += 1;
            }
            continue;
        }
        Run::from(child.wait_with_output().unwrap()).ok();
        return outcome;
    }
}
