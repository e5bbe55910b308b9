//! Statements that give up waiting for a lock instead of queueing the application behind
//! them (PostgreSQL): a migration blocked by a long transaction is rolled back, tried again
//! after a pause and, when the lock never comes, fails naming the session that held it, with
//! the database as it was; one that gets the lock on a later try is applied; `CONCURRENTLY`
//! statements wait for older transactions as long as it takes.

use godwit_tests::{Backend, Project};
use std::time::{Duration, Instant};

fn project() -> Option<Project> {
    Project::new(Backend::Postgres)
}

/// Another session, in a transaction that read `table` and sits idle holding its lock.
fn reader(p: &Project, table: &str) -> ::postgres::Client {
    let mut client = ::postgres::Client::connect(&p.url, ::postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "SET application_name = 'report-job'; BEGIN; SELECT count(*) FROM {table};"
        ))
        .unwrap();
    client
}

#[test]
fn a_migration_blocked_by_a_long_transaction_gives_up_and_names_it() {
    let Some(p) = project() else { return };
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    p.migration("0002_note.sql", "ALTER TABLE orders ADD COLUMN note text;", None);
    let holder = reader(&p, "orders");
    let before = p.db().fingerprint();
    let started = Instant::now();
    let run = p.godwit(&["up", "--statement-lock-timeout", "200ms", "--lock-retries", "2"]);
    run.code(1)
        .stderr_has("Retrying 0002_note (1 of 2) in 500 ms: a statement waited 200ms for a lock")
        .stderr_has("Retrying 0002_note (2 of 2) in 1.00 s")
        .stderr_has("held by pid ")
        .stderr_has("(report-job), idle in transaction for ")
        .stderr_has("SELECT count(*) FROM orders")
        .stderr_has("55P03")
        .stderr_has("waited longer than its lock timeout")
        .stderr_has("it was rolled back and the database is as it was before it");
    // Three tries of 200 ms and two pauses: nowhere near a wait without a timeout.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(p.db().fingerprint(), before);
    drop(holder);
    p.godwit(&["up"]).ok().stderr_has("applied 1 migration");
}

#[test]
fn a_migration_that_gets_the_lock_on_a_later_try_is_applied() {
    let Some(p) = project() else { return };
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    // Two migrations sent together: the second waits for the lock, and runs again alone.
    p.migration("0002_a.sql", "CREATE TABLE a (id bigint);", None);
    p.migration("0003_note.sql", "ALTER TABLE orders ADD COLUMN note text;", None);
    let mut holder = reader(&p, "orders");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        holder.batch_execute("COMMIT").unwrap();
    });
    let run = p.godwit(&["up", "--statement-lock-timeout", "300ms", "--lock-retries", "5"]);
    release.join().unwrap();
    run.ok().stderr_has("Retrying 0003_note (1 of 5)").stderr_has("applied 2 migrations");
    assert_eq!(p.db().columns("orders"), ["id", "note"]);
}

#[test]
fn a_file_gives_its_own_timeout_or_none() {
    let Some(p) = project() else { return };
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    p.write(
        "migrations/0002_note.sql",
        "-- godwit:lock-timeout 150ms\n-- godwit:up\nALTER TABLE orders ADD COLUMN note text;\n",
    );
    let holder = reader(&p, "orders");
    // The run would wait a minute; the file gives up after 150 ms.
    let started = Instant::now();
    p.godwit(&["up", "--statement-lock-timeout", "60s", "--lock-retries", "0"])
        .code(1)
        .stderr_has("55P03");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    drop(holder);
    let mut holder = reader(&p, "orders");
    // `off`: it waits as long as it takes, here until the reader ends.
    p.write(
        "migrations/0002_note.sql",
        "-- godwit:lock-timeout off\n-- godwit:up\nALTER TABLE orders ADD COLUMN note text;\n",
    );
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        holder.batch_execute("COMMIT").unwrap();
    });
    p.godwit(&["up", "--statement-lock-timeout", "100ms", "--lock-retries", "0"]).ok();
    release.join().unwrap();
    assert_eq!(p.db().columns("orders"), ["id", "note"]);
}

