//! The driver conformance suite: one set of cases, generic over [`godwit::driver::Driver`], run on
//! SQLite and PostgreSQL. A new backend passes these before it is wired into the CLI.

use godwit::driver::StepWork;
use godwit::driver::Write;
use godwit::driver::{DbError, Dialect, Driver, ParamRows, Value};
use godwit::history;
use godwit::history::{AppliedMigration, NewRecord, RecordState};
use godwit::migration::{Key, Kind};
use godwit::{
    Checksum, ConnectOptions, Connection, Event, Migrator, Reporter, Request, Stream, Version,
};
use godwit_tests::{Project, on_both};

fn connect(p: &Project) -> Connection {
    godwit::connect(&p.url, &ConnectOptions::default()).unwrap()
}

fn record<'a>(stream: &'a Stream, version: Option<i64>, name: &'a str) -> NewRecord<'a> {
    NewRecord {
        stream,
        version: version.and_then(Version::new),
        name,
        kind: Kind::Sql,
        checksum: Box::leak(Box::new(Checksum::from_stored("ab".repeat(32)))),
        execution_ms: Some(7),
        state: RecordState::Applied,
    }
}

/// godwit's history writes in a transaction of their own, made durable.
fn write(db: &mut dyn Driver, writes: &[Write]) -> Result<(), DbError> {
    db.begin()?;
    db.finish(writes).inspect_err(|_| {
        let _ = db.rollback();
    })?;
    db.sync()
}

fn insert(db: &mut dyn Driver, record: &NewRecord<'_>) -> Result<(), DbError> {
    let insert = history::record(db, record);
    write(db, &[insert])
}

fn read(db: &mut dyn Driver) -> Vec<AppliedMigration> {
    history::read(db).unwrap()
}

fn history_is_empty_until_created_and_creation_is_idempotent(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    assert!(read(db).is_empty());
    assert!(!p.db().has_history_table(), "reading the history creates nothing");
    history::ensure(db).unwrap();
    history::ensure(db).unwrap();
    assert!(p.db().has_history_table());
    assert!(read(db).is_empty());
}

fn records_round_trip(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    let (project, billing) = (Stream::Project, Stream::pack("billing"));
    history::ensure(db).unwrap();
    insert(db, &record(&project, Some(20261122093000), "big")).unwrap();
    insert(db, &record(&project, Some(2), "two")).unwrap();
    insert(db, &record(&project, None, "views")).unwrap();
    let rows = read(db);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].version, Version::new(2));
    assert_eq!(rows[1].version, Version::new(20261122093000));
    assert_eq!(rows[2].key(), Key::Repeatable("views".into()));
    assert_eq!(rows[0].execution_ms, 7);
    assert_eq!(rows[0].godwit_version, godwit::GODWIT_VERSION);
    assert_eq!(rows[0].applied_at.len(), 20, "{}", rows[0].applied_at);
    // A version and a repeatable name are each recorded at most once.
    assert!(insert(db, &record(&project, Some(2), "again")).is_err());
    assert!(insert(db, &record(&project, None, "views")).is_err());
    // The same version and name in a pack's stream are other rows.
    insert(db, &record(&billing, Some(2), "two")).unwrap();
    insert(db, &record(&billing, None, "views")).unwrap();
    let rows = read(db);
    assert_eq!(rows.len(), 5);
    assert_eq!((&rows[3].stream, rows[3].label()), (&billing, "billing:2_two".into()));
    let two = Key::Versioned(Version::new(2).unwrap());
    let views = Key::Repeatable("views".into());
    let writes = [
        history::set_checksum(db, &project, &views, &Checksum::from_stored("cd".repeat(32))),
        history::forget(db, &project, &two),
        history::set_progress(db, &billing, &two, Some("c"), 5, RecordState::InProgress),
    ];
    write(db, &writes).unwrap();
    let rows = read(db);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1].checksum.as_str(), "cd".repeat(32));
    assert_eq!(rows[2].state, RecordState::InProgress, "{:?}", rows[2]);
    assert_eq!(rows[3].checksum.as_str(), "ab".repeat(32), "only the project's row changed");
    let forget = history::forget(db, &billing, &views);
    write(db, &[forget]).unwrap();
    assert_eq!(read(db).len(), 3);
}

