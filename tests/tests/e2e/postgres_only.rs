//! What only PostgreSQL has: TLS modes, `--schema`, statements that refuse to run in a
//! transaction, and dollar-quoted function bodies.

use godwit_tests::{Backend, Project, pg};

fn project() -> Option<Project> {
    Project::new(Backend::Postgres)
}

/// A migration that records whether its own connection is encrypted.
fn tls_probe(p: &Project) {
    p.migration(
        "0001_probe.sql",
        "create table probe as select ssl from pg_stat_ssl where pid = pg_backend_pid();",
        None,
    );
}

#[test]
fn sslmode_require_really_encrypts_and_disable_does_not() {
    let Some(p) = project() else { return };
    let Some(ca) = pg::server().and_then(|s| s.ca_cert.clone()) else {
        return; // a server from GODWIT_TEST_PG_URL may have no TLS
    };
    tls_probe(&p);
    let require = format!("{}?sslmode=require", p.url);
    p.godwit(&["--database", &require, "up"]).ok();
    assert_eq!(p.db().scalar("select ssl::text from probe"), "true");
    p.godwit(&["--database", &require, "down", "--to", "0"]).code(1);
    p.db().execute("drop table probe; drop table godwit_history;");
    let disable = format!("{}?sslmode=disable", p.url);
    p.godwit(&["--database", &disable, "up"]).ok();
    assert_eq!(p.db().scalar("select ssl::text from probe"), "false");
    p.db().execute("drop table probe; drop table godwit_history;");
    // verify-full checks the chain and the host name against the given CA.
    let verify = format!("{}?sslmode=verify-full&sslrootcert={}", p.url, ca.display());
    p.godwit(&["--database", &verify, "up"]).ok();
    assert_eq!(p.db().scalar("select ssl::text from probe"), "true");
}

#[test]
fn verify_full_refuses_a_certificate_from_an_unknown_ca() {
    let Some(p) = project() else { return };
    if pg::server().and_then(|s| s.ca_cert.as_ref()).is_none() {
        return;
    }
    // A CA the server certificate was not signed by.
    let other = p.path("other-ca.crt");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(p.path("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .args(["-days", "1", "-subj", "/CN=someone-else"])
        .output()
        .unwrap();
    assert!(made.status.success());
    tls_probe(&p);
    let url = format!("{}?sslmode=verify-full&sslrootcert={}", p.url, other.display());
    p.godwit(&["--database", &url, "up"])
        .code(2)
        .stderr_has("cannot connect")
        .stderr_has("certificate");
    assert!(p.db().tables().is_empty());
    let bad = format!("{}?sslmode=sometimes", p.url);
    p.godwit(&["--database", &bad, "status"]).code(2).stderr_has("sslmode `sometimes`");
}

#[test]
fn schema_option_puts_the_history_in_that_schema() {
    let Some(p) = project() else { return };
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    p.godwit(&["--schema", "godwit_meta", "up"]).ok();
    let where_ = p.db().scalar(
        "select table_schema from information_schema.tables where table_name = 'godwit_history'",
    );
    assert_eq!(where_, "godwit_meta");
    p.godwit(&["--schema", "godwit_meta", "status"]).ok().stdout_has("applied");
    // Another schema is another history, with its own lock.
    p.godwit(&["--schema", "public", "status"]).ok().stdout_has("pending");
    p.write("godwit.toml", "schema = \"godwit_meta\"\n");
    p.godwit(&["down"]).ok();
    assert!(p.db().tables().is_empty());
}

#[test]
fn create_index_concurrently_runs_in_a_no_transaction_migration() {
    let Some(p) = project() else { return };
    p.migration("0001_t.sql", "create table t (x int);", None);
    p.write(
        "migrations/0002_idx.sql",
        "-- godwit:no-transaction\n-- godwit:up\ncreate index concurrently t_x on t (x);\n\n-- godwit:down\ndrop index concurrently t_x;\n",
    );
    p.godwit(&["up"]).ok();
    assert_eq!(p.db().scalar("select count(*)::text from pg_indexes where indexname = 't_x'"), "1");
    p.godwit(&["down"]).ok();
    assert_eq!(p.db().scalar("select count(*)::text from pg_indexes where indexname = 't_x'"), "0");
    // In a transactional migration the linter refuses it, and so does PostgreSQL; nothing is
    // left behind.
    p.migration("0002_idx.sql", "create index concurrently t_x on t (x);", None);
    p.godwit(&["repair", "--yes"]).ok();
    p.godwit(&["up"]).code(2).stderr_has("[concurrently-in-transaction]");
    p.godwit(&["up", "--no-lint"])
        .code(1)
        .stderr_has("cannot run inside a transaction block")
        .stderr_has("25001");
}

#[test]
fn dollar_quoted_functions_and_error_positions() {
    let Some(p) = project() else { return };
    p.migration(
        "0001_fn.sql",
        "create function add_one(i int) returns int as $$\nbegin\n  return i + 1;\nend;\n$$ language plpgsql;\n\nselect add_one(1);",
        Some("drop function add_one(int);"),
    );
    p.godwit(&["up"]).ok();
    assert_eq!(p.db().scalar("select add_one(41)::text"), "42");
    p.migration("0002_bad.sql", "select 1;\nselect\n  1,\n  nope;", None);
    p.godwit(&["up"]).code(1).stderr_has("0002_bad.sql:5").stderr_has("42703");
}

#[test]
fn server_is_the_expected_major_version() {
    let Ok(expected) = std::env::var("GODWIT_TEST_PG_EXPECT_MAJOR") else {
        return;
    };
    let server = pg::server().expect("a PostgreSQL server");
    assert_eq!(server.version, expected);
}

/// A step whose COMMIT fails (a deferred constraint) is not recorded, and the steps sent
/// after it in the same pipeline never run.
#[test]
fn a_failed_commit_stops_the_steps_sent_after_it() {
    let Some(p) = project() else { return };
    p.migration(
        "0001_tables.sql",
        "create table parent (id int primary key);\n\
        create table child (pid int references parent deferrable initially deferred);",
        None,
    );
    p.migration("0002_orphan.sql", "insert into child values (7);", None);
    p.migration("0003_after.sql", "create table after_it (x int);", None);
    p.godwit(&["up"])
        .code(1)
        .stderr_has("cannot record 0002_orphan")
        .stderr_has("violates foreign key constraint");
    assert_eq!(p.db().tables(), ["child", "parent"]);
    assert_eq!(p.db().scalar("select count(*) from child"), "0");
    assert_eq!(p.db().scalar("select string_agg(name, ',') from godwit_history"), "tables");
}

/// Migrations sent together end with a quick history check; a step it suspects (here a view
/// that reads the history, which writes catalog rows about it) is rolled back and run again on
/// its own with the full check, once: its effects are there once, and the steps after it run.
#[test]
fn a_step_that_touches_the_history_catalog_is_checked_in_full_and_runs_once() {
    let Some(p) = project() else { return };
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.migration(
        "0002_view.sql",
        "create view applied as select name from godwit_history;\ninsert into a values (2);",
        None,
    );
    p.migration("0003_b.sql", "create table b (x int);\ninsert into a values (3);", None);
    p.godwit(&["up"]).ok().stderr_has("applied 3 migrations");
    assert_eq!(p.db().scalar("select string_agg(x::text, ',' order by x) from a"), "2,3");
    assert_eq!(p.db().scalar("select count(*) from applied"), "3");
    assert_eq!(p.db().tables(), ["a", "applied", "b"]);
}
