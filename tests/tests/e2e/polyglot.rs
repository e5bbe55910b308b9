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

/// Every kind of value crosses the JSON calls of Python's and JavaScript's SDKs intact: blobs
/// and reals (tagged, or sent the typed way), exact integers, text with quotes and newlines,
/// nulls; and a NaN a guest sends falls back to the typed call.
fn values_round_trip(p: &Project) {
    let (blob, real) = match p.backend {
        godwit_tests::Backend::Sqlite => ("BLOB", "REAL"),
        godwit_tests::Backend::Postgres => ("BYTEA", "DOUBLE PRECISION"),
    };
    let blob_literal = match p.backend {
        godwit_tests::Backend::Sqlite => "x'00ff10'",
        godwit_tests::Backend::Postgres => "'\\x00ff10'::bytea",
    };
    p.db().execute(&format!(
        "CREATE TABLE vals (id INTEGER PRIMARY KEY, b {blob}, r {real}, t TEXT, i BIGINT);
         CREATE TABLE copies (id INTEGER PRIMARY KEY, b {blob}, r {real}, t TEXT, i BIGINT);
         INSERT INTO vals VALUES (1, {blob_literal}, 1.0, 'a\"b''c
d', 9007199254740993), (2, NULL, 1e300, NULL, -7);"
    ));
    p.write(
        "migrations/0001_py/migration.py",
        "import godwit\n\n\nclass Migration(godwit.Migration):\n\
         \x20   def apply(self):\n\
         \x20       rows = godwit.query(\"SELECT id, b, r, t, i FROM vals ORDER BY id\")\n\
         \x20       assert rows[0][\"b\"] == b\"\\x00\\xff\\x10\", rows[0]\n\
         \x20       assert isinstance(rows[0][\"r\"], float) and rows[0][\"i\"] == 9007199254740993, rows[0]\n\
         \x20       assert rows[0][\"t\"] == 'a\"b\\'c\\nd' and rows[1][\"b\"] is None, rows\n\
         \x20       godwit.execute_many(\"INSERT INTO copies VALUES ($1, $2, $3, $4, $5)\",\n\
         \x20           [(r[\"id\"] + 10, r[\"b\"], r[\"r\"], r[\"t\"], r[\"i\"]) for r in rows])\n\
         \x20       godwit.execute_many(\"INSERT INTO copies (id, r) VALUES ($1, $2)\", [(30, 2.5), (31, float(\"inf\"))])\n",
    );
    p.write(
        "migrations/0002_js/migration.js",
        "import { define, query, executeMany } from \"godwit\";\n\
         export const migration = define({\n\
         \x20 up() {\n\
         \x20   const rows = query(\"SELECT id, b, r, t, i FROM vals ORDER BY id\");\n\
         \x20   if (!(rows[0].b instanceof Uint8Array) || rows[0].b[1] !== 255) throw new Error(JSON.stringify(rows[0]));\n\
         \x20   if (rows[1].r !== 1e300 || rows[1].t !== null || rows[0].t !== 'a\"b\\'c\\nd') throw new Error(JSON.stringify(rows));\n\
         \x20   executeMany(\"INSERT INTO copies VALUES ($1, $2, $3, $4, $5)\", rows.map((r) => [r.id + 20, r.b, r.r, r.t, r.i]));\n\
         \x20   executeMany(\"INSERT INTO copies (id, t) VALUES ($1, $2)\", [[40, \"x\"], [41, null]]);\n\
         \x20 },\n});\n",
    );
    p.godwit_shared_cache(&["up"]).ok().stderr_has("Applying 0002_js");
    let same = |offset: i64| {
        p.db().scalar(&format!(
            "SELECT count(*) FROM vals v JOIN copies c ON c.id = v.id + {offset} \
             WHERE (c.b = v.b OR (c.b IS NULL AND v.b IS NULL)) AND c.r = v.r \
             AND (c.t = v.t OR (c.t IS NULL AND v.t IS NULL))"
        ))
    };
    assert_eq!(same(10), "2", "Python's copies differ");
    assert_eq!(same(20), "2", "JavaScript's copies differ");
    assert_eq!(p.db().scalar("SELECT i FROM copies WHERE id = 11"), "9007199254740993");
    assert_eq!(p.db().scalar("SELECT count(*) FROM copies WHERE id >= 30"), "4");
}

on_both!(python_backfill, javascript_backfill, c_backfill, values_round_trip);
