//! Other tools' folders run as they are, and their histories taken over: for each format,
//! godwit applies the tool's folder with the same resulting schema as godwit's own layout and
//! (where the tool could be installed to generate the fixtures) as the tool itself; a database
//! the tool migrated half-way (replayed from the tool's own dump) is adopted and finished by
//! godwit; downs work across adopted migrations; a tampered applied file is caught.
//! Fixtures: tests/fixtures/formats (generate.sh).

use godwit_tests::{Backend, Project, root};
use std::path::{Path, PathBuf};

const TOOLS: [&str; 7] =
    ["sqlx", "diesel", "dbmate", "refinery", "golang-migrate", "goose", "flyway"];
/// The tools whose history keeps a checksum of each applied file.
const CHECKSUMMED: [&str; 3] = ["sqlx", "refinery", "flyway"];

fn fixture(tool: &str) -> PathBuf {
    root().join("tests/fixtures/formats").join(tool)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A project holding `tool`'s fixture folder as its migrations, read in that format.
fn project(backend: Backend, tool: &str) -> Option<Project> {
    let p = Project::new(backend)?;
    std::fs::remove_dir(p.path("migrations")).unwrap();
    copy_dir(&fixture(tool).join("migrations"), &p.path("migrations"));
    p.write("godwit.toml", &format!("format = \"{tool}\"\n"));
    Some(p)
}

fn dump(tool: &str, backend: Backend, part: &str) -> Option<String> {
    let db = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    std::fs::read_to_string(fixture(tool).join(format!("{db}-{part}.sql"))).ok()
}

/// The schema godwit's own layout of the same migrations gives, up to `to` (all when `None`).
fn reference(backend: Backend, to: Option<&str>) -> Option<String> {
    let p = project(backend, "godwit")?;
    p.godwit(&["up"]).ok();
    if let Some(to) = to {
        p.godwit(&["down", "--to", to]).ok();
    }
    Some(p.db().schema())
}

fn folder_runs_as_its_tool_runs_it(backend: Backend) {
    let Some(expected) = reference(backend, None) else { return };
    for tool in TOOLS {
        let p = project(backend, tool).unwrap();
        p.godwit(&["up"]).ok().stderr_has("applied 5 migrations");
        assert_eq!(p.db().schema(), expected, "{tool}: godwit's run of the {tool} folder");
        if let Some(full) = dump(tool, backend, "full") {
            let by_tool = Project::new(backend).unwrap();
            by_tool.db().execute(&full);
            assert_eq!(by_tool.db().schema(), expected, "{tool}: the tool's own run");
        }
        // `auto` tells every folder but the ambiguous ones.
        let auto = p.godwit(&["--dir-format", "auto", "status"]);
        match tool {
            "sqlx" | "golang-migrate" => {
                auto.code(2).stderr_has("could be read as golang-migrate or sqlx");
            }
            "refinery" => {
                auto.code(2).stderr_has("could be read as flyway or refinery");
            }
            _ => {
                auto.ok().stdout_has("applied");
            }
        }
    }
}

fn half_migrated_database_is_adopted_and_finished(backend: Backend) {
    let Some(expected) = reference(backend, None) else { return };
    let first = reference(backend, Some("1")).unwrap();
    for tool in TOOLS {
        let p = project(backend, tool).unwrap();
        p.db().execute(&dump(tool, backend, "half").unwrap());
        let before = p.db().fingerprint();
        p.godwit(&["adopt", "--dry-run"])
            .ok()
            .stderr_has("Would adopt")
            .stderr_has("would record 3 applied migrations");
        assert!(!p.db().has_history_table(), "{tool}: a dry run writes nothing");
        assert_eq!(p.db().fingerprint(), before);
        p.godwit(&["adopt"]).ok().stderr_has("recorded 3 applied migrations");
        assert_eq!(p.db().history().len(), 3, "{tool}");
        p.godwit(&["adopt"])
            .ok()
            .stderr_has("recorded 0 applied migrations")
            .stderr_has("3 already");
        p.godwit(&["status"]).ok().stdout_has("pending");
        p.godwit(&["up"]).ok().stderr_has("applied 2 migrations");
        assert_eq!(p.db().schema(), expected, "{tool}: adopted half, then the rest by godwit");
        if tool != "refinery" {
            let oldest = match tool {
                "diesel" | "dbmate" => "20240101000001",
                _ => "1",
            };
            p.godwit(&["down", "--to", oldest]).ok().stderr_has("reverted 4 migrations");
            assert_eq!(p.db().schema(), first, "{tool}: down across adopted migrations");
        }
    }
}

fn tampered_applied_file_is_caught_at_adoption(backend: Backend) {
    for tool in CHECKSUMMED {
        let Some(p) = project(backend, tool) else { return };
        p.db().execute(&dump(tool, backend, "half").unwrap());
        // Flyway's fixture numbers its migrations 1, 1.1, 1_2, 1.10 and 2.0.1.
        let (file, version) = match tool {
            "sqlx" => ("migrations/2_add_email.up.sql", "2"),
            "flyway" => ("migrations/V1.1__add_email.sql", "1.1"),
            _ => ("migrations/V2__add_email.sql", "2"),
        };
        let text = std::fs::read_to_string(p.path(file)).unwrap();
        p.write(file, &text.replace("email TEXT", "email VARCHAR(200)"));
        let before = p.db().fingerprint();
        p.godwit(&["adopt"])
            .code(2)
            .stderr_has(&format!("{file} (version {version}) is not what was applied"));
        assert_eq!(p.db().fingerprint(), before, "{tool}: nothing is written");
    }
}

fn converted_folder_runs_the_same_and_keeps_the_history(backend: Backend) {
    let Some(expected) = reference(backend, None) else { return };
    for tool in TOOLS {
        let p = project(backend, tool).unwrap();
        p.godwit(&["up"]).ok();
        p.godwit(&["convert", "converted"])
            .ok()
            .stderr_has("Converted 5 migrations into converted/")
            .stderr_has("Followed 5 history rows");
        // Run again (for another database of the project): the files are checked, not rewritten.
        p.godwit(&["convert", "converted"])
            .ok()
            .stderr_has("Checked 5 migrations")
            .stderr_has("Followed 0 history rows");
        let converted = ["--dir", "converted", "--dir-format", "godwit"];
        p.godwit(&[&converted[..], &["validate"]].concat()).ok();
        p.godwit(&[&converted[..], &["status"]].concat()).ok().stdout_has("applied");
        assert_eq!(p.db().schema(), expected, "{tool}");
        if tool != "refinery" {
            p.godwit(&[&converted[..], &["down", "--steps", "2"]].concat()).ok();
            // Converted, the folder is godwit's own: the linter refuses an index built in
            // place on a table that exists (PostgreSQL), until told.
            if backend == Backend::Postgres {
                let up = p.godwit(&[&converted[..], &["up"]].concat());
                up.code(2).stderr_has("[index-not-concurrent]");
            }
            let up = [&converted[..], &["up", "--no-lint"]].concat();
            p.godwit(&up).ok().stderr_has("applied 2 migrations");
        }
        // The converted folder on an empty database gives the schema the original gives.
        let fresh = Project::new(backend).unwrap();
        std::fs::remove_dir(fresh.path("migrations")).unwrap();
        copy_dir(&p.path("converted"), &fresh.path("migrations"));
        fresh.godwit(&["up"]).ok();
        assert_eq!(fresh.db().schema(), expected, "{tool}: the converted folder on its own");
    }
}

/// After `--keep`, the tool's own table says what godwit did: godwit's history is dropped and
/// taken over again from the tool's table alone, with its checksums checked.
fn readopted(p: &Project) -> usize {
    p.db().execute("DROP TABLE godwit_history");
    let run = p.godwit(&["adopt"]);
    run.ok();
    p.db().history().len()
}

fn kept_table_lets_the_team_go_back(backend: Backend) {
    for tool in TOOLS {
        let Some(p) = project(backend, tool) else { return };
        p.db().execute(&dump(tool, backend, "half").unwrap());
        p.godwit(&["adopt"]).ok();
        p.godwit(&["--keep", tool, "up"]).ok().stderr_has("applied 2 migrations");
        assert_eq!(readopted(&p), 5, "{tool}: the tool's table lists all five");
        if tool != "refinery" {
            let oldest = match tool {
                "diesel" | "dbmate" => "20240101000001",
                _ => "1",
            };
            p.godwit(&["--keep", tool, "down", "--to", oldest]).ok();
            assert_eq!(readopted(&p), 1, "{tool}: the tool's table follows the reverts");
        }
    }
}

/// A team adds a WebAssembly migration to its old folder on day one.
fn components_sit_beside_the_tools_files(backend: Backend) {
    for tool in TOOLS {
        let Some(p) = project(backend, tool) else { return };
        let version = match tool {
            "diesel" | "dbmate" => "20240101000006",
            _ => "6",
        };
        p.component("rust-schema", &format!("{version}_observers.wasm"));
        p.godwit(&["up"]).ok().stderr_has("applied 6 migrations");
        assert!(p.db().tables().contains(&"observers".to_owned()), "{tool}");
        p.godwit(&["down"]).ok().stderr_has(&format!("Reverting {version}_observers"));
        assert!(!p.db().tables().contains(&"observers".to_owned()), "{tool}");
    }
}

/// A Flyway script's config file decides its transaction as Flyway reads it, and a
/// `${placeholder}` Flyway would fill in stops the run before anything runs, unless the
/// script's config turns replacement off.
fn flyway_script_config_and_placeholders(backend: Backend) {
    let Some(p) = Project::new(backend) else { return };
    p.write("godwit.toml", "format = \"flyway\"\n");
    p.write("migrations/V1__init.sql", "create table t (x int);\n");
    p.write(
        "migrations/V1.1__seed.sql",
        "insert into t values (1);\ninsert into nope values (2);\n",
    );
    p.write("migrations/V1.1__seed.sql.conf", "# as Flyway reads it\nexecuteInTransaction=false\n");
    p.write("migrations/U1.1__seed.sql", "delete from t where x = ${which};\n");
    p.godwit(&["up"]).code(1).stderr_has("V1.1__seed");
    assert_eq!(
        p.db().scalar("select count(*) from t"),
        "1",
        "outside a transaction, as configured"
    );
    p.write("migrations/V1.1__seed.sql", "insert into t values (1);\n");
    p.godwit(&["repair", "--yes"]).ok();
    p.db().execute("delete from t");
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["down"])
        .code(2)
        .stderr_has("U1.1__seed.sql")
        .stderr_has("line 1: Flyway placeholder `${which}`");
    assert_eq!(p.db().fingerprint(), before, "nothing reverted");
    p.write("migrations/V2__named.sql", "insert into t values (length('${literal}'));\n");
    let before = p.db().fingerprint();
    p.godwit(&["up"]).code(2).stderr_has("V2__named.sql: line 1: Flyway placeholder `${literal}`");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["status"]).ok().stdout_has("pending   V2__named");
    p.godwit(&["validate"]).code(2).stderr_has("V2__named.sql: line 1: Flyway placeholder");
    p.write("migrations/V2__named.sql.conf", "placeholderReplacement=false\n");
    p.godwit(&["up"]).ok().stderr_has("applied 1 migration");
    assert_eq!(p.db().scalar("select max(x) from t"), "10", "the text as it is");
    // The config is part of what was applied: changing it is an edit.
    p.write(
        "migrations/V2__named.sql.conf",
        "placeholderReplacement=false\nexecuteInTransaction=true\n",
    );
    p.godwit(&["up"]).code(1).stderr_has("modified after it was applied");
}

