//! `godwit schema dump` and `godwit drift` against real databases: two databases built by the
//! same migrations dump the same bytes and show no drift; an object of each kind changed by
//! hand is reported in words; the dump runs on an empty database and gives the same schema
//! back; `dump_schema` is written after a run; `up --check-drift` refuses a drifted database.

use godwit_tests::{Backend, Project, on_both};

/// Migrations with an object of every kind the backend's model reads.
fn objects(p: &Project) {
    let sql = match p.backend {
        Backend::Postgres => {
            "CREATE SCHEMA shop;\n\
             CREATE TYPE mood AS ENUM ('happy', 'sad');\n\
             CREATE DOMAIN positive AS numeric CHECK (VALUE > 0);\n\
             CREATE SEQUENCE invoice_numbers START 1000;\n\
             CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
               email text NOT NULL UNIQUE, feeling mood DEFAULT 'happy');\n\
             CREATE TABLE shop.orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers, \
               total positive NOT NULL, number integer DEFAULT nextval('invoice_numbers'), \
               doubled numeric GENERATED ALWAYS AS (total * 2) STORED, CHECK (number > 0));\n\
             CREATE INDEX orders_customer ON shop.orders (customer_id);\n\
             CREATE VIEW big_orders AS SELECT id, total FROM shop.orders WHERE total > 100;\n\
             CREATE MATERIALIZED VIEW order_count AS SELECT count(*) AS n FROM shop.orders;\n\
             CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
             CREATE TRIGGER orders_touch BEFORE UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION touch();\n\
             ALTER TABLE customers ENABLE ROW LEVEL SECURITY;\n\
             CREATE POLICY own ON customers USING (email = current_user);\n\
             COMMENT ON TABLE customers IS 'who buys';\n\
             COMMENT ON COLUMN shop.orders.total IS 'with tax';\n\
             GRANT SELECT ON customers TO PUBLIC;"
        }
        Backend::Sqlite => {
            "CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL UNIQUE);\n\
             CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customers, \
               total numeric NOT NULL DEFAULT 0);\n\
             CREATE INDEX orders_customer ON orders (customer_id);\n\
             CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;\n\
             CREATE TRIGGER orders_positive BEFORE INSERT ON orders BEGIN SELECT 1; END;"
        }
    };
    p.migration("0001_objects.sql", sql, None);
}

fn the_same_migrations_make_the_same_schema(p: &Project) {
    objects(p);
    p.godwit(&["up"]).ok();
    let first = p.godwit(&["schema", "dump"]);
    first.ok().stdout_has("CREATE TABLE customers").stdout_has("CREATE VIEW big_orders AS");
    assert!(!first.stdout.contains("godwit_history"), "{}", first.stdout);
    assert_eq!(p.godwit(&["schema", "dump"]).stdout, first.stdout, "two dumps differ");
    // Another database, built by the same files.
    let other = Project::new(p.backend).unwrap();
    objects(&other);
    other.godwit(&["up"]).ok();
    assert_eq!(other.godwit(&["schema", "dump"]).stdout, first.stdout);
    p.godwit(&["drift"]).ok().stderr_has("Drift none: ");
    let json: serde_json::Value =
        serde_json::from_str(&p.godwit(&["drift", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["drifted"], false);
}

/// The dump, run on an empty database, makes a database that dumps the same.
fn the_dump_runs_on_an_empty_database(p: &Project) {
    objects(p);
    p.godwit(&["up"]).ok();
    let dump = p.godwit(&["schema", "dump", "--out", "db/schema.sql"]);
    dump.ok().stderr_has("Dumped the schema of ");
    let text = std::fs::read_to_string(p.path("db/schema.sql")).unwrap();
    let empty = Project::new(p.backend).unwrap();
    empty.db().execute(&text);
    assert_eq!(empty.godwit(&["schema", "dump"]).stdout.trim_end(), text.trim_end());
}

fn dump_schema_is_written_after_a_run_that_changes_something(p: &Project) {
    p.write("godwit.toml", "dump_schema = \"db/schema.sql\"\n");
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint);", Some("DROP TABLE orders;"));
    p.godwit(&["up"]).ok().stderr_has("Dumped the schema to ");
    let schema = std::fs::read_to_string(p.path("db/schema.sql")).unwrap();
    assert!(schema.contains("CREATE TABLE orders"), "{schema}");
    p.godwit(&["down"]).ok();
    let schema = std::fs::read_to_string(p.path("db/schema.sql")).unwrap();
    assert!(!schema.contains("CREATE TABLE orders"), "{schema}");
    // Nothing to do: the file is left alone.
    std::fs::remove_file(p.path("db/schema.sql")).unwrap();
    p.godwit(&["down"]).ok();
    assert!(!p.path("db/schema.sql").exists());
}

fn up_refuses_a_drifted_database_when_asked(p: &Project) {
    p.migration("0001_orders.sql", "CREATE TABLE orders (id bigint, note text);", None);
    p.godwit(&["up"]).ok();
    p.migration("0002_more.sql", "CREATE TABLE lines (id bigint);", None);
    p.godwit(&["up", "--check-drift", "--dry-run"]).ok();
    p.db().execute("CREATE INDEX orders_note ON orders (note)");
    let before = p.db().fingerprint();
    p.godwit(&["up", "--check-drift"])
        .code(1)
        .stderr_has("index orders_note exists in the database but no migration creates it")
        .stderr_has("has drifted from its migrations (1 difference); nothing was applied");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["up"]).ok();
}

