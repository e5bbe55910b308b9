//! What a component migration declares about how it runs (contract 0.2.2's `options.declare`,
//! from each SDK): its transform deferred to a worker, its own batch target and bounds (which
//! yield to what the command line sets), and transforms it requires finished first.

use super::backfill::{count, people};
use godwit_tests::{Project, build_source, root};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A copy of the example `example` with `file` edited by `edit`, built. The copy stays in the
/// test's target directory, where cargo keeps what it built of a Rust one for the next run.
pub(super) fn variant(example: &str, file: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let source = root().join("guest-examples").join(example).join(file);
    let text = std::fs::read_to_string(&source).unwrap();
    let edited = edit(&text);
    // Each edit builds in a directory of its own, so variants of one example do not take
    // turns rebuilding.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&edited, &mut hasher);
    let edit_id = std::hash::Hasher::finish(&hasher);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("options-{example}-{edit_id:x}"));
    assert_ne!(edited, text, "the edit of {example}/{file} changed nothing");
    write_if_changed(&dir.join(file), &edited);
    if file.ends_with(".rs") {
        write_if_changed(&dir.join("Cargo.toml"), MANIFEST);
    }
    build_source(&dir)
}

/// Writes `text` unless the file holds it already (so that cargo sees nothing changed).
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const MANIFEST: &str = "[package]\nname = \"migration-split\"\nversion = \"0.1.0\"\n\
    edition = \"2024\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
    [dependencies]\ngodwit-sdk = \"0.1\"\n\n[workspace]\n";

/// The backfill, deferred, in batches of 50 ms between 1 and 2 rows, in each SDK.
fn deferred(language: &str) -> PathBuf {
    match language {
        "rust" => variant("rust-backfill", "src/lib.rs", |text| {
            text.replace(
                "impl Migration for SplitNames {\n",
                "impl Migration for SplitNames {\n    fn options() -> godwit_sdk::Options {\n        \
                 godwit_sdk::Options {\n            defer_transform: true,\n            \
                 batch_target: Some(std::time::Duration::from_millis(50)),\n            \
                 batch_min: Some(1),\n            batch_max: Some(2),\n            \
                 ..Default::default()\n        }\n    }\n\n",
            )
        }),
        "python" => variant("python-backfill", "migration.py", |text| {
            text.replace(
                "    batched = True\n",
                "    batched = True\n    defer_transform = True\n    batch_target_ms = 50\n    \
                 batch_min = 1\n    batch_max = 2\n",
            )
        }),
        "js" => variant("js-backfill", "migration.js", |text| {
            text.replace(
                "  batched: true,\n",
                "  batched: true,\n  deferTransform: true,\n  batchTargetMs: 50,\n  batchMin: 1,\n  \
                 batchMax: 2,\n",
            )
        }),
        _ => variant("c-backfill", "migration.c", |text| {
            text.replace(
                ".transform = transform);",
                ".transform = transform, .defer_transform = true, .batch_target_ms = 50, \
                 .batch_min = 1, .batch_max = 2);",
            )
        }),
    }
}

/// A C migration that drops `people.full_name` once 0001's transform has finished.
fn drop_full_name() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("options-drop-full-name");
    let source = "#include \"godwit.h\"\n\n\
        static const char *const requires[] = {\"0001\", NULL};\n\n\
        static bool up(gw_string *err) {\n  \
        if (!gw_execute(\"ALTER TABLE people DROP COLUMN full_name\", NULL, 0, NULL)) \
        return gw_failed(err);\n  return true;\n}\n\n\
        GW_MIGRATION(.description = \"drop people.full_name\", .up = up, .requires = requires);\n";
    write_if_changed(&dir.join("migration.c"), source);
    build_source(&dir)
}

fn copy(p: &Project, component: &Path, name: &str) {
    std::fs::copy(component, p.path(&format!("migrations/{name}"))).unwrap();
}

