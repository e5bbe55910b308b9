//! What a new user does, outside this repository: the `godwit` binary copied on its own into a
//! temporary directory, a fresh project, `toolchain install`, `init`, `new --kind` in every
//! language, the skeletons filled in with a few lines, `up`, `status`, `down`. Nothing can
//! reach this repository's `sdk/` or `wit/`: the binary carries them.

use godwit_tests::{Project, Run, on_both};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary, copied where nothing of the repository is beside it.
fn installed(into: &Path) -> PathBuf {
    let bin = into.join("bin/godwit");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(godwit_tests::godwit_bin(), &bin).unwrap();
    bin
}

/// Runs `command`. The binary was written a moment ago: a test on another thread that forks
/// while the copy's file is still open holds it open for writing until its child execs, and
/// running it meanwhile fails with "text file busy". That passes; try again.
fn output(command: &mut Command) -> std::process::Output {
    for _ in 0..50 {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            result => return result.unwrap(),
        }
    }
    command.output().unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`:\n{text}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn every_language_from_an_empty_directory(p: &Project) {
    let home = tempfile::Builder::new().prefix("godwit-user-").tempdir().unwrap();
    let bin = installed(home.path());
    let project = home.path().join("app");
    std::fs::create_dir(&project).unwrap();
    let godwit = |args: &[&str]| {
        let mut command = Command::new(&bin);
        command
            .current_dir(&project)
            .env("DATABASE_URL", &p.url)
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("GODWIT_TOOLCHAINS", godwit_tests::toolchains_dir())
            // Crates share a target directory across tests, as a CI cache would.
            .env("CARGO_TARGET_DIR", godwit_tests::root().join("target/guest-crates"))
            .env_remove("GODWIT_CONFIG")
            .args(args);
        Run::from(output(&mut command))
    };
    godwit(&["toolchain", "install", "rust", "python", "js", "c"]).ok();
    godwit(&["toolchain", "list"]).ok().stdout_has("componentize-py").stdout_has("installed");
    godwit(&["init"]).ok();
    let migrations = project.join("migrations");
    std::fs::write(
        migrations.join("0001_people.sql"),
        "-- godwit:up\nCREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
         INSERT INTO people (id, name) VALUES (1, 'Ada Lovelace'), (2, 'Grace Hopper'), \
         (3, 'Alan Turing');\n-- godwit:down\nDROP TABLE people;\n",
    )
    .unwrap();
    godwit(&["new", "add notes", "--kind", "rust"]).ok().stdout_has("0002_add_notes");
    godwit(&["new", "nicknames", "--kind", "python", "--batched"]).ok();
    godwit(&["new", "add_email", "--kind", "js"]).ok();
    godwit(&["new", "first_note", "--kind", "c"]).ok();
    let manifest = std::fs::read_to_string(migrations.join("0002_add_notes/Cargo.toml")).unwrap();
    assert!(manifest.contains("godwit-sdk = \"0.1\""), "{manifest}");

    // A skeleton refuses to run until it is written: the SQL file before it is applied, it
    // is rolled back.
    godwit(&["up"]).code(1).stderr_has("write this migration's up in src/lib.rs");
    assert_eq!(p.db().tables(), ["people"]);

    let rust = migrations.join("0002_add_notes/src/lib.rs");
    edit(
        &rust,
        "        // godwit_sdk::sql::execute(\"ALTER TABLE users ADD COLUMN email TEXT\", godwit_sdk::params![])?;\n\
         \x20       Err(\"write this migration's up in src/lib.rs\".into())",
        "        godwit_sdk::sql::execute(\"CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)\", godwit_sdk::params![])?;\n        Ok(())",
    );
    edit(
        &rust,
        "Err(\"write this migration's down in src/lib.rs\".into())",
        "godwit_sdk::sql::execute(\"DROP TABLE notes\", godwit_sdk::params![])?;\n        Ok(())",
    );
    let python = migrations.join("0003_nicknames/migration.py");
    edit(
        &python,
        "        # godwit.execute(\"ALTER TABLE users ADD COLUMN email TEXT\")\n        raise NotImplementedError(\"write this migration's apply in migration.py\")",
        "        godwit.execute(\"ALTER TABLE people ADD COLUMN nick TEXT\")",
    );
    edit(
        &python,
        "        raise NotImplementedError(\"write this migration's batch in migration.py\")",
        "        rows = godwit.query(\"SELECT id, name FROM people WHERE id > $1 ORDER BY id LIMIT $2\", int(cursor or 0), batch_size)\n\
         \x20       godwit.execute_many(\"UPDATE people SET nick = $1 WHERE id = $2\", [(r[\"name\"].split()[0].lower(), r[\"id\"]) for r in rows])\n\
         \x20       return godwit.Progress(str(rows[-1][\"id\"]) if len(rows) == batch_size else None, len(rows))",
    );
    edit(
        &python,
        "        raise NotImplementedError(\"write this migration's revert in migration.py\")",
        "        godwit.execute(\"ALTER TABLE people DROP COLUMN nick\")",
    );
    let js = migrations.join("0004_add_email/migration.js");
    edit(
        &js,
        "    // execute(\"ALTER TABLE users ADD COLUMN email TEXT\");\n    throw new Error(\"write this migration's up in migration.js\");",
        "    execute(\"ALTER TABLE people ADD COLUMN email TEXT\");",
    );
    edit(
        &js,
        "    throw new Error(\"write this migration's down in migration.js\");",
        "    execute(\"ALTER TABLE people DROP COLUMN email\");",
    );
    let c = migrations.join("0005_first_note/migration.c");
    edit(
        &c,
        "  return gw_fail(err, \"write this migration's up in migration.c\");",
        "  if (!gw_execute(\"INSERT INTO notes (id, body) VALUES ($1, $2)\",\n\
         \x20                 GW_PARAMS(gw_int(1), gw_text(\"from C\")), NULL))\n\
         \x20   return gw_failed(err);\n  return true;",
    );
    edit(
        &c,
        "  return gw_fail(err, \"write this migration's down in migration.c\");",
        "  if (!gw_execute(\"DELETE FROM notes WHERE id = 1\", GW_NO_PARAMS, NULL))\n\
         \x20   return gw_failed(err);\n  return true;",
    );

    let up = godwit(&["up", "--batch-size", "2"]);
    up.ok()
        .stderr_has("Building 0003_nicknames (Python)")
        .stderr_has("Building 0004_add_email (JavaScript)")
        .stderr_has("Building 0005_first_note (C)")
        .stderr_has("Applying 0005_first_note")
        .stderr_has("applied 4 migrations");
    let people = p.db().rows("SELECT nick FROM people ORDER BY id");
    assert_eq!(people, [["ada"], ["grace"], ["alan"]].map(|r| r.map(str::to_owned).to_vec()));
    assert_eq!(p.db().rows("SELECT body FROM notes"), [["from C".to_owned()]]);
    assert!(p.db().columns("people").contains(&"email".to_owned()));
    // Nothing changed: nothing is built again, and the history agrees with the sources.
    let again = godwit(&["up"]);
    assert!(!again.ok().stderr.contains("Building"), "{}", again.stderr);
    let status = godwit(&["status"]);
    for label in ["0001_people", "0002_add_notes", "0003_nicknames", "0004_add_email"] {
        status.stdout_has(&format!("applied   {label}"));
    }
    godwit(&["validate"]).ok();

    godwit(&["down", "--to", "0"]).ok().stderr_has("Reverting 0001_people");
    assert!(p.db().tables().is_empty());
    godwit(&["status"]).ok().stdout_has("pending   0005_first_note");

    // The build used the SDK the binary carries, from the cache, not this repository's.
    let sdk = home.path().join("cache/godwit/sdk");
    let copies: Vec<_> = std::fs::read_dir(&sdk).unwrap().collect();
    assert_eq!(copies.len(), 1, "one SDK copy in {}", sdk.display());
    let lock = std::fs::read_to_string(migrations.join("0002_add_notes/Cargo.lock")).unwrap();
    assert!(!lock.contains(godwit_tests::root().to_str().unwrap()), "{lock}");
}

on_both!(every_language_from_an_empty_directory);