/// Every down applied after its up on a scratch database: one that forgets an index is told
/// with what it leaves behind, one that drops what was there before is told too, one without
/// a down is irreversible; the project's database is not touched.
fn verify_finds_the_downs_that_do_not_undo_their_ups(p: &Project) {
    p.migration(
        "0001_orders.sql",
        "CREATE TABLE orders (id integer PRIMARY KEY, note text);",
        Some("DROP TABLE orders;"),
    );
    p.migration("0002_audit.sql", "CREATE TABLE audit (id integer);", Some("DROP TABLE audit;"));
    p.migration("0003_data.sql", "INSERT INTO orders VALUES (1, 'x');", None);
    p.godwit(&["verify"])
        .ok()
        .stdout_has("restored      0001_orders")
        .stdout_has("irreversible  0003_data (no down)")
        .stderr_has("Verified 3 migrations: 2 restored by their down, 1 irreversible");
    p.migration(
        "0004_notes.sql",
        "CREATE INDEX orders_note ON orders (note);",
        Some("DROP TABLE audit;"),
    );
    let before = p.db().fingerprint();
    let run = p.godwit(&["verify"]);
    run.code(1)
        .stdout_has("NOT UNDONE    0004_notes: its down\n    leaves index orders_note behind\n    drops table audit, which was there before its up")
        .stderr_has("1 not undone by their down");
    assert_eq!(p.db().fingerprint(), before, "verify changed the project's database");
    let json: serde_json::Value =
        serde_json::from_str(&p.godwit(&["verify", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["migrations"][3]["outcome"], "not_undone");
}

on_both!(
    squash_replaces_the_first_migrations_by_a_baseline,
    verify_finds_the_downs_that_do_not_undo_their_ups,
    the_same_migrations_make_the_same_schema,
    the_dump_runs_on_an_empty_database,
    dump_schema_is_written_after_a_run_that_changes_something,
    up_refuses_a_drifted_database_when_asked,
);

#[test]
fn postgres_objects_of_each_kind_changed_by_hand_are_told() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    objects(&p);
    p.godwit(&["up"]).ok();
    p.db().execute(
        "DROP POLICY own ON customers;\n\
         ALTER TABLE customers ALTER COLUMN email TYPE varchar(200);\n\
         CREATE INDEX customers_feeling ON customers (feeling);\n\
         CREATE OR REPLACE VIEW big_orders AS SELECT id, total FROM shop.orders WHERE total > 1000;\n\
         CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.total := NEW.total; RETURN NEW; END $$;\n\
         DROP TRIGGER orders_touch ON shop.orders;\n\
         ALTER TYPE mood ADD VALUE 'calm';\n\
         ALTER SEQUENCE invoice_numbers INCREMENT BY 10;\n\
         COMMENT ON TABLE customers IS 'who pays';\n\
         REVOKE SELECT ON customers FROM PUBLIC;\n\
         ALTER TABLE shop.orders DROP CONSTRAINT orders_number_check;\n\
         CREATE AGGREGATE total_of(numeric) (sfunc = numeric_add, stype = numeric);\n\
         ALTER DOMAIN positive ADD CONSTRAINT small CHECK (VALUE < 1000000);\n\
         DROP MATERIALIZED VIEW order_count;\n\
         CREATE MATERIALIZED VIEW order_count AS SELECT count(*) AS orders FROM shop.orders;\n\
         ALTER TABLE customers DISABLE ROW LEVEL SECURITY;\n\
         CREATE SCHEMA reports;",
    );
    let drift = p.godwit(&["drift"]);
    drift
        .code(1)
        .stdout_has("column customers.email: character varying(200) NOT NULL, migrations say text NOT NULL")
        .stdout_has("index customers_feeling exists in the database but no migration creates it")
        // PostgreSQL 15 prints `SELECT orders.id,`, 16 and later `SELECT id,`.
        .stdout_has("view big_orders: the database has `SELECT ")
        .stdout_has("> 1000::numeric`, migrations say `SELECT ")
        .stdout_has("function touch(): the database has `CREATE OR REPLACE FUNCTION public.touch()")
        .stdout_has("trigger orders_touch on shop.orders is created by the migrations but the database lacks it")
        .stdout_has("type mood: the database has `ENUM ('happy', 'sad', 'calm')`, migrations say `ENUM ('happy', 'sad')`")
        .stdout_has("sequence invoice_numbers: the database has `AS bigint INCREMENT BY 10")
        .stdout_has("comment on table customers: the database has `'who pays'`, migrations say `'who buys'`")
        .stdout_has("policy own on customers is created by the migrations but the database lacks it")
        .stdout_has("grant on table customers to PUBLIC is created by the migrations but the database lacks it")
        .stdout_has("constraint shop.orders.orders_number_check is created by the migrations but the database lacks it")
        .stdout_has("aggregate public.total_of(numeric) is of a kind godwit's schema model does not read: not compared")
        .stdout_has("domain positive: the database has `numeric CONSTRAINT positive_check CHECK ((VALUE > (0)::numeric)) CONSTRAINT small CHECK ((VALUE < (1000000)::numeric))`")
        .stdout_has("materialized view order_count: the database has `SELECT count(*) AS orders")
        .stdout_has("row-level security customers is created by the migrations but the database lacks it")
        .stdout_has("schema reports exists in the database but no migration creates it")
        .stderr_has("Drift 16 differences between ");
    let dump = p.godwit(&["schema", "dump"]);
    dump.ok()
        .stdout_has("-- not dumped: aggregate public.total_of(numeric)")
        .stderr_has("aggregate public.total_of(numeric) is not dumped");
}

#[test]
fn sqlite_objects_changed_by_hand_are_told() {
    let p = Project::new(Backend::Sqlite).unwrap();
    objects(&p);
    p.godwit(&["up"]).ok();
    p.db().execute(
        "ALTER TABLE orders ADD COLUMN note text;\n\
         CREATE INDEX orders_total ON orders (total);\n\
         DROP VIEW big_orders;\n\
         CREATE VIEW big_orders AS SELECT id FROM orders;\n\
         DROP TRIGGER orders_positive;",
    );
    p.godwit(&["drift"])
        .code(1)
        .stdout_has("column orders.note exists in the database but no migration creates it")
        .stdout_has("index orders_total exists in the database but no migration creates it")
        .stdout_has(
            "view big_orders: the database has `CREATE VIEW big_orders AS SELECT id FROM orders`",
        )
        .stdout_has(
            "trigger orders_positive is created by the migrations but the database lacks it",
        );
    // An empty dev database of the user's builds the same.
    p.godwit(&["drift", "--dev-url", "sqlite::memory:"]).code(1).stderr_has("Drift 4 differences");
}

/// The corpus beside the benchmarks (`bench/schema-corpus`): twelve migrations of a small
/// forum, four of whose downs do not undo their ups, as docs/schema.md lists them.
#[test]
fn postgres_corpus_downs_that_do_not_undo_are_found() {
    let Some(p) = Project::new(Backend::Postgres) else { return };
    let corpus = godwit_tests::root().join("bench/schema-corpus/migrations");
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        p.write(&format!("migrations/{name}"), &std::fs::read_to_string(&path).unwrap());
    }
    p.godwit(&["up", "--no-lint"]).ok();
    p.godwit(&["drift"]).ok();
    let run = p.godwit(&["verify"]);
    run.code(1)
        .stdout_has("NOT UNDONE    0005_updated_at_trigger: its down\n    leaves function set_updated_at() behind")
        .stdout_has("NOT UNDONE    0006_post_status: its down\n    leaves column posts.published as `boolean NOT NULL`; before its up it was `boolean DEFAULT false NOT NULL`")
        .stdout_has("NOT UNDONE    0007_user_email_lower: its down\n    leaves comment on column users.email behind")
        .stdout_has("NOT UNDONE    0009_email_type: its down\n    leaves column users.email as `character varying`; before its up it was `text`")
        .stdout_has("irreversible  0011_backfill_scores (no down)")
        .stderr_has("Verified 12 migrations: 7 restored by their down, 4 not undone by their down, 1 irreversible");
}

