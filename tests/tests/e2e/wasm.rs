//! WebAssembly component migrations through the real binary, on SQLite and PostgreSQL: the
//! same history, plan and commands as SQL files, and a sandbox that stops hostile guests.

use godwit_tests::{Backend, Project, on_both};

fn component_applies_and_reverts_in_the_same_history(p: &Project) {
    p.migration("0001_base.sql", "create table base (x int);", Some("drop table base;"));
    p.component("rust-schema", "0002_observers.wasm");
    p.godwit(&["up"]).ok().stderr_has("Applying 0002_observers (");
    assert_eq!(p.db().tables(), ["base", "observers"]);
    assert_eq!(p.db().scalar("SELECT name FROM observers"), "Ada");
    let history = p.db().history();
    assert_eq!(history.len(), 2);
    assert_eq!(p.db().scalar("SELECT kind FROM godwit_history WHERE version = 2"), "wasm");
    let json = p.godwit(&["status", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["migrations"][1]["kind"], "wasm");
    assert_eq!(value["migrations"][1]["reversible"], true);
    // The guest's log reaches --verbose.
    p.godwit(&["down", "--to", "0"]).ok();
    p.godwit(&["-v", "up"]).ok().stderr_has("0002_observers info: observers created with 1 row");
    p.godwit(&["down"]).ok().stderr_has("Reverting 0002_observers");
    assert_eq!(p.db().tables(), ["base"]);
    p.godwit(&["up", "--dry-run"])
        .ok()
        .stdout_has("-- applying 0002_observers (migrations/0002_observers.wasm)");
}

fn checksum_covers_the_component_bytes(p: &Project) {
    p.component("rust-schema", "0001_observers.wasm");
    p.godwit(&["up"]).ok();
    let mut bytes = std::fs::read(p.path("migrations/0001_observers.wasm")).unwrap();
    // A custom section appended to a component keeps it valid but changes its bytes.
    bytes.extend_from_slice(&[0, 4, 1, b'x', 0xAA, 0xBB]);
    std::fs::write(p.path("migrations/0001_observers.wasm"), bytes).unwrap();
    p.godwit(&["validate"]).code(1).stdout_has("0001_observers was modified");
}

fn compiled_components_are_cached_and_damaged_entries_ignored(p: &Project) {
    p.component("rust-schema", "0001_observers.wasm");
    p.godwit(&["status"]).ok();
    let dir = p.path("cache/godwit/components");
    // The compiled code of each entry (its seal is beside it).
    let entries = || -> Vec<std::path::PathBuf> {
        let paths = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path());
        paths.filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect()
    };
    let cached = entries();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let written = std::fs::metadata(&cached[0]).unwrap().modified().unwrap();
    // A second run loads the compiled component and writes nothing.
    p.godwit(&["up"]).ok();
    assert_eq!(std::fs::metadata(&cached[0]).unwrap().modified().unwrap(), written);
    assert_eq!(entries().len(), 1);
    // A damaged entry is not trusted: it is compiled again and rewritten.
    std::fs::write(&cached[0], b"garbage that is not compiled code").unwrap();
    p.godwit(&["down"]).ok();
    let good = std::fs::read(&cached[0]).unwrap();
    assert!(good.len() > 1000);
    assert_eq!(p.db().tables(), Vec::<String>::new());
    // So is one whose length is right and one byte of its code is not.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&cached[0], &flipped).unwrap();
    p.godwit(&["up"]).ok();
    assert_eq!(std::fs::read(&cached[0]).unwrap(), good);
}

fn not_a_component_is_rejected_before_anything_runs(p: &Project) {
    p.migration("0001_a.sql", "create table a (x int);", None);
    p.write("migrations/0002_bad.wasm", "this is not WebAssembly");
    p.godwit(&["up"])
        .code(2)
        .stderr_has("migrations/0002_bad.wasm: not a godwit migration component");
    assert!(p.db().tables().is_empty());
    // A valid core module that is not a component, and a component of another world.
    std::fs::write(p.path("migrations/0002_bad.wasm"), b"\0asm\x01\0\0\0").unwrap();
    p.godwit(&["up"]).code(2).stderr_has("0002_bad.wasm: not a godwit migration component");
    assert!(!p.db().has_history_table());
    // A component built against an older version of the contract (0.1.0, lists of lists).
    let old = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/contract-0.1.0.wasm");
    std::fs::copy(old, p.path("migrations/0002_bad.wasm")).unwrap();
    p.godwit(&["up"])
        .code(2)
        .stderr_has("0002_bad.wasm: built against version 0.1.0 of godwit's contract")
        .stderr_has("this godwit implements godwit:migration@0.2.2")
        .stderr_has("hint: rebuild it from its source with this godwit");
    assert!(!p.db().has_history_table());
}

