//! Commands that work on the project rather than the database: init, new, completions,
//! configuration and URL errors.

use godwit_tests::{Backend, Project};

fn project() -> Project {
    Project::new(Backend::Sqlite).unwrap()
}

#[test]
fn init_creates_the_directory_and_a_commented_config() {
    let p = project();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    p.godwit(&["init"]).ok().stderr_has("Created migrations/").stderr_has("godwit.toml");
    assert!(p.path("migrations").is_dir());
    let config = std::fs::read_to_string(p.path("godwit.toml")).unwrap();
    assert!(config.contains("dir = \"migrations\""));
    assert!(config.contains("# database = \"sqlite:godwit.db\""));
    // A second init refuses to overwrite the file.
    p.godwit(&["init"]).code(2).stderr_has("godwit.toml already exists");
}

#[test]
fn new_numbers_sequentially_and_keeps_the_width() {
    let p = project();
    let run = p.godwit(&["new", "Create users"]);
    run.ok().stderr_has("Created migrations/0001_create_users.sql");
    assert_eq!(run.stdout.trim(), "migrations/0001_create_users.sql");
    let text = std::fs::read_to_string(p.path("migrations/0001_create_users.sql")).unwrap();
    assert!(text.contains("-- godwit:up") && text.contains("-- godwit:down"));
    p.write("migrations/000009_wide.sql", "-- godwit:up\nselect 1;\n");
    p.godwit(&["new", "add-email"]).ok().stdout_has("migrations/000010_add_email.sql");
    p.godwit(&["new", "!!!"]).code(2).stderr_has("no letters or digits");
}

#[test]
fn new_with_timestamps_uses_utc_time() {
    let p = project();
    let run = p.godwit(&["new", "backfill", "--timestamp"]);
    run.ok();
    let name = run.stdout.trim().strip_prefix("migrations/").unwrap().to_owned();
    let (version, rest) = name.split_once('_').unwrap();
    assert_eq!(version.len(), 14, "{name}");
    assert!(version.starts_with("20"), "{name}");
    assert_eq!(rest, "backfill.sql");
    // Configured in godwit.toml, the next one is strictly newer even within the same second.
    p.write("godwit.toml", "versioning = \"timestamp\"\n");
    let next = p.godwit(&["new", "second"]);
    next.ok();
    let second = next.stdout.trim().strip_prefix("migrations/").unwrap().to_owned();
    assert!(second[..14] > name[..14], "{second} after {name}");
}

#[test]
fn completions_are_printed() {
    let p = project();
    p.godwit(&["completions", "bash"]).ok().stdout_has("_godwit()");
}

#[test]
fn config_file_settings_and_errors() {
    let p = project();
    std::fs::create_dir(p.path("db")).unwrap();
    p.write("godwit.toml", "dir = \"sql\"\ndatabase = \"sqlite:db/app.db\"\n");
    p.write("sql/0001_a.sql", "-- godwit:up\ncreate table a (x int);\n");
    // DATABASE_URL wins over the file; without it the file's database is used.
    let run = p.command().env_remove("DATABASE_URL").args(["up"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(p.path("db/app.db").is_file());
    p.write("godwit.toml", "dir = \"sql\"\ndatabse = \"x\"\n");
    p.godwit(&["status"]).code(2).stderr_has("invalid godwit.toml").stderr_has("databse");
    p.godwit(&["--config", "missing.toml", "status"])
        .code(2)
        .stderr_has("missing.toml does not exist");
}

#[test]
fn bad_database_urls_are_usage_errors() {
    let p = project();
    p.godwit(&["--database", "mysql://u:secret@h/db", "status"])
        .code(2)
        .stderr_has("invalid database URL `mysql://u:***@h/db`")
        .stderr_has("hint:");
    let run =
        p.godwit(&["--database", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", "status"]);
    run.code(2)
        .stderr_has("cannot connect to postgres://u:***@127.0.0.1:1/db")
        .stderr_has("Caused by:");
    assert!(!run.stderr.contains("secret"), "{}", run.stderr);
    // Accepted and never answered: `connect_timeout` (from the URL) bounds the whole
    // connection, not only reaching the server.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    p.godwit(&[
        "--database",
        &format!("postgres://u@127.0.0.1:{port}/db?connect_timeout=1"),
        "status",
    ])
    .code(2)
    .stderr_has("the server did not complete the connection within 1 s (connect_timeout)");
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(20), "waited {waited:?}");
    drop(silent);
    p.godwit(&["--database", "sqlite:no/such/dir/x.db", "status"])
        .code(2)
        .stderr_has("cannot connect");
}

#[test]
fn missing_migrations_directory_names_it() {
    let p = project();
    p.godwit(&["--dir", "nowhere", "up"]).code(2).stderr_has("nowhere").stderr_has("godwit init");
}

#[test]
fn usage_errors_exit_2() {
    let p = project();
    p.godwit(&["down", "--to", "1", "--steps", "2"]).code(2);
    p.godwit(&["up", "--to", "abc"]).code(2);
    p.godwit(&["frobnicate"]).code(2);
    p.godwit(&["--help"]).ok().stdout_has("Usage:");
}

#[test]
fn quiet_verbose_and_colour() {
    let p = project();
    p.migration("0001_a.sql", "create table a (x int);", Some("drop table a;"));
    let quiet = p.godwit(&["-q", "up"]);
    quiet.ok();
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    p.godwit(&["-v", "down"]).ok().stderr_has("line 5 drop table a").stderr_has("Reverting 0001_a");
    // NO_COLOR is set by the harness: no escape codes unless asked for.
    let plain = p.godwit(&["status"]);
    assert!(!plain.stdout.contains('\u{1b}') && !plain.stderr.contains('\u{1b}'));
    let coloured = p.godwit(&["--color", "always", "status"]);
    assert!(coloured.stderr.contains("\u{1b}["), "{}", coloured.stderr);
    let never =
        p.command().env_remove("NO_COLOR").args(["--color", "never", "up"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&never.stderr).contains('\u{1b}'));
}
