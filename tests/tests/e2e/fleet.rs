//! A fleet: `up` and `status` over many databases at once (`--targets FILE`, `[fleet]`), a
//! failing database told while the others are migrated, a rerun finishing what is left,
//! shards that split the list without overlap, and a rollout that stops when asked.

use godwit_tests::{Backend, Project};

/// A project whose migrations make two tables, and `n` SQLite files listed in tenants.txt;
/// the `broken` one already has the second table, so its second migration fails.
fn sqlite_fleet(n: usize, broken: Option<usize>) -> Project {
    let p = Project::new(Backend::Sqlite).unwrap();
    p.migration("0001_orders.sql", "CREATE TABLE orders (id integer PRIMARY KEY);", None);
    p.migration("0002_lines.sql", "CREATE TABLE lines (id integer PRIMARY KEY);", None);
    std::fs::create_dir(p.path("tenants")).unwrap();
    let mut list = String::from("# one database per tenant\n");
    for i in 1..=n {
        let path = p.path(&format!("tenants/t{i}.db"));
        if broken == Some(i) {
            let db = rusqlite::Connection::open(&path).unwrap();
            db.execute_batch("CREATE TABLE lines (x integer);").unwrap();
        }
        list.push_str(&format!("sqlite:{}\n", path.display()));
    }
    p.write("tenants.txt", &list);
    p
}

#[test]
fn a_failing_database_is_told_and_the_others_are_migrated_then_a_rerun_finishes() {
    let p = sqlite_fleet(6, Some(3));
    // A dry run says what each would get, and changes nothing.
    p.godwit(&["up", "--targets", "tenants.txt", "--dry-run"])
        .ok()
        .stderr_has("t1.db: would apply 2 migrations");
    assert!(
        !p.path("tenants/t1.db").exists() || {
            let db = rusqlite::Connection::open(p.path("tenants/t1.db")).unwrap();
            db.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'orders'", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
                == 0
        }
    );
    let run = p.godwit(&["up", "--targets", "tenants.txt", "--parallel", "3"]);
    run.code(1)
        .stderr_has("Migrated sqlite:")
        .stderr_has("t3.db: applying 0002_lines failed")
        .stderr_has("Fleet 6 databases: 5 migrated, 0 unchanged, 1 failed");
    let status = p.godwit(&["status", "--targets", "tenants.txt"]);
    status.ok().stdout_has("        5  0002_lines").stdout_has("        1  0001_orders");
    // The broken tenant fixed: the rerun migrates only what is left.
    let fixed = rusqlite::Connection::open(p.path("tenants/t3.db")).unwrap();
    fixed.execute_batch("DROP TABLE lines;").unwrap();
    p.godwit(&["up", "--targets", "tenants.txt"])
        .ok()
        .stderr_has("Fleet 6 databases: 1 migrated, 5 unchanged");
    let json: serde_json::Value = serde_json::from_str(
        &p.godwit(&["status", "--targets", "tenants.txt", "--format", "json"]).stdout,
    )
    .unwrap();
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6);
    assert!(targets.iter().all(|t| t["newest"] == "0002_lines" && t["pending"] == 0), "{json}");
}