/// A script Flyway applied with a placeholder filled in is adopted as it is: Flyway's
/// checksum covers the text with the placeholder, and an applied script never runs again.
fn flyway_applied_placeholder_is_adopted(backend: Backend) {
    let Some(p) = Project::new(backend) else { return };
    p.write("godwit.toml", "format = \"flyway\"\n");
    p.write("migrations/V1__init.sql", "create table t (x int);\n");
    p.db().execute(dump("flyway", backend, "half").unwrap().split_once(";\n").unwrap().0);
    // Flyway's own row, as `--keep flyway` writes it, for a script whose text then holds a
    // placeholder Flyway filled in.
    p.write("migrations/V1__init.sql.conf", "placeholderReplacement=false\n");
    p.write("migrations/V1__init.sql", "create table t (x int); -- for ${owner}\n");
    p.godwit(&["--keep", "flyway", "up"]).ok().stderr_has("applied 1 migration");
    p.db().execute("DROP TABLE godwit_history");
    std::fs::remove_file(p.path("migrations/V1__init.sql.conf")).unwrap();
    p.godwit(&["adopt"]).ok().stderr_has("recorded 1 applied migration");
    p.godwit(&["validate"]).ok();
    p.godwit(&["up"]).ok();
    p.write("migrations/V2__next.sql", "insert into t values (1); -- ${owner}\n");
    p.godwit(&["up"]).code(2).stderr_has("V2__next.sql: line 1: Flyway placeholder `${owner}`");
}

