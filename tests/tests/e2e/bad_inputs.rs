//! The catalogue of bad inputs, `docs/bad-inputs.md`: one test per row. The document holds
//! the command, the backends, the exit code, the excerpt of the message and what happens to
//! the database; this file holds how each input is set up. A row without a setup, or a setup
//! without a row, fails `every_row_has_a_setup_and_every_setup_a_row`.

use godwit_tests::{Backend, Project, Run};

/// One row of the table.
#[derive(Debug)]
struct Row {
    id: String,
    args: Vec<String>,
    backends: Vec<Backend>,
    exit: i32,
    excerpt: String,
    unchanged: bool,
}

/// A cell's text without its code-span backticks: `` `x` `` and ``` `` a `b` `` ```.
fn code(cell: &str) -> String {
    let cell = cell.trim();
    let ticks = cell.chars().take_while(|c| *c == '`').count();
    cell[ticks..cell.len() - ticks].trim().to_owned()
}

fn rows() -> Vec<Row> {
    let path = godwit_tests::root().join("docs/bad-inputs.md");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|line| line.starts_with("| B"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 7, "{line}");
            let args: Vec<String> = code(cells[2]).split_whitespace().map(str::to_owned).collect();
            assert_eq!(args[0], "godwit", "{line}");
            Row {
                id: cells[0].trim().to_owned(),
                args: args[1..].to_vec(),
                backends: match cells[3].trim() {
                    "SQLite" => vec![Backend::Sqlite],
                    "PostgreSQL" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => panic!("unknown backend {other} in {line}"),
                },
                exit: cells[4].trim().parse().unwrap(),
                excerpt: code(cells[5]),
                unchanged: cells[6].trim() == "unchanged",
            }
        })
        .collect()
}

/// What every row starts from: `0001_ok.sql` applied.
fn base(p: &Project) {
    p.migration("0001_ok.sql", "create table ok (x int);", Some("drop table ok;"));
    p.godwit(&["up"]).ok();
}