/// Runs the hostile guest in `mode` and checks that it fails with `needle` and changes nothing.
fn hostile(p: &Project, mode: &str, extra: &[&str], needle: &str) -> godwit_tests::Run {
    p.db().execute(&format!(
        "CREATE TABLE hostile_mode (mode TEXT); INSERT INTO hostile_mode VALUES ('{mode}');"
    ));
    p.godwit(&["up"]).ok(); // creates the history table
    p.component("hostile", "0001_hostile.wasm");
    let before = p.db().fingerprint();
    let mut args = extra.to_vec();
    args.push("up");
    let run = p.godwit(&args);
    run.code(1)
        .stderr_has("applying 0001_hostile failed (migrations/0001_hostile.wasm)")
        .stderr_has(needle)
        .stderr_has("hint: 0001_hostile was rolled back and the database is as it was before it");
    assert_eq!(p.db().fingerprint(), before, "{mode}: the step must be rolled back");
    assert!(!p.db().tables().contains(&"hostile_was_here".to_owned()));
    run
}

fn infinite_loop_is_stopped_by_the_time_limit(p: &Project) {
    hostile(p, "spin", &["--wasm-timeout", "300ms"], "ran longer than its time limit (300ms)")
        .stderr_has("`--wasm-timeout` (wasm_timeout in godwit.toml) raises the time limit");
}

fn memory_bomb_is_stopped_by_the_memory_limit(p: &Project) {
    hostile(p, "memory", &["--wasm-memory", "64MiB"], "more memory than its limit (64 MiB)")
        .stderr_has("`--wasm-memory` (wasm_memory in godwit.toml) raises the memory limit");
}

fn panic_is_a_trap_with_the_guest_message(p: &Project) {
    hostile(p, "panic", &[], "hostile guest panicked on purpose");
}

fn files_are_not_there(p: &Project) {
    hostile(p, "file", &[], "could not read /etc/passwd");
}