/// Flyway before 5 named its table `schema_version`; Flyway 5 reads it when its own is not
/// there, and so do `adopt` and `--keep`.
fn flyway_table_from_before_flyway_5(backend: Backend) {
    let Some(p) = project(backend, "flyway") else { return };
    let half = dump("flyway", backend, "half").unwrap();
    p.db().execute(&half.replace("flyway_schema_history", "schema_version"));
    p.godwit(&["adopt"]).ok().stderr_has("schema_version").stderr_has("recorded 3 applied");
    p.godwit(&["--keep", "flyway", "up"]).ok().stderr_has("applied 2 migrations");
    assert!(!p.db().tables().contains(&"flyway_schema_history".to_owned()));
    assert_eq!(readopted(&p), 5, "the old table lists all five");
}

/// `godwit new` in a tool's folder writes the migration as the tool would, and it runs.
#[test]
fn new_writes_the_tools_own_layout() {
    for (tool, expected) in [
        ("sqlx", "6_add_tags.up.sql"),
        ("golang-migrate", "000006_add_tags.up.sql"),
        ("goose", "00006_add_tags.sql"),
        ("flyway", "V2.0.2__add_tags.sql"),
        ("refinery", "V6__add_tags.sql"),
        ("dbmate", "_add_tags.sql"),
        ("diesel", "_add_tags/up.sql"),
    ] {
        let p = project(Backend::Sqlite, tool).unwrap();
        let run = p.godwit(&["new", "add tags"]);
        run.ok().stdout_has(expected);
        p.godwit(&["up"]).ok().stderr_has("applied 6 migrations");
    }
}