fn rollback_discards_statements_and_records(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    let project = Stream::Project;
    history::ensure(db).unwrap();
    db.begin().unwrap();
    db.execute("create table t (x int)").unwrap();
    db.rollback().unwrap();
    assert!(p.db().tables().is_empty());
    assert!(read(db).is_empty());
    db.begin().unwrap();
    db.execute("create table t (x int)").unwrap();
    let insert = history::record(db, &record(&project, Some(1), "t"));
    db.finish(&[insert]).unwrap();
    // A second step fails and is rolled back alone.
    db.begin().unwrap();
    db.execute("create table u (x int)").unwrap();
    db.rollback().unwrap();
    // A step whose history write fails is rolled back with its statements.
    db.begin().unwrap();
    db.execute("create table v (x int)").unwrap();
    let again = history::record(db, &record(&project, Some(1), "t"));
    assert!(db.finish(&[again]).is_err());
    db.rollback().unwrap();
    db.sync().unwrap();
    assert_eq!(p.db().tables(), ["t"]);
    assert_eq!(read(db).len(), 1);
}

/// A step of `run_steps`: its statements, then the history row of `version`, whose execution
/// time the driver measures.
fn step<'a>(db: &dyn Driver, version: i64, statements: Vec<&'a str>) -> StepWork<'a> {
    let record = NewRecord { execution_ms: None, ..record(&Stream::Project, Some(version), "s") };
    StepWork { statements, writes: vec![history::record(db, &record)] }
}

fn steps_run_in_order_and_stop_at_the_first_failure(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    history::ensure(db).unwrap();
    let steps = [
        step(db, 1, vec!["create table s1 (x int)", "insert into s1 values (1)"]),
        step(db, 2, vec!["create table s2 (x int)", "insert into nowhere values (1)"]),
        step(db, 3, vec!["create table s3 (x int)"]),
    ];
    let run = db.run_steps(&steps);
    assert_eq!(run.took.len(), 1, "{run:?}");
    let failure = run.failure.unwrap();
    assert_eq!((failure.step, failure.statement), (1, Some(1)), "{failure:?}");
    assert!(failure.error.message.contains("nowhere"), "{}", failure.error);
    db.sync().unwrap();
    assert_eq!(
        p.db().tables(),
        ["s1"],
        "the failed step is rolled back, the one after it never ran"
    );
    let rows = read(db);
    assert_eq!(rows.iter().map(|r| r.version).collect::<Vec<_>>(), [Version::new(1)]);
    assert!(rows[0].execution_ms >= 0);
    // The rest runs later, all of it.
    let run = db.run_steps(&[step(db, 2, vec!["create table s2 (x int)"]), steps[2].clone()]);
    assert_eq!((run.took.len(), run.failure), (2, None));
    db.sync().unwrap();
    assert_eq!(p.db().tables(), ["s1", "s2", "s3"]);
    assert_eq!(read(db).len(), 3);
}

fn errors_carry_the_database_code(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    let error = db.execute("select * from no_such_table").unwrap_err();
    assert!(error.message.contains("no_such_table"), "{error}");
    let code = error.code.unwrap();
    assert!(code == "42P01" || code == "SQLITE_ERROR", "{code}");
}