/// `godwit squash --to 3`: four migrations, databases at 2 (inside the squashed range), at 3
/// and at 4 (past it), and a new one. Those at 3 and 4 are untouched and validated against the
/// checksums the baseline keeps; the new one runs the baseline and ends as they are; the one
/// at 2 is refused, naming what it has.
fn squash_replaces_the_first_migrations_by_a_baseline(p: &Project) {
    for i in 1..=4 {
        p.migration(
            &format!("000{i}_t{i}.sql"),
            &format!("CREATE TABLE t{i} (id integer PRIMARY KEY, note text);\nCREATE INDEX t{i}_note ON t{i} (note);"),
            Some(&format!("DROP TABLE t{i};")),
        );
    }
    let at = |version: &str| {
        let db = Project::new(p.backend).unwrap();
        for entry in std::fs::read_dir(p.path("migrations")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            db.write(&format!("migrations/{name}"), &std::fs::read_to_string(&path).unwrap());
        }
        db.godwit(&["up", "--to", version]).ok();
        db
    };
    let (two, three) = (at("2"), at("3"));
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["squash", "--to", "3"])
        .ok()
        .stderr_has("Removed migrations/0001_t1.sql")
        .stderr_has("Squashed 3 migrations into migrations/0003_baseline.sql");
    assert_eq!(p.db().fingerprint(), before, "a squash changes no database");
    let baseline = std::fs::read_to_string(p.path("migrations/0003_baseline.sql")).unwrap();
    assert!(baseline.contains("-- godwit:squashes 0001_t1 "), "{baseline}");
    assert!(!p.path("migrations/0002_t2.sql").exists());
    // Past it: validated, nothing to do, no drift.
    p.godwit(&["validate"]).ok();
    p.godwit(&["up"]).ok().stderr_has("is up to date");
    p.godwit(&["drift"]).ok();
    p.godwit(&["status"]).ok().stdout_has("applied   0001_t1");
    let dumped = p.godwit(&["schema", "dump"]).stdout.clone();
    // At it: the new files apply 0004 only.
    for db in [&two, &three] {
        std::fs::remove_dir_all(db.path("migrations")).unwrap();
        std::fs::create_dir(db.path("migrations")).unwrap();
        for name in ["0003_baseline.sql", "0004_t4.sql"] {
            db.write(
                &format!("migrations/{name}"),
                &std::fs::read_to_string(p.path(&format!("migrations/{name}"))).unwrap(),
            );
        }
    }
    three.godwit(&["up"]).ok().stderr_has("applied 1 migration");
    assert_eq!(three.godwit(&["schema", "dump"]).stdout, dumped);
    // Inside it: refused, as it was.
    let inside = two.db().fingerprint();
    two.godwit(&["up"])
        .code(1)
        .stderr_has(
            "0003_baseline replaces migrations of which this database has only 0001_t1, 0002_t2",
        )
        .stderr_has("with the migration files from before the squash");
    assert_eq!(two.db().fingerprint(), inside);
    // New: the baseline, then 0004.
    let fresh = Project::new(p.backend).unwrap();
    for name in ["0003_baseline.sql", "0004_t4.sql"] {
        fresh.write(
            &format!("migrations/{name}"),
            &std::fs::read_to_string(p.path(&format!("migrations/{name}"))).unwrap(),
        );
    }
    fresh.godwit(&["up"]).ok().stderr_has("Applying 0003_baseline");
    assert_eq!(fresh.godwit(&["schema", "dump"]).stdout, dumped);
}