/// A diesel migration made without a down.sql cannot be reverted: `down` refuses before it
/// reverts anything, as for godwit's own files without a down section.
#[test]
fn diesel_migration_without_down_is_irreversible() {
    let p = project(Backend::Sqlite, "diesel").unwrap();
    std::fs::remove_file(p.path("migrations/2024-01-01-000005_index_posts/down.sql")).unwrap();
    p.godwit(&["up"]).ok();
    let before = p.db().fingerprint();
    p.godwit(&["down", "--steps", "2"])
        .code(1)
        .stderr_has("cannot revert 2024-01-01-000005_index_posts: it has no `-- godwit:down` section (or down file");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["status", "--format", "json"]).ok().stdout_has("\"reversible\": false");
}

/// diesel compares versions as text: a directory named `2024-03-13_170000_x` (version
/// 20240313, eight digits) runs after `2024-03-06-170000_y`, as diesel runs it (a real folder
/// has such a directory). godwit runs it in diesel's order, with a warning, for `up`, `--to`
/// and `down --to`, and sees nothing out of order.
#[test]
fn diesel_folder_runs_in_diesels_text_order() {
    let p = Project::new(Backend::Sqlite).unwrap();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    p.write("godwit.toml", "format = \"diesel\"\n");
    for (dir, up, down) in [
        ("2018-01-14-171611_create_users", "CREATE TABLE users (id INTEGER);", "DROP TABLE users;"),
        ("2024-03-06-170000_add_sso", "CREATE TABLE sso (id INTEGER);", "DROP TABLE sso;"),
        (
            "2024-03-13_170000_sso_cascade",
            "ALTER TABLE sso ADD COLUMN user_id INTEGER;",
            "ALTER TABLE sso DROP COLUMN user_id;",
        ),
        (
            "2024-06-05-131359_sso_index",
            "CREATE INDEX sso_user ON sso (user_id);",
            "DROP INDEX sso_user;",
        ),
    ] {
        p.write(&format!("migrations/{dir}/up.sql"), up);
        p.write(&format!("migrations/{dir}/down.sql"), down);
    }
    p.godwit(&["up", "--to", "20240306170000"]).ok().stderr_has(
        "Warning diesel orders versions as text: migrations/2024-03-13_170000_sso_cascade runs after migrations/2024-03-06-170000_add_sso although its version is smaller",
    );
    assert!(!p.db().columns("sso").contains(&"user_id".to_owned()), "--to ran past its target");
    let run = p.godwit(&["up"]);
    run.ok()
        .stderr_has("Applying 2024-03-13_170000_sso_cascade")
        .stderr_has("applied 2 migrations");
    let at = |label: &str| run.stderr.find(&format!("Applying {label}")).unwrap();
    assert!(at("2024-03-13_170000_sso_cascade") < at("2024-06-05-131359_sso_index"));
    p.godwit(&["validate"]).ok();
    p.godwit(&["down", "--to", "20240306170000"]).ok().stderr_has("reverted 2 migrations");
    assert!(!p.db().columns("sso").contains(&"user_id".to_owned()));
    p.godwit(&["down", "--steps", "1"]).ok().stderr_has("Reverting 2024-03-06-170000_add_sso");
}

/// One test per backend for each case, in a module named after the case.
macro_rules! on_each_backend {
    ($($module:ident => $case:ident),* $(,)?) => {
        $(mod $module {
            use godwit_tests::Backend;

            #[test]
            fn sqlite() {
                super::$case(Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                super::$case(Backend::Postgres);
            }
        })*
    };
}

on_each_backend!(
    runs => folder_runs_as_its_tool_runs_it,
    adopt => half_migrated_database_is_adopted_and_finished,
    tampered => tampered_applied_file_is_caught_at_adoption,
    convert => converted_folder_runs_the_same_and_keeps_the_history,
    keep => kept_table_lets_the_team_go_back,
    mixed => components_sit_beside_the_tools_files,
    flyway_config => flyway_script_config_and_placeholders,
    flyway_placeholder_adopted => flyway_applied_placeholder_is_adopted,
    flyway_old_table => flyway_table_from_before_flyway_5,
);