/// `CREATE INDEX CONCURRENTLY` waits for every transaction older than it (and for
/// autovacuum's lock on the table): a lock timeout would fail it and leave an invalid index,
/// so godwit sets none for it, while the other statements of its file keep theirs.
#[test]
fn concurrently_waits_for_older_transactions_as_long_as_it_takes() {
    let Some(p) = project() else { return };
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint, customer bigint);", None);
    p.godwit(&["up"]).ok();
    p.write(
        "migrations/0002_index.sql",
        "-- godwit:no-transaction\n-- godwit:up\n\
         CREATE INDEX CONCURRENTLY orders_customer ON orders (customer);\n\
         ALTER TABLE orders ADD COLUMN note text;\n",
    );
    // A transaction older than the index build, holding a lock that conflicts with its
    // SHARE UPDATE EXCLUSIVE, as a VACUUM would.
    let mut holder = ::postgres::Client::connect(&p.url, ::postgres::NoTls).unwrap();
    holder.batch_execute("BEGIN; LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE;").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        holder.batch_execute("COMMIT").unwrap();
    });
    p.godwit(&["up", "--statement-lock-timeout", "100ms", "--lock-retries", "0"])
        .ok()
        .stderr_has("applied 1 migration");
    release.join().unwrap();
    let valid =
        "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'orders_customer'::regclass";
    assert_eq!(p.db().scalar(valid), "true");
    // The statement after it ran with the timeout, once the old transaction had ended.
    assert_eq!(p.db().columns("orders"), ["id", "customer", "note"]);
}

/// Outside a transaction the other statements keep the timeout, and one that gave up (and did
/// nothing) is tried again on its own.
#[test]
fn a_statement_outside_a_transaction_is_tried_again() {
    let Some(p) = project() else { return };
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    p.write(
        "migrations/0002_note.sql",
        "-- godwit:no-transaction\n-- godwit:up\nCREATE TABLE a (id bigint);\nALTER TABLE orders ADD COLUMN note text;\n",
    );
    let mut holder = reader(&p, "orders");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        holder.batch_execute("COMMIT").unwrap();
    });
    p.godwit(&["up", "--statement-lock-timeout", "300ms", "--lock-retries", "5"])
        .ok()
        .stderr_has("Retrying 0002_note (1 of 5)");
    release.join().unwrap();
    assert_eq!(p.db().columns("orders"), ["id", "note"]);
}

/// The whole story: a session holds a read lock in an open transaction; the migration's
/// `ACCESS EXCLUSIVE` request times out, is retried, names that session, and succeeds once it
/// commits; meanwhile a third session reading the table waits at most about one lock timeout
/// at a time (the queue behind the migration's request), never as long as the holder held on.
#[test]
fn the_application_reads_on_while_a_blocked_migration_retries() {
    let Some(p) = project() else { return };
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", None);
    p.godwit(&["up"]).ok();
    p.migration("0002_note.sql", "ALTER TABLE orders ADD COLUMN note text;", None);
    let mut holder = reader(&p, "orders");
    let held = Duration::from_millis(3000);
    let release = std::thread::spawn(move || {
        std::thread::sleep(held);
        holder.batch_execute("COMMIT").unwrap();
    });
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reads = {
        let (url, done) = (p.url.clone(), done.clone());
        std::thread::spawn(move || {
            let mut app = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            let mut slowest = Duration::ZERO;
            let mut count = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                app.query_one("SELECT count(*) FROM orders", &[]).unwrap();
                slowest = slowest.max(started.elapsed());
                count += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (slowest, count)
        })
    };
    let run = p.godwit(&["up", "--statement-lock-timeout", "300ms", "--lock-retries", "10"]);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    release.join().unwrap();
    let (slowest, count) = reads.join().unwrap();
    run.ok()
        .stderr_has("Retrying 0002_note (1 of 10)")
        .stderr_has("held by pid ")
        .stderr_has("(report-job), idle in transaction for ")
        .stderr_has("applied 1 migration");
    assert_eq!(p.db().columns("orders"), ["id", "note"]);
    // Reads queue behind the migration's request for at most its 300 ms timeout; without
    // one they would have waited the holder's 3 s.
    assert!(count > 10, "{count} reads");
    assert!(slowest < Duration::from_millis(1500), "a read waited {slowest:?}");
}