#[test]
fn a_rollout_stops_when_asked_and_shards_split_the_fleet() {
    let p = sqlite_fleet(9, Some(1));
    p.godwit(&["up", "--targets", "tenants.txt", "--parallel", "1", "--fail-fast"])
        .code(1)
        .stderr_has("0 migrated, 0 unchanged, 1 failed, 8 not started (the rollout stopped)");
    p.godwit(&["up", "--targets", "tenants.txt", "--parallel", "1", "--max-failures", "1"])
        .code(1)
        .stderr_has("8 not started");
    // Two canaries, the first broken: the other seven wait.
    p.godwit(&["up", "--targets", "tenants.txt", "--canary", "2"])
        .code(1)
        .stderr_has("1 migrated, 0 unchanged, 1 failed, 7 not started");
    // Three runners, each its share: every database exactly once.
    p.godwit(&["up", "--targets", "tenants.txt"]).code(1).stderr_has("7 migrated, 1 unchanged");
    p.write("godwit.toml", "[fleet]\ncommand = \"grep -v '^#' tenants.txt\"\n");
    p.godwit(&["status", "--fleet"]).ok().stderr_has("Fleet 9 databases, 0 unreadable");
    p.write("godwit.toml", "[fleet]\ncommand = \"echo no such list >&2; exit 3\"\n");
    p.godwit(&["status", "--fleet"]).code(2).stderr_has("failed (exit status: 3): no such list");
    p.write("godwit.toml", "[fleet]\nsqlite_dir = \"tenants\"\n");
    let mut seen = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let run = p.godwit(&["status", "--fleet", "--shard", shard, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        seen.extend(
            json["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["target"].as_str().unwrap().to_owned()),
        );
    }
    seen.sort();
    let before = seen.len();
    seen.dedup();
    assert_eq!((before, seen.len()), (9, 9), "{seen:?}");
}

#[test]
fn postgres_databases_of_a_fleet_one_unreachable_one_locked() {
    let Some(first) = Project::new(Backend::Postgres) else { return };
    first.migration("0001_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);", None);
    let others: Vec<String> = (0..3).map(|_| godwit_tests::pg::fresh_database().unwrap()).collect();
    let unreachable = "postgres://postgres@127.0.0.1:1/nowhere?connect_timeout=2";
    let mut list = format!("{}\n", first.url);
    for url in &others {
        list.push_str(&format!("{url}\n"));
    }
    list.push_str(&format!("{unreachable}\n"));
    first.write("tenants.txt", &list);
    // Another runner holds one database's migration lock: that one gives up after the lock
    // timeout, the others are migrated.
    let mut holder = godwit::connect(&others[0], &godwit::ConnectOptions::default()).unwrap();
    assert!(holder.driver().unwrap().try_lock().unwrap());
    first
        .godwit(&["up", "--targets", "tenants.txt", "--parallel", "4", "--lock-timeout", "1s"])
        .code(1)
        .stderr_has("Failed postgres://postgres@127.0.0.1:1/nowhere")
        .stderr_has("cannot connect")
        .stderr_has("another godwit")
        .stderr_has("Fleet 5 databases: 3 migrated, 0 unchanged, 2 failed");
    holder.driver().unwrap().unlock().unwrap();
    first
        .godwit(&["up", "--targets", "tenants.txt", "--parallel", "4"])
        .code(1)
        .stderr_has("Fleet 5 databases: 1 migrated, 3 unchanged, 1 failed");
    first
        .godwit(&["status", "--targets", "tenants.txt"])
        .code(1)
        .stdout_has("        4  0001_orders")
        .stdout_has(
            "        1  unreadable: cannot connect to postgres://postgres@127.0.0.1:1/nowhere",
        );
}

/// A schema per tenant on one database: `[fleet] schemas`, or a query that lists them; each
/// tenant's tables and history in its own schema.
#[test]
fn postgres_schemas_of_one_database_as_a_fleet() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    p.db().execute("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_c;");
    p.migration("0001_notes.sql", "CREATE TABLE notes (id bigint);", None);
    p.write("godwit.toml", "[fleet]\nschemas = [\"tenant_a\", \"tenant_b\"]\n");
    p.godwit(&["up", "--fleet"]).ok().stderr_has("Fleet 2 databases: 2 migrated");
    let tables = "SELECT string_agg(schemaname || '.' || tablename, ' ' ORDER BY schemaname, tablename) FROM pg_tables \
                  WHERE schemaname LIKE 'tenant%'";
    assert_eq!(
        p.db().scalar(tables),
        "tenant_a.godwit_history tenant_a.notes tenant_b.godwit_history tenant_b.notes"
    );
    p.write(
        "godwit.toml",
        "[fleet]\nquery = \"SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'tenant%' ORDER BY 1\"\n",
    );
    p.godwit(&["up", "--fleet"]).ok().stderr_has("Fleet 3 databases: 1 migrated, 2 unchanged");
    p.godwit(&["status", "--fleet"]).ok().stdout_has("        3  0001_notes");
}

#[test]
fn down_and_validate_on_a_fleet() {
    let p = sqlite_fleet(3, None);
    p.godwit(&["up", "--targets", "tenants.txt"]).ok().stderr_has("3 migrated");
    p.godwit(&["validate", "--targets", "tenants.txt"])
        .ok()
        .stderr_has("Fleet 3 databases, 0 with problems");
    p.write("migrations/0002_lines.sql", "-- godwit:up\nCREATE TABLE lines (id integer PRIMARY KEY, note text);\n-- godwit:down\nDROP TABLE lines;\n");
    p.godwit(&["validate", "--targets", "tenants.txt"])
        .code(1)
        .stderr_has("t2.db: 0002_lines was modified after it was applied")
        .stderr_has("3 with problems or unreadable");
    p.godwit(&["repair", "--yes"]).ok();
    for i in 1..=3 {
        let url = format!("sqlite:{}", p.path(&format!("tenants/t{i}.db")).display());
        p.command().env("DATABASE_URL", &url).args(["repair", "--yes"]).output().unwrap();
    }
    p.godwit(&["down", "--targets", "tenants.txt"])
        .ok()
        .stderr_has("reverted 1 migration")
        .stderr_has("Fleet 3 databases: 3 migrated, 0 unchanged");
}

/// A fleet run killed (SIGKILL) part-way, then run again: every database ends with every
/// migration applied exactly once (each migration writes a row to `runs` in its own
/// transaction, with its history row).
#[test]
fn a_killed_fleet_run_resumes_and_applies_each_migration_once() {
    let p = sqlite_fleet(8, None);
    let burn = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) \
                SELECT count(*) FROM c;";
    p.remove("migrations/0001_orders.sql");
    p.remove("migrations/0002_lines.sql");
    for i in 1..=3 {
        let create = if i == 1 { "CREATE TABLE runs (migration integer);\n" } else { "" };
        p.migration(
            &format!("000{i}_step.sql"),
            &format!("{create}{burn}\nINSERT INTO runs VALUES ({i});"),
            None,
        );
    }
    let mut child =
        p.command().args(["up", "--targets", "tenants.txt", "--parallel", "2"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed part-way: some databases have not had every migration.
    let done = |i: usize| {
        let db = rusqlite::Connection::open(p.path(&format!("tenants/t{i}.db"))).unwrap();
        let runs = db.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0));
        runs.unwrap_or(0) == 3
    };
    let finished = (1..=8).filter(|i| done(*i)).count();
    assert!(finished < 8, "the run ended before it was killed");
    p.godwit(&["up", "--targets", "tenants.txt", "--parallel", "2"]).ok();
    for i in 1..=8 {
        let db = rusqlite::Connection::open(p.path(&format!("tenants/t{i}.db"))).unwrap();
        let runs: String = db
            .query_row(
                "SELECT group_concat(migration, ',') FROM (SELECT migration FROM runs ORDER BY 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(runs, "1,2,3", "tenant {i}");
    }
}

/// `lint` on a fleet: each finding once, with how many databases would apply it.
#[test]
fn lint_on_a_fleet_tells_each_finding_once() {
    let p = sqlite_fleet(3, None);
    p.migration("0003_type.sql", "ALTER TABLE orders ALTER COLUMN id TYPE text;", None);
    // The first database has all three already (recorded without running them).
    let first = format!("sqlite:{}", p.path("tenants/t1.db").display());
    let marked =
        p.command().env("DATABASE_URL", &first).args(["baseline", "--version", "3"]).output();
    assert!(marked.unwrap().status.success());
    p.godwit(&["lint", "--targets", "tenants.txt"])
        .code(1)
        .stdout_has("error[sqlite-alter-unsupported]: migrations/0003_type.sql:2: ")
        .stdout_has("(2 databases)")
        .stderr_has(
            "Linted 3 databases: 1 error and 0 warnings in their pending migrations, 0 unreadable",
        );
}

/// `transforms status` on a fleet: the transforms `up --defer-transforms` queued in each.
#[test]
fn transforms_status_on_a_fleet() {
    let p = sqlite_fleet(3, None);
    p.remove("migrations/0001_orders.sql");
    p.remove("migrations/0002_lines.sql");
    p.migration(
        "0001_people.sql",
        "CREATE TABLE people (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0);",
        None,
    );
    p.component("rust-backfill", "0002_split_names.wasm");
    p.godwit(&["lock"]).ok();
    p.godwit(&["transforms", "status", "--targets", "tenants.txt"])
        .ok()
        .stdout_has("        3  no transform");
    p.godwit(&["up", "--targets", "tenants.txt", "--defer-transforms"]).ok();
    p.godwit(&["transforms", "status", "--targets", "tenants.txt"])
        .ok()
        .stdout_has("        3  1 queued")
        .stderr_has("Fleet 3 databases, 0 unreadable");
}