fn environment_is_empty(p: &Project) {
    p.db()
        .execute("CREATE TABLE hostile_mode (mode TEXT); INSERT INTO hostile_mode VALUES ('env');");
    p.component("hostile", "0001_hostile.wasm");
    let run = p.command().env("SECRET_TOKEN", "hunter2").args(["up"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("saw 0 environment variables"), "{stderr}");
}

fn clocks_stand_still(p: &Project) {
    hostile(p, "clock", &[], "the wall clock says 0 s since 1970");
}

fn log_flood_is_capped(p: &Project) {
    p.db().execute(
        "CREATE TABLE hostile_mode (mode TEXT); INSERT INTO hostile_mode VALUES ('flood');",
    );
    p.component("hostile", "0001_hostile.wasm");
    let run = p.godwit(&["-v", "up"]);
    // Printing past the cap is dropped, not refused (a refused write makes println! panic):
    // the guest finishes, and godwit says how much it dropped.
    run.ok()
        .stderr_has("further log lines dropped")
        .stderr_has("stdout: printed line 0")
        .stderr_has("more bytes dropped)");
    assert!(run.stderr.len() < 1 << 20, "output was not capped: {} bytes", run.stderr.len());
}

fn sql_errors_reach_the_guest_with_their_code(p: &Project) {
    let code = match p.backend {
        Backend::Sqlite => "SQLITE_ERROR",
        Backend::Postgres => "42P01",
    };
    hostile(p, "sql-error", &[], code);
}

on_both!(
    component_applies_and_reverts_in_the_same_history,
    checksum_covers_the_component_bytes,
    compiled_components_are_cached_and_damaged_entries_ignored,
    not_a_component_is_rejected_before_anything_runs,
    infinite_loop_is_stopped_by_the_time_limit,
    memory_bomb_is_stopped_by_the_memory_limit,
    panic_is_a_trap_with_the_guest_message,
    files_are_not_there,
    environment_is_empty,
    log_flood_is_capped,
    clocks_stand_still,
    sql_errors_reach_the_guest_with_their_code,
);

#[test]
fn inspect_describes_components_and_rejects_others() {
    let p = Project::new(Backend::Sqlite).unwrap();
    p.component("rust-backfill", "0001_split.wasm");
    let run = p.godwit(&["inspect", "migrations/0001_split.wasm"]);
    run.ok()
        .stdout_has("world        godwit:migration/migration-component@0.2.2: yes")
        .stdout_has("batched      yes")
        .stdout_has("exports      godwit:migration/migration@0.2.2");
    let json = p.godwit(&["inspect", "migrations/0001_split.wasm", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["matches_world"], true);
    assert_eq!(value["descriptor"]["reversible"], true);
    assert_eq!(value["sha256"].as_str().unwrap().len(), 64);
    p.write("notes.wasm", "not wasm");
    p.godwit(&["inspect", "notes.wasm"])
        .code(1)
        .stderr_has("notes.wasm: not a godwit migration component");
    p.godwit(&["inspect", "missing.wasm"]).code(2).stderr_has("cannot read missing.wasm");
}

#[test]
fn rust_crate_migration_is_scaffolded_built_and_applied() {
    let p = Project::new(Backend::Sqlite).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let sdk = root.join("sdk");
    let run = p.godwit(&["new", "observers", "--kind", "rust", "--sdk", sdk.to_str().unwrap()]);
    run.ok().stdout_has("migrations/0001_observers");
    assert!(p.path("migrations/0001_observers/Cargo.toml").is_file());
    // Guest crates share one target directory across test runs.
    let shared = root.join("target/guest-crates");
    let godwit = |args: &[&str]| {
        godwit_tests::Run::from(
            p.command().env("CARGO_TARGET_DIR", &shared).args(args).output().unwrap(),
        )
    };
    // The scaffold refuses to run until it is written.
    godwit(&["up"]).code(1).stderr_has("write this migration's up in src/lib.rs");
    assert!(p.db().tables().is_empty());
    p.write(
        "migrations/0001_observers/src/lib.rs",
        "use godwit_sdk::{Migration, Result, params, sql};\n\
         struct Observers;\n\
         impl Migration for Observers {\n\
             fn reversible() -> bool { true }\n\
             fn up() -> Result<()> { sql::execute(\"CREATE TABLE observers (id INTEGER)\", params![])?; Ok(()) }\n\
             fn down() -> Result<()> { sql::execute(\"DROP TABLE observers\", params![])?; Ok(()) }\n\
         }\n\
         godwit_sdk::migration!(Observers);\n",
    );
    // Cargo's own progress lines show while it builds (none with --quiet).
    godwit(&["build"])
        .ok()
        .stderr_has("Compiling ")
        .stderr_has("Finished `release` profile")
        .stderr_has("Built 0001_observers");
    let quiet = godwit(&["-q", "build"]);
    assert!(!quiet.ok().stderr.contains("Finished `release`"), "{}", quiet.stderr);
    godwit(&["inspect", "migrations/0001_observers"])
        .ok()
        .stdout_has("godwit:migration/migration-component@0.2.2: yes");
    godwit(&["up", "--no-build"]).ok().stderr_has("Applying 0001_observers");
    assert_eq!(p.db().tables(), ["observers"]);
    godwit(&["validate"]).ok();
    // The checksum covers the crate's source: an edit is a modification.
    let lib = p.path("migrations/0001_observers/src/lib.rs");
    let edited = std::fs::read_to_string(&lib).unwrap().replace("id INTEGER", "id BIGINT");
    std::fs::write(&lib, edited).unwrap();
    godwit(&["validate"]).code(1).stdout_has("0001_observers was modified");
    // Without the wasm32-wasip2 standard library (a sysroot that lacks it stands in for a
    // toolchain without the target), building says how to install it and nothing changes.
    let before = p.db().fingerprint();
    let run = godwit_tests::Run::from(
        p.command()
            .env("CARGO_TARGET_DIR", p.path("target-without-std"))
            .env("RUSTFLAGS", format!("--sysroot={}", p.path("no-sysroot").display()))
            .args(["build"])
            .output()
            .unwrap(),
    );
    run.code(2).stderr_has("0001_observers").stderr_has("rustup target add wasm32-wasip2");
    assert_eq!(p.db().fingerprint(), before);
}

/// The README demo runs from the repository's `migrations/` on the embedded SQLite default.
#[test]
fn demo_runs_and_its_components_match_their_examples() {
    let p = Project::new(Backend::Sqlite).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for entry in std::fs::read_dir(root.join("migrations")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, p.path("migrations").join(path.file_name().unwrap())).unwrap();
    }
    p.godwit(&["up"]).ok().stderr_has("Applying 0007_split_names (").stderr_has(", 5 rows)");
    p.godwit(&["status"]).ok().stderr_has("8 applied");
    assert_eq!(p.db().scalar("SELECT last_name FROM people WHERE id = 2"), "Hopper");
    // The toolchain is pinned (rust-toolchain.toml) and the dependencies locked, so a fresh
    // build of each example is the shipped component byte for byte.
    for (shipped, example) in
        [("0005_observers.wasm", "rust-schema"), ("0007_split_names.wasm", "rust-backfill")]
    {
        let shipped_bytes = std::fs::read(root.join("migrations").join(shipped)).unwrap();
        let built = std::fs::read(godwit_tests::guest(example)).unwrap();
        assert!(
            shipped_bytes == built,
            "migrations/{shipped} is not what guest-examples/{example} builds to; rebuild it as \
             migrations/README.md says"
        );
    }
}

#[test]
fn lock_pins_components_and_refuses_tampered_or_unlocked_ones() {
    let p = Project::new(Backend::Sqlite).unwrap();
    p.component("rust-schema", "0001_observers.wasm");
    let sha = |name: &str| {
        godwit::Checksum::of_bytes(&std::fs::read(p.path(&format!("migrations/{name}"))).unwrap())
            .to_string()
    };
    let original = sha("0001_observers.wasm");
    p.godwit(&["lock"])
        .ok()
        .stderr_has(&format!("Locked 0001_observers sha256:{}", &original[..12]))
        .stderr_has("godwit.lock pins 1 component");
    let text = std::fs::read_to_string(p.path("godwit.lock")).unwrap();
    assert!(text.contains(&format!("sha256 = \"{original}\"")), "{text}");
    assert!(text.contains("file = \"migrations/0001_observers.wasm\""), "{text}");
    p.godwit(&["lock"]).ok().stderr_has("godwit.lock is up to date");
    p.godwit(&["up"]).ok().stderr_has("Applying 0001_observers");

    // Other bytes under the same name: refused before anything runs, by up, down and validate.
    p.component("rust-backfill", "0001_observers.wasm");
    let tampered = sha("0001_observers.wasm");
    let before = p.db().fingerprint();
    for command in [&["up"][..], &["down"], &["validate"]] {
        p.godwit(command)
            .code(2)
            .stderr_has(&format!(
                "migrations/0001_observers.wasm (0001_observers) does not match godwit.lock: \
                 locked sha256 {original}, found sha256 {tampered}"
            ))
            .stderr_has("run `godwit lock`");
    }
    assert_eq!(p.db().fingerprint(), before);

    // A component nobody locked is refused too.
    p.component("rust-schema", "0001_observers.wasm");
    p.component("rust-backfill", "0002_split.wasm");
    p.godwit(&["up"])
        .code(2)
        .stderr_has("migrations/0002_split.wasm (0002_split) is not in godwit.lock");
    assert_eq!(p.db().fingerprint(), before);

    // `godwit lock` takes the change deliberately and says what it was.
    p.remove("migrations/0001_observers.wasm");
    p.godwit(&["lock"])
        .ok()
        .stderr_has("Locked 0002_split")
        .stderr_has(&format!("Removed 0001_observers sha256:{}", &original[..12]));
    assert!(!std::fs::read_to_string(p.path("godwit.lock")).unwrap().contains("0001_observers"));
}