#[test]
fn every_sdk_declares_how_its_migration_runs() {
    for language in ["rust", "python", "js", "c"] {
        let p = Project::new(godwit_tests::Backend::Sqlite).unwrap();
        people(&p, 5);
        p.remove("migrations/0001_split_names.wasm");
        copy(&p, &deferred(language), "0001_split.wasm");
        p.godwit_shared_cache(&["inspect", "migrations/0001_split.wasm"])
            .ok()
            .stdout_has("options      defer transform, batch target 50ms, batch 1..2 rows");
        // Deferred without --defer-transforms: `up` applies `up` and queues the batches.
        p.godwit_shared_cache(&["up"]).ok().stderr_has("Queued 0001_split (up in ");
        assert_eq!(count(&p, "passes = 0"), 5, "{language}: the deploy ran batches");
        // The worker sizes batches as the migration asked: 2 rows at most.
        p.godwit_shared_cache(&["transforms", "run"])
            .ok()
            .stderr_has("Progress 0001_split: 2 of about 5 rows")
            .stderr_has("Finished ran 1 transform to the end");
        assert_eq!(count(&p, "passes = 1"), 5, "{language}");
    }
}

fn declared_options_yield_to_the_command_line(p: &Project) {
    people(p, 1000);
    p.remove("migrations/0001_split_names.wasm");
    copy(p, &deferred("rust"), "0001_split.wasm");
    // --run-transforms runs even a deferred transform inside `up`; --batch-max on the command
    // line replaces the migration's bounds.
    p.godwit(&["up", "--run-transforms", "--batch-size", "500", "--batch-max", "500"])
        .ok()
        .stderr_has("Applying 0001_split (")
        .stderr_has("Progress 0001_split: 500 of about 1,000 rows");
    assert_eq!(count(p, "passes = 1"), 1000);
    assert!(!p.godwit(&["transforms", "status"]).ok().stdout.contains("queued"));
}

fn a_component_requires_a_transform_finished_first(p: &Project) {
    people(p, 300);
    p.remove("migrations/0001_split_names.wasm");
    copy(p, &deferred("rust"), "0001_split.wasm");
    p.godwit(&["up"]).ok().stderr_has("Queued 0001_split");
    copy(p, &drop_full_name(), "0002_drop_full_name.wasm");
    let before = p.db().fingerprint();
    p.godwit(&["up", "--no-wait"])
        .code(1)
        .stderr_has("0002_drop_full_name needs the transform of 0001_split finished first");
    assert_eq!(p.db().fingerprint(), before);
    p.godwit(&["up"])
        .ok()
        .stderr_has("Resuming 0001_split (")
        .stderr_has("Applying 0002_drop_full_name");
    assert_eq!(count(p, "passes = 1"), 300);
    assert!(!p.db().columns("people").contains(&"full_name".to_owned()));
}

godwit_tests::on_both!(
    declared_options_yield_to_the_command_line,
    a_component_requires_a_transform_finished_first
);

/// Options that cannot be followed stop the load, name the file, say what the bounds may be,
/// and change nothing (B67 in docs/bad-inputs.md is the same input from the catalogue).
#[test]
fn impossible_options_stop_the_load_and_say_what_is_allowed() {
    let p = Project::new(godwit_tests::Backend::Sqlite).unwrap();
    p.write(
        "migrations/0001_bounds/migration.c",
        "#include \"godwit.h\"\n\nstatic bool up(gw_string *err) { (void)err; return true; }\n\n\
         GW_MIGRATION(.description = \"bounds\", .up = up, .batch_target_ms = 100, \
         .batch_min = 500, .batch_max = 10);\n",
    );
    p.godwit(&["up"])
        .code(2)
        .stderr_has("0001_bounds: it declares batch-min 500 above batch-max 10")
        .stderr_has("hint: a migration may declare a batch target above 0 ms and batch bounds");
    assert!(!p.db().has_history_table());
}