fn the_lock_is_exclusive_between_connections(p: &Project) {
    let (mut first, mut second) = (connect(p), connect(p));
    assert!(first.driver().unwrap().try_lock().unwrap());
    assert!(!second.driver().unwrap().try_lock().unwrap());
    first.driver().unwrap().unlock().unwrap();
    assert!(second.driver().unwrap().try_lock().unwrap());
    second.driver().unwrap().unlock().unwrap();
    // Ending the connection releases the lock too: on PostgreSQL once the server has seen
    // the session end, which the client does not wait for.
    assert!(first.driver().unwrap().try_lock().unwrap());
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !second.driver().unwrap().try_lock().unwrap() {
        assert!(std::time::Instant::now() < deadline, "the lock outlived its connection");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn parameters_and_queries_round_trip(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    db.execute("create table t (i int, r double precision, s text, b bytea, n text, flag boolean)")
        .unwrap();
    let insert = "insert into t values ($1, $2, $3, $4, $5, $6)";
    let row = |i: i64, s: &str| {
        vec![
            Value::Integer(i),
            Value::Real(i as f64 / 2.0),
            Value::Text(s.to_owned()),
            Value::Blob(vec![0, 159, 255]),
            Value::Null,
            Value::Boolean(i % 2 == 0),
        ]
    };
    assert_eq!(db.execute_with(insert, &row(1, "it's")).unwrap(), 1);
    let many = [row(2, "ünï"), row(3, "")].concat();
    assert_eq!(db.execute_many(insert, ParamRows::new(6, &many).unwrap()).unwrap(), 2);
    assert!(
        ParamRows::new(5, &many).unwrap_err().message.contains("not a multiple of the row width 5")
    );
    assert_eq!(db.execute_many(insert, ParamRows::new(0, &[]).unwrap()).unwrap(), 0);
    let rows = db
        .query("select i, r, s, b, n, flag from t where i >= $1 order by i", &[Value::Integer(2)])
        .unwrap();
    assert_eq!(rows.columns, ["i", "r", "s", "b", "n", "flag"]);
    assert_eq!(rows.len(), 2);
    let first = rows.iter().next().unwrap();
    assert_eq!(first[0], Value::Integer(2));
    assert_eq!(first[1], Value::Real(1.0));
    assert_eq!(first[2], Value::Text("ünï".into()));
    assert_eq!(first[3], Value::Blob(vec![0, 159, 255]));
    assert_eq!(first[4], Value::Null);
    // SQLite has no boolean type: it stores 1 and 0.
    let expected_flag = match db.dialect() {
        Dialect::Sqlite => Value::Integer(1),
        _ => Value::Boolean(true),
    };
    assert_eq!(first[5], expected_flag);
    assert_eq!(
        db.execute_with(
            "update t set n = $1 where i < $2",
            &[Value::Text("x".into()), Value::Integer(3)]
        )
        .unwrap(),
        2
    );
    let error =
        db.execute_with("insert into nowhere values ($1)", &[Value::Integer(1)]).unwrap_err();
    assert!(error.code.is_some(), "{error}");
}

#[derive(Default)]
struct Recorder(Vec<String>);

impl Reporter for Recorder {
    fn report(&mut self, event: Event<'_>) {
        self.0.push(match event {
            Event::WaitingForLock { .. } => "wait".to_owned(),
            Event::StepStarted { step, .. } => format!("start {}", step.migration.label),
            Event::Statement { line, .. } => format!("line {line}"),
            Event::StepFinished { step, .. } => format!("done {}", step.migration.label),
            Event::GuestOutput { line, .. } => format!("output {line}"),
            Event::BatchCommitted { rows_done, .. } => format!("batch {rows_done}"),
            _ => "other".to_owned(),
        });
    }
}

fn migrator_reports_each_step_and_waits_for_the_lock(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);\ncreate table b (x int);", None);
    let migrator = Migrator::load(p.path("migrations"))
        .unwrap()
        .with_lock_timeout(std::time::Duration::from_millis(300));
    let mut holder = connect(p);
    assert!(holder.driver().unwrap().try_lock().unwrap());
    let mut db = connect(p);
    let mut events = Recorder::default();
    let error = migrator.run(&mut db, &Request::up(), &mut events).unwrap_err();
    assert!(matches!(error, godwit::Error::LockTimeout { .. }), "{error}");
    assert_eq!(events.0, ["wait"]);
    holder.driver().unwrap().unlock().unwrap();
    let mut events = Recorder::default();
    let report = migrator.run(&mut db, &Request::up(), &mut events).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(events.0, ["start 0001_a", "line 2", "line 3", "done 0001_a"]);
    // The run released the lock.
    assert!(holder.driver().unwrap().try_lock().unwrap());
}

/// `execute_many` over more rows than one round trip carries: in a step's transaction it
/// reports the first failing row's error and nothing after it happens; outside one, the rows
/// before the failure stay and none after it runs, as when the rows go one by one.
fn many_rows_stop_at_the_first_failure(p: &Project) {
    let mut conn = connect(p);
    let db = conn.driver().unwrap();
    db.execute("create table u (id int primary key)").unwrap();
    let ids = |failing: i64| -> Vec<Value> {
        (1..=3000).map(|i| Value::Integer(if i == failing { 1 } else { i })).collect()
    };
    let insert = "insert into u values ($1)";
    let count =
        |db: &mut dyn godwit::driver::Driver| db.query("select count(*) from u", &[]).unwrap();
    db.begin().unwrap();
    let all = ids(0);
    assert_eq!(db.execute_many(insert, ParamRows::new(1, &all).unwrap()).unwrap(), 3000);
    db.rollback().unwrap();
    db.begin().unwrap();
    let failing = ids(2500);
    let error = db.execute_many(insert, ParamRows::new(1, &failing).unwrap()).unwrap_err();
    assert!(error.code.is_some(), "{error:?}");
    db.rollback().unwrap();
    assert_eq!(count(db).values[0], Value::Integer(0));
    let failing = ids(1500);
    db.execute_many(insert, ParamRows::new(1, &failing).unwrap()).unwrap_err();
    let after = db.query("select count(*) from u where id > 1500", &[]).unwrap();
    assert_eq!(after.values[0], Value::Integer(0), "rows after the failure ran");
}

on_both!(
    many_rows_stop_at_the_first_failure,
    history_is_empty_until_created_and_creation_is_idempotent,
    records_round_trip,
    rollback_discards_statements_and_records,
    errors_carry_the_database_code,
    steps_run_in_order_and_stop_at_the_first_failure,
    the_lock_is_exclusive_between_connections,
    migrator_reports_each_step_and_waits_for_the_lock,
    parameters_and_queries_round_trip,
);
