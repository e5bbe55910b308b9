//! Malformed migration sources: every problem names the file, nothing runs, exit code 2.

use godwit_tests::{Backend, Project};

fn project() -> Project {
    let p = Project::new(Backend::Sqlite).unwrap();
    p.migration("0001_ok.sql", "create table ok (x int);", Some("drop table ok;"));
    p
}

/// Asserts that `up` refuses with exit 2, mentions every needle, and created nothing.
fn refused(p: &Project, needles: &[&str]) {
    let run = p.godwit(&["up"]);
    run.code(2);
    for needle in needles {
        run.stderr_has(needle);
    }
    assert!(p.db().tables().is_empty(), "nothing may run");
    assert!(!p.db().has_history_table());
}

#[test]
fn names_without_version_or_name() {
    let p = project();
    p.write("migrations/add_users.sql", "-- godwit:up\nselect 1;");
    p.write("migrations/0002.sql", "-- godwit:up\nselect 1;");
    refused(
        &p,
        &[
            "2 invalid migration files",
            "add_users.sql: the file name has no version",
            "0002.sql: the file name has a version but no name",
            "hint:",
        ],
    );
}

#[test]
fn duplicate_versions_name_both_files() {
    let p = project();
    p.write("migrations/1_other.sql", "-- godwit:up\nselect 1;");
    refused(&p, &["migrations/1_other.sql: same version as", "0001_ok.sql"]);
}

#[test]
fn no_up_section_empty_and_invalid_utf8() {
    let p = project();
    p.write("migrations/0002_plain.sql", "create table t (x int);\n");
    refused(&p, &["0002_plain.sql: SQL on line 1 is outside the up and down sections"]);
    p.write("migrations/0002_plain.sql", "-- only a comment\n");
    refused(&p, &["0002_plain.sql: no `-- godwit:up` section"]);
    p.write("migrations/0002_plain.sql", "  \n");
    refused(&p, &["0002_plain.sql: the file is empty"]);
    std::fs::write(p.path("migrations/0002_plain.sql"), b"-- godwit:up\nselect '\xff';\n").unwrap();
    refused(&p, &["0002_plain.sql: invalid UTF-8 on line 2"]);
    p.write("migrations/0002_plain.sql", "-- godwit:up\nselect 1;\n-- godwit:dwon\n");
    refused(&p, &["unknown directive `-- godwit:dwon` on line 3"]);
}

#[test]
fn unsupported_kinds_are_errors_and_non_migrations_are_ignored() {
    let p = project();
    for ignored in ["README.md", ".gitkeep", "0001_ok.sql~", "notes.txt"] {
        p.write(&format!("migrations/{ignored}"), "whatever");
    }
    p.godwit(&["status"]).ok();
    p.write("migrations/0002_script.py", "print()");
    refused(&p, &["0002_script.py: `.py` files are not a migration kind godwit runs"]);
}

/// Hundreds of files are read on several threads: the problems, the order and the checksums
/// are those of one reader.
#[test]
fn hundreds_of_files_load_as_one_reader_would() {
    let p = Project::new(Backend::Sqlite).unwrap();
    for i in 1..=400 {
        p.migration(&format!("{i:04}_t{i}.sql"), &format!("create table t{i} (x int);"), None);
    }
    p.write("migrations/0250_again.sql", "-- godwit:up\ncreate table again (x int);");
    std::fs::write(p.path("migrations/0300_t300.sql"), b"-- godwit:up\nselect '\xff';").unwrap();
    p.write("migrations/0399_t399.sql", "");
    refused(
        &p,
        &[
            "3 invalid migration files",
            "0250_t250.sql: same version as",
            "0300_t300.sql: invalid UTF-8 on line 2",
            "0399_t399.sql: the file is empty",
        ],
    );
    p.remove("migrations/0250_again.sql");
    p.migration("0300_t300.sql", "create table t300 (x int);", None);
    p.migration("0399_t399.sql", "create table t399 (x int);", None);
    p.godwit(&["up"]).ok();
    let history = p.db().history();
    let versions: Vec<i64> = history.iter().map(|row| row.version.unwrap()).collect();
    assert_eq!(versions, (1..=400).collect::<Vec<i64>>());
    assert_eq!(p.db().tables().len(), 400);
    p.godwit(&["validate"]).ok().stderr_has("400 migration files");
}

/// The database is opened while the migrations load, where opening changes nothing; a bad
/// file is still the error reported, and a SQLite file that did not exist is not created.
#[test]
fn a_bad_file_is_reported_before_the_database_is_touched() {
    let p = project();
    p.write("migrations/0002_broken.sql", "select 1;");
    let db_file = p.path("test.db");
    assert!(!db_file.exists());
    p.godwit(&["up"]).code(2).stderr_has("0002_broken.sql");
    assert!(!db_file.exists(), "a refused run created the database file");
    // An unreachable server: the file's problem is what the user must fix first.
    let unreachable = "postgres://u@127.0.0.1:1/db?connect_timeout=2";
    let run = p.godwit(&["--database", unreachable, "validate"]);
    run.code(2).stderr_has("0002_broken.sql");
    assert!(!run.stderr.contains("cannot connect"), "{}", run.stderr);
    // A server that accepts the connection and never answers: the file's problem is reported
    // at once, not after the 60 s connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://u@127.0.0.1:{port}/db?connect_timeout=60");
    let started = std::time::Instant::now();
    p.godwit(&["--database", &url, "up"]).code(2).stderr_has("0002_broken.sql");
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(30), "waited {waited:?} for the connection");
    drop(silent);
    // An existing database file is opened while loading, and left as it was.
    p.remove("migrations/0002_broken.sql");
    p.godwit(&["up"]).ok();
    p.write("migrations/0002_broken.sql", "select 1;");
    let before = p.db().fingerprint();
    p.godwit(&["status"]).code(2).stderr_has("0002_broken.sql");
    p.godwit(&["up"]).code(2).stderr_has("0002_broken.sql");
    assert_eq!(p.db().fingerprint(), before);
}