/// How a row's command is run, beyond the arguments the document gives.
enum Runner {
    /// As the document says.
    Doc,
    /// With this environment variable set.
    Env(&'static str, String),
    /// Against this database URL.
    Url(String),
    /// While another connection holds the migration lock.
    LockHeld,
    /// With the project directory and database file read-only to godwit (as `nobody`, when
    /// the tests run as root, whom permissions do not bind).
    ReadOnly,
    /// With the server ending godwit's session once it runs `pg_sleep`.
    Terminated,
}

/// Runs row `id` on each of its backends (PostgreSQL only where a server can be started; with
/// `CI` set one must be).
fn check(id: &str, setup: fn(&Project) -> Runner) {
    let row = rows().into_iter().find(|r| r.id == id).expect("the row is in docs/bad-inputs.md");
    for backend in &row.backends {
        let Some(p) = Project::new(*backend) else { continue };
        base(&p);
        let runner = setup(&p);
        let before = p.db().fingerprint();
        let args: Vec<&str> = row.args.iter().map(String::as_str).collect();
        let run = match runner {
            Runner::Doc => p.godwit(&args),
            Runner::Env(key, value) => {
                Run::from(p.command().env(key, &value).args(&args).output().unwrap())
            }
            Runner::Url(url) => {
                Run::from(p.command().env("DATABASE_URL", url).args(&args).output().unwrap())
            }
            Runner::LockHeld => {
                let mut holder =
                    godwit::connect(&p.url, &godwit::ConnectOptions::default()).unwrap();
                assert!(holder.driver().unwrap().try_lock().unwrap());
                let run = p.godwit(&args);
                holder.driver().unwrap().unlock().unwrap();
                run
            }
            Runner::ReadOnly => read_only(&p, &args),
            Runner::Terminated => terminated(&p, &args),
        };
        run.code(row.exit).stderr_has(&row.excerpt);
        if row.unchanged {
            assert_eq!(p.db().fingerprint(), before, "{id} on {backend:?}: the database changed");
        }
    }
}

fn hostile(p: &Project, mode: &str) -> Runner {
    p.db().execute(&format!(
        "CREATE TABLE hostile_mode (mode TEXT); INSERT INTO hostile_mode VALUES ('{mode}');"
    ));
    p.component("hostile", "0002_hostile.wasm");
    Runner::Doc
}

fn file(p: &Project, name: &str, text: &str) -> Runner {
    p.write(&format!("migrations/{name}"), text);
    Runner::Doc
}

/// Files of another tool's folder, `legacy/`.
fn legacy(p: &Project, files: &[(&str, &str)]) -> Runner {
    for (name, text) in files {
        p.write(&format!("legacy/{name}"), text);
    }
    Runner::Doc
}

/// The `billing` pack, running after 0001, with one migration.
fn pack(p: &Project, manifest_name: &str, up: &str) {
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\nafter = 1\n");
    p.write(
        "packs/billing/godwit-pack.toml",
        &format!("name = \"{manifest_name}\"\nversion = \"1.0.0\"\n"),
    );
    p.write("packs/billing/0001_start.sql", &format!("-- godwit:up\n{up}\n"));
}

macro_rules! catalogue {
    ($($id:ident => $setup:expr),* $(,)?) => {
        const IDS: &[&str] = &[$(stringify!($id)),*];
        $(#[test]
        #[allow(non_snake_case)]
        fn $id() {
            check(stringify!($id), $setup);
        })*
    };
}

catalogue!(
    B01 => |p| file(p, "add_users.sql", "-- godwit:up\nselect 1;\n"),
    B02 => |p| file(p, "0002.sql", "-- godwit:up\nselect 1;\n"),
    B03 => |p| file(p, "0002-add.sql", "-- godwit:up\nselect 1;\n"),
    B04 => |p| file(p, "99999999999999999999_big.sql", "-- godwit:up\nselect 1;\n"),
    B05 => |p| {
        file(p, "0002_a.sql", "-- godwit:up\nselect 1;\n");
        file(p, "2_b.sql", "-- godwit:up\nselect 2;\n")
    },
    B06 => |p| file(p, "0002_fix.py", "print('hello')\n"),
    B07 => |p| {
        std::fs::create_dir(p.path("migrations/0002_tool")).unwrap();
        Runner::Doc
    },
    B08 => |p| file(p, "0002_empty.sql", ""),
    B09 => |p| {
        std::fs::write(p.path("migrations/0002_bytes.sql"), b"-- godwit:up\nselect '\xff';\n")
            .unwrap();
        Runner::Doc
    },
    B10 => |p| file(p, "0002_plain.sql", "-- only a comment\n"),
    B11 => |p| file(p, "0002_plain.sql", "create table t (x int);\n-- godwit:up\nselect 1;\n"),
    B12 => |p| file(p, "0002_typo.sql", "-- godwit:up\nselect 1;\n-- godwit:dwon\n"),
    B13 => |p| file(p, "0002_hollow.sql", "-- godwit:up\n-- nothing yet\n-- godwit:down\nselect 1;\n"),
    B14 => |p| {
        p.migration("0001_ok.sql", "create table ok (x int, y int);", Some("drop table ok;"));
        Runner::Doc
    },
    B15 => |p| {
        p.remove("migrations/0001_ok.sql");
        Runner::Doc
    },
    B16 => |p| {
        p.migration("0003_c.sql", "create table c (x int);", None);
        p.godwit(&["up"]).ok();
        p.migration("0002_b.sql", "create table b (x int);", None);
        Runner::Doc
    },
    B17 => |p| file(p, "0002_bad.sql", "-- godwit:up\ncreate table a (x int);\ninsert into nope values (1);\n"),
    B18 => |p| file(
        p,
        "0002_loose.sql",
        "-- godwit:no-transaction\n-- godwit:up\ncreate table loose (x int);\ninsert into nope values (1);\n",
    ),
    B19 => |p| {
        p.migration("0002_oneway.sql", "create table oneway (x int);", None);
        p.godwit(&["up"]).ok();
        Runner::Doc
    },
    B20 => |p| {
        p.db().execute("UPDATE godwit_history SET state = 'bogus'");
        Runner::Doc
    },
    B21 => |_| Runner::Doc,
    B22 => |p| {
        p.write("godwit.toml", "databse = \"sqlite:other.db\"\n");
        Runner::Doc
    },
    B23 => |_| Runner::Doc,
    B24 => wrong_password,
    B25 => |p| {
        p.migration("0002_more.sql", "create table more (x int);", None);
        Runner::ReadOnly
    },
    B26 => |p| {
        p.write("notes.txt", &"these are notes, not a database\n".repeat(200));
        Runner::Doc
    },
    B27 => |_| Runner::Doc,
    B28 => |_| Runner::Doc,
    B29 => |p| file(p, "0002_junk.wasm", "this is not WebAssembly"),
    B30 => |p| {
        std::fs::write(p.path("migrations/0002_core.wasm"), b"\0asm\x01\0\0\0").unwrap();
        Runner::Doc
    },
    B31 => |p| {
        let fixture = godwit_tests::root().join("tests/fixtures/contract-0.1.0.wasm");
        std::fs::copy(fixture, p.path("migrations/0002_old.wasm")).unwrap();
        Runner::Doc
    },
    B32 => |p| hostile(p, "panic"),
    B33 => |p| hostile(p, "spin"),
    B34 => |p| hostile(p, "memory"),
    B35 => |p| hostile(p, "flood"),
    B36 => |p| hostile(p, "file"),
    B37 => |p| {
        hostile(p, "env");
        Runner::Env("SECRET_TOKEN", "hunter2".to_owned())
    },
    B38 => |p| hostile(p, "network"),
    B39 => |p| hostile(p, "clock"),
    B40 => |p| file(p, "0002_sneaky.sql", "-- godwit:up\ndelete from godwit_history;\n"),
    B41 => |p| {
        p.migration("0002_a.sql", "create table a (x int);", None);
        Runner::LockHeld
    },
    B42 => |p| {
        p.component("rust-schema", "0002_observers.wasm");
        p.godwit(&["lock"]).ok();
        p.component("hostile", "0002_observers.wasm");
        Runner::Doc
    },
    B43 => |p| {
        pack(p, "billing", "create table billing_x (x int);");
        Runner::Doc
    },
    B44 => |p| {
        pack(p, "billing", "drop table ok;");
        p.godwit(&["lock"]).ok();
        Runner::Doc
    },
    B45 => |p| {
        pack(p, "Billing", "select 1;");
        Runner::Doc
    },
    B46 => |_| {
        // Accepts connections (the kernel completes them) and never answers; kept open for
        // the rest of the test process.
        let silent = Box::leak(Box::new(std::net::TcpListener::bind("127.0.0.1:0").unwrap()));
        let port = silent.local_addr().unwrap().port();
        Runner::Url(format!("postgres://godwit@127.0.0.1:{port}/db?connect_timeout=2"))
    },
    B47 => |p| {
        p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\n");
        p.write("packs/billing/godwit-pack.toml", "name = \"billing\"\nversion = \"1.0.0\"\n");
        p.write("packs/billing/migrations/0001_start.sql", "-- godwit:up\nselect 1;\n");
        Runner::Doc
    },
    B48 => |p| {
        p.migration("0002_slow.sql", "create table slow (x int);\nselect pg_sleep(60);", None);
        Runner::Terminated
    },
    B49 => |p| {
        p.db().execute("DROP TABLE godwit_history; CREATE TABLE godwit_history (id integer, note text);");
        Runner::Doc
    },
    B50 => |p| file(p, "0002_nul.sql", "-- godwit:up\nselect 1;\0\n"),
    B51 => |p| {
        let separator = if p.url.contains('?') { '&' } else { '?' };
        Runner::Url(format!("{}{separator}options=-c%20search_path%3D", p.url))
    },
    B52 => |p| {
        file(p, "0002_both/Cargo.toml", "[package]\nname = \"both\"\n");
        file(p, "0002_both/migration.py", "import godwit\n")
    },
    B53 => |p| {
        file(p, "0002_python/migration.py", "import godwit\n");
        let empty = p.path("no-toolchains");
        std::fs::create_dir_all(&empty).unwrap();
        Runner::Env("GODWIT_TOOLCHAINS", empty.display().to_string())
    },
    B54 => |p| file(p, "0002_broken/migration.py", "import godwit\n\nclass Migration(godwit.Migration):\n    def apply(self)\n        pass\n"),
    B55 => |p| file(p, "0002_broken/migration.c", "#include \"godwit.h\"\n\nstatic bool up(gw_string *err) { return nope; }\n"),
    B56 => |p| file(p, "0002_broken/migration.js", "import { define } from \"godwit\";\nexport const migration = define({\n  up() {{ },\n});\n"),
    B57 => |p| {
        p.godwit(&["new", "backfill", "--kind", "python", "--sdk", "../sdk"])
            .code(2)
            .stderr_has("drop --sdk, or add --kind rust");
        let made = std::fs::read_dir(p.dir.path().join("migrations")).unwrap().count();
        assert_eq!(made, 1, "B57 made a migration");
        Runner::Doc
    },
    B58 => |p| file(p, "0002_next.sql", "-- godwit:up\ncreate table next (x int);\n"),
    B59 => |p| file(p, "0002_next.sql", "-- godwit:up\ncreate table next (x int);\n"),
    B60 => |p| {
        p.component("rust-backfill", "0002_split_names.wasm");
        Runner::Doc
    },
    B61 => |_| Runner::Doc,
    B62 => |_| Runner::Doc,
    B63 => |p| {
        p.db().execute("CREATE TABLE people (id BIGINT PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0)");
        p.component("rust-backfill", "0002_split_names.wasm");
        p.godwit(&["up"]).ok();
        Runner::Doc
    },
    B64 => |p| file(p, "0002_next.sql", "-- godwit:requires 9\n-- godwit:up\ncreate table next (x int);\n"),
    B65 => |p| file(p, "0002_next.sql", "-- godwit:requires 0001\n-- godwit:up\ncreate table next (x int);\n"),
    B66 => |_| Runner::Doc,
    B67 => |p| file(p, "0002_bounds/migration.c", "#include \"godwit.h\"\n\nstatic bool up(gw_string *err) { (void)err; return true; }\n\nGW_MIGRATION(.description = \"bounds\", .up = up, .batch_min = 500, .batch_max = 10);\n"),
    B68 => |p| {
        p.write("legacy/1_init.up.sql", "create table legacy (x int);\n");
        p.write("legacy/1_init.down.sql", "drop table legacy;\n");
        Runner::Doc
    },
    B69 => |p| {
        p.db().execute("CREATE TABLE schema_migrations (version TEXT, applied_at TEXT)");
        p.write("legacy/20240101000000_init.sql", "-- migrate:up\ncreate table legacy (x int);\n");
        Runner::Doc
    },
    B70 => |p| {
        p.db().execute(
            "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null); \
             INSERT INTO schema_migrations VALUES (2, true);",
        );
        for v in ["1", "2"] {
            p.write(&format!("legacy/00000{v}_step.up.sql"), &format!("create table legacy{v} (x int);\n"));
        }
        Runner::Doc
    },
    B71 => |p| {
        let blob = match p.backend {
            godwit_tests::Backend::Sqlite => "BLOB",
            godwit_tests::Backend::Postgres => "BYTEA",
        };
        p.db().execute(&format!(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum {blob} NOT NULL, execution_time BIGINT NOT NULL); \
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (1, 'init', true, {}, 1);",
            match p.backend {
                godwit_tests::Backend::Sqlite => "X'00'",
                godwit_tests::Backend::Postgres => "'\\x00'",
            }
        ));
        p.write("legacy/1_init.sql", "create table legacy (x int);\n");
        Runner::Doc
    },
    B72 => |p| {
        p.write("legacy/00001_init.sql", "-- +goose Up\ncreate table legacy (x int);\n");
        p.write("legacy/00002_seed.go", "package migrations\n");
        Runner::Doc
    },
    B73 => |_| Runner::Doc,
    B74 => |_| Runner::Doc,
    B75 => |p| file(p, "0002_next.sql", "-- godwit:up\ncreate table next (x int);\n"),
    B76 => |p| legacy(p, &[("1_init.sql", "create table legacy (x int);\n")]),
    B77 => |p| {
        legacy(p, &[("V1.1__a.sql", "create table a (x int);\n"), ("V1_1_0__b.sql", "create table b (x int);\n")])
    },
    B78 => |p| file(p, "0002..1_x.sql", "-- godwit:up\nselect 1;\n"),
    B79 => |p| legacy(p, &[(&format!("V{}__long.sql", ["1234"; 11].join(".")), "select 1;\n")]),
    B80 => |p| {
        legacy(p, &[("V1__init.sql", "-- the schema's owner\ncreate table ${schema}.legacy (x int);\n")])
    },
    B81 => |p| {
        legacy(p, &[("V1__init.sql", "create table legacy (x int);\n"), ("V1__init.sql.conf", "outOfOrder=true\n")])
    },
    B82 => |p| {
        legacy(p, &[("V1__init.sql", "create table legacy (x int);\n"), ("afterMigrate.sql", "grant select on legacy to public;\n")])
    },
    B83 => |p| {
        p.write("legacy/1_init.up.sql", "create table legacy (x int);\n");
        p.write("legacy/1_init.down.sql", "drop table legacy;\n");
        Runner::Doc
    },
    B84 => |p| {
        p.db().execute(
            "CREATE TABLE people (id BIGINT PRIMARY KEY, full_name TEXT NOT NULL, passes INTEGER NOT NULL DEFAULT 0); \
             INSERT INTO people (id, full_name) VALUES (1, 'Ada Lovelace');",
        );
        p.component("rust-backfill", "0002_split_names.wasm");
        p.godwit(&["up", "--defer-transforms"]).ok();
        Runner::Doc
    },
    B85 => |p| {
        p.write("godwit.toml", "[lint]\nno-such-rule = \"off\"\n");
        Runner::Doc
    },
    B86 => |p| file(p, "0002_legacy.sql", "-- godwit:allow no-such-rule the table is gone\n-- godwit:up\nselect 1;\n"),
    B87 => |p| {
        let sql = match p.backend {
            Backend::Postgres => "CREATE INDEX ok_x ON ok (x);",
            Backend::Sqlite => "ALTER TABLE ok ALTER COLUMN x TYPE text;",
        };
        p.migration("0002_index.sql", sql, None);
        Runner::Doc
    },
    B88 => |p| {
        p.migration("0002_typo.sql", "CREAT TABLE typo (x int);", None);
        Runner::Doc
    },
    B89 => |p| file(p, "0002_soon.sql", "-- godwit:lock-timeout soon\n-- godwit:up\nselect 1;\n"),
    B90 => |_| Runner::Doc,
    B91 => |_| Runner::Doc,
    B92 => |_| Runner::Doc,
    B93 => no_createdb,
    B94 => |p| {
        let dev = rusqlite::Connection::open(p.path("dev.db")).unwrap();
        dev.execute_batch("CREATE TABLE leftover (id integer);").unwrap();
        Runner::Doc
    },
    B95 => |p| {
        let fresh = rusqlite::Connection::open(p.path("fresh.db")).unwrap();
        fresh.execute_batch("CREATE TABLE made_by_hand (id integer);").unwrap();
        Runner::Url(format!("sqlite:{}", p.path("fresh.db").display()))
    },
    B96 => |p| {
        p.db().execute("CREATE AGGREGATE total_of(numeric) (sfunc = numeric_add, stype = numeric)");
        Runner::Doc
    },
    B97 => no_createdb,
    B98 => |_| Runner::Doc,
    B99 => |p| {
        // 0002 is squashed with 0001 while the database has only 0001.
        p.migration("0002_more.sql", "create table more (x int);", None);
        p.godwit(&["squash", "--to", "2"]).ok();
        Runner::Doc
    },
    B100 => |p| tenants(p, "sqlite:a.db\nmysql://db/shop\n"),
    B101 => |p| tenants(p, "sqlite:a.db\nsqlite:b.db\nsqlite:a.db\n"),
    B102 => |p| tenants(p, "# nobody yet\n"),
    B103 => |p| tenants(p, "sqlite:a.db\npostgres://postgres@127.0.0.1:1/nowhere?connect_timeout=2\n"),
);

