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
