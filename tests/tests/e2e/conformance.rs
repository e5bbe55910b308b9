//! The driver conformance suite: one set of cases, generic over [`godwit::Driver`], run on
//! SQLite and PostgreSQL. A new backend passes these before it is wired into the CLI.

use godwit::{
    ConnectOptions, Dialect, Driver, Event, Key, Migrator, NewRecord, ParamRows, RecordState,
    Reporter, Request, Value, Version,
};
use godwit_tests::{Project, on_both};

fn connect(p: &Project) -> Box<dyn Driver> {
    godwit::connect(&p.url, &ConnectOptions::default()).unwrap()
}

fn record(version: Option<i64>, name: &str) -> NewRecord<'_> {
    NewRecord {
        stream: "",
        version: version.and_then(Version::new),
        name,
        kind: "sql",
        checksum: "ab".repeat(32).leak(),
        execution_ms: 7,
        state: RecordState::Applied,
    }
}

fn history_is_empty_until_created_and_creation_is_idempotent(p: &Project) {
    let mut db = connect(p);
    assert!(db.history().unwrap().is_empty());
    assert!(!p.db().has_history_table(), "reading the history creates nothing");
    db.ensure_history().unwrap();
    db.ensure_history().unwrap();
    assert!(p.db().has_history_table());
    assert!(db.history().unwrap().is_empty());
}

fn records_round_trip(p: &Project) {
    let mut db = connect(p);
    db.ensure_history().unwrap();
    db.insert_record(&record(Some(20261122093000), "big")).unwrap();
    db.insert_record(&record(Some(2), "two")).unwrap();
    db.insert_record(&record(None, "views")).unwrap();
    let rows = db.history().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].version, Version::new(2));
    assert_eq!(rows[1].version, Version::new(20261122093000));
    assert_eq!(rows[2].key(), Key::Repeatable("views".into()));
    assert_eq!(rows[0].execution_ms, 7);
    assert_eq!(rows[0].godwit_version, godwit::GODWIT_VERSION);
    assert_eq!(rows[0].applied_at.len(), 20, "{}", rows[0].applied_at);
    // A version and a repeatable name are each recorded at most once.
    assert!(db.insert_record(&record(Some(2), "again")).is_err());
    assert!(db.insert_record(&record(None, "views")).is_err());
    // The same version and name in a pack's stream are other rows.
    db.insert_record(&NewRecord { stream: "billing", ..record(Some(2), "two") }).unwrap();
    db.insert_record(&NewRecord { stream: "billing", ..record(None, "views") }).unwrap();
    let rows = db.history().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!((rows[3].stream.as_str(), rows[3].label()), ("billing", "billing:2_two".into()));
    db.update_checksum("", &Key::Repeatable("views".into()), &"cd".repeat(32)).unwrap();
    db.delete_record("", &Key::Versioned(Version::new(2).unwrap())).unwrap();
    db.update_progress(
        "billing",
        &Key::Versioned(Version::new(2).unwrap()),
        Some("c"),
        5,
        RecordState::InProgress,
    )
    .unwrap();
    let rows = db.history().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1].checksum.as_str(), "cd".repeat(32));
    assert_eq!(rows[2].state, RecordState::InProgress, "{:?}", rows[2]);
    assert_eq!(rows[3].checksum.as_str(), "ab".repeat(32), "only the project's row changed");
    db.delete_record("billing", &Key::Repeatable("views".into())).unwrap();
    assert_eq!(db.history().unwrap().len(), 3);
}

fn rollback_discards_statements_and_records(p: &Project) {
    let mut db = connect(p);
    db.ensure_history().unwrap();
    db.begin().unwrap();
    db.execute("create table t (x int)").unwrap();
    db.insert_record(&record(Some(1), "t")).unwrap();
    db.rollback().unwrap();
    assert!(p.db().tables().is_empty());
    assert!(db.history().unwrap().is_empty());
    db.begin().unwrap();
    db.execute("create table t (x int)").unwrap();
    db.insert_record(&record(Some(1), "t")).unwrap();
    db.commit().unwrap();
    // A second step fails and is rolled back alone.
    db.begin().unwrap();
    db.execute("create table u (x int)").unwrap();
    db.rollback().unwrap();
    db.sync().unwrap();
    assert_eq!(p.db().tables(), ["t"]);
    assert_eq!(db.history().unwrap().len(), 1);
}

fn errors_carry_the_database_code(p: &Project) {
    let mut db = connect(p);
    let error = db.execute("select * from no_such_table").unwrap_err();
    assert!(error.message.contains("no_such_table"), "{error}");
    let code = error.code.unwrap();
    assert!(code == "42P01" || code == "SQLITE_ERROR", "{code}");
}

fn the_lock_is_exclusive_between_connections(p: &Project) {
    let mut first = connect(p);
    let mut second = connect(p);
    assert!(first.try_lock().unwrap());
    assert!(!second.try_lock().unwrap());
    first.unlock().unwrap();
    assert!(second.try_lock().unwrap());
    second.unlock().unwrap();
    // Ending the connection releases the lock too.
    assert!(first.try_lock().unwrap());
    drop(first);
    assert!(second.try_lock().unwrap());
}

fn parameters_and_queries_round_trip(p: &Project) {
    let mut db = connect(p);
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
        Dialect::Postgres => Value::Boolean(true),
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
        });
    }
}

fn migrator_reports_each_step_and_waits_for_the_lock(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);\ncreate table b (x int);", None);
    let migrator = Migrator::load(p.path("migrations"))
        .unwrap()
        .with_lock_timeout(std::time::Duration::from_millis(300));
    let mut holder = connect(p);
    assert!(holder.try_lock().unwrap());
    let mut db = connect(p);
    let mut events = Recorder::default();
    let error = migrator.run(&mut db, &Request::up(), &mut events).unwrap_err();
    assert!(matches!(error, godwit::Error::LockTimeout { .. }), "{error}");
    assert_eq!(events.0, ["wait"]);
    holder.unlock().unwrap();
    let mut events = Recorder::default();
    let report = migrator.run(&mut db, &Request::up(), &mut events).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(events.0, ["start 0001_a", "line 2", "line 3", "done 0001_a"]);
    // The run released the lock.
    assert!(holder.try_lock().unwrap());
}

on_both!(
    history_is_empty_until_created_and_creation_is_idempotent,
    records_round_trip,
    rollback_discards_statements_and_records,
    errors_carry_the_database_code,
    the_lock_is_exclusive_between_connections,
    migrator_reports_each_step_and_waits_for_the_lock,
    parameters_and_queries_round_trip,
);