/// B100-B103: `tenants.txt`, a fleet's list.
fn tenants(p: &Project, list: &str) -> Runner {
    p.write("tenants.txt", list);
    Runner::Doc
}

/// B93, B97: a role that may read the history but not create a database.
fn no_createdb(p: &Project) -> Runner {
    p.migration("0002_note.sql", "alter table ok add column note text;", None);
    p.db().execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'godwit_no_createdb') \
         THEN CREATE ROLE godwit_no_createdb LOGIN NOCREATEDB; END IF; END $$; \
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO godwit_no_createdb;",
    );
    Runner::Url(p.url.replacen("postgres@", "godwit_no_createdb@", 1))
}

/// B24: a role with a password, and a URL with another one. The test cluster asks this role
/// (only) for a SCRAM password; everyone else is trusted.
fn wrong_password(p: &Project) -> Runner {
    p.db().execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'godwit_password_check') \
         THEN CREATE ROLE godwit_password_check LOGIN PASSWORD 'right'; END IF; END $$;",
    );
    Runner::Url(p.url.replacen("postgres@", "godwit_password_check:wrong@", 1))
}

/// B48: godwit runs while another session waits for it to reach `pg_sleep`, then ends its
/// session as a server shutting down does (SQLSTATE 57P01).
fn terminated(p: &Project, args: &[&str]) -> Run {
    let child = p.command().args(args).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    loop {
        let ended = p.db().scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'godwit' AND query LIKE '%pg_sleep%'",
        );
        if ended != "0" {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "godwit never reached pg_sleep");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

/// B25: the project directory and the database file read-only to the user godwit runs as.
fn read_only(p: &Project, args: &[&str]) -> Run {
    use std::os::unix::fs::PermissionsExt;
    let db = p.path("test.db");
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(&db, 0o444);
    mode(p.dir.path(), 0o555);
    let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let run = match root {
        true => {
            let mut command = std::process::Command::new("runuser");
            command
                .args(["-u", "nobody", "--"])
                .arg(godwit_tests::godwit_bin())
                .args(args)
                .current_dir(p.dir.path())
                .env("DATABASE_URL", &p.url)
                .env("NO_COLOR", "1")
                .env("XDG_CACHE_HOME", "/tmp/godwit-nobody-cache");
            Run::from(command.output().unwrap())
        }
        false => p.godwit(args),
    };
    mode(p.dir.path(), 0o755);
    mode(&db, 0o644);
    run
}

#[test]
fn every_row_has_a_setup_and_every_setup_a_row() {
    let ids: Vec<String> = rows().into_iter().map(|r| r.id).collect();
    assert!(ids.len() >= 30, "the catalogue has {} rows", ids.len());
    assert_eq!(ids, IDS, "docs/bad-inputs.md and tests/tests/e2e/bad_inputs.rs disagree");
}
