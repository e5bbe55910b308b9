//! Guests in other languages, against the same contract, through the real host.

use godwit_tests::{Project, on_both};

/// A batched backfill written in another language splits names, processes every row once
/// over several batches, reverts, and leaves the history right.
fn backfill_in(p: &Project, component: &std::path::Path) {
    p.db().execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, \
         passes INTEGER NOT NULL DEFAULT 0);
         INSERT INTO people (id, full_name) VALUES (1, 'Ada Lovelace'),
             (2, 'Grace Brewster Hopper'), (3, 'Plato'), (4, 'Émilie du Châtelet'),
             (5, 'Alan Turing');",
    );
    std::fs::copy(component, p.path("migrations/0001_split.wasm")).unwrap();
    p.godwit_shared_cache(&["up", "--batch-size", "2"])
        .ok()
        .stderr_has("Applying 0001_split (")
        .stderr_has(", 5 rows)");
    let split = p.db().rows("SELECT first_name, last_name, passes FROM people ORDER BY id");
    let expected = [
        ["Ada", "Lovelace", "1"],
        ["Grace", "Brewster Hopper", "1"],
        ["Plato", "", "1"],
        ["Émilie", "du Châtelet", "1"],
        ["Alan", "Turing", "1"],
    ];
    assert_eq!(split, expected.map(|row| row.map(str::to_owned).to_vec()).to_vec());
    p.godwit_shared_cache(&["status"]).ok().stdout_has("applied").stdout_has("0001_split");
    p.godwit_shared_cache(&["down"]).ok().stderr_has("Reverting 0001_split");
    let columns = p.db().columns("people");
    assert_eq!(columns, ["id", "full_name", "passes"]);
}

fn python_backfill(p: &Project) {
    backfill_in(p, &godwit_tests::source_guest("python-backfill"));
}

fn javascript_backfill(p: &Project) {
    backfill_in(p, &godwit_tests::source_guest("js-backfill"));
}

fn c_backfill(p: &Project) {
    backfill_in(p, &godwit_tests::source_guest("c-backfill"));
}

on_both!(python_backfill, javascript_backfill, c_backfill);