/// Drift says whose objects differ: a pack's (under its table prefix) apart from the
/// project's.
#[test]
fn drift_is_told_per_pack() {
    let p = Project::new(Backend::Sqlite).unwrap();
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\n");
    p.write(
        "packs/billing/godwit-pack.toml",
        "name = \"billing\"\nversion = \"1.0.0\"\n\n[grants]\naccess = \"ddl\"\n",
    );
    p.write(
        "packs/billing/0001_invoices.sql",
        "-- godwit:up\nCREATE TABLE billing_invoices (id INTEGER PRIMARY KEY, total INTEGER);\n",
    );
    p.migration(
        "0001_orders.sql",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);",
        None,
    );
    p.godwit(&["lock"]).ok();
    p.godwit(&["up"]).ok();
    p.db().execute("CREATE INDEX orders_note ON orders (note); CREATE INDEX billing_total ON billing_invoices (total);");
    let run = p.godwit(&["drift"]);
    run.code(1).stdout_has(
        "index orders_note exists in the database but no migration creates it\n\
         pack `billing`:\n  index billing_total exists in the database but no migration creates it",
    );
    let json: serde_json::Value =
        serde_json::from_str(&p.godwit(&["drift", "--format", "json"]).stdout).unwrap();
    let streams: Vec<&str> = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["stream"].as_str().unwrap())
        .collect();
    assert_eq!(streams, ["billing", "project"], "{json}");
}
