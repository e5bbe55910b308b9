//! Every rule against its examples in docs/lint.md: the `bad` block of a rule finds it, the
//! `good` block does not, so the documentation cannot drift from the rules.

use super::Rule;
use super::rules::Reader;
use crate::driver::Dialect;

const DOC: &str = include_str!("../../../docs/lint.md");

/// The SQL of the fenced block whose info string is `sql <dialect> <kind> <rule>`, and the
/// transaction its first line asks for (`-- godwit:no-transaction`).
fn example(dialect: &str, kind: &str, rule: Rule) -> Option<(String, bool)> {
    let fence = format!("```sql {dialect} {kind} {}", rule.id());
    let start = DOC.find(&fence)? + fence.len();
    let end = start + DOC[start..].find("```")?;
    let sql = DOC[start..end].trim().to_owned();
    let transaction = !sql.contains("-- godwit:no-transaction");
    Some((sql, transaction))
}

fn found(dialect: Dialect, sql: &str, transaction: bool) -> Vec<Rule> {
    let mut reader = Reader::new(dialect, transaction);
    let statements = crate::source::split::split(sql, 1);
    let timeout = !sql.contains("-- godwit:lock-timeout off");
    reader.next_migration(transaction, timeout, statements.iter().map(|s| s.sql.as_str()));
    statements
        .iter()
        .flat_map(|statement| reader.check(&statement.sql))
        .map(|found| found.rule)
        .collect()
}

#[test]
fn every_rule_finds_its_bad_example_and_not_its_good_one() {
    for rule in Rule::ALL {
        let mut examples = 0;
        for (name, dialect) in [("postgres", Dialect::Postgres), ("sqlite", Dialect::Sqlite)] {
            if let Some((bad, transaction)) = example(name, "bad", rule) {
                let rules = found(dialect, &bad, transaction);
                assert!(
                    rules.contains(&rule),
                    "{rule} misses its {name} example: {rules:?}\n{bad}"
                );
                examples += 1;
            }
            if let Some((good, transaction)) = example(name, "good", rule) {
                let rules = found(dialect, &good, transaction);
                assert!(!rules.contains(&rule), "{rule} finds its safe {name} form:\n{good}");
                examples += 1;
            }
        }
        assert!(examples >= 2, "docs/lint.md has no bad and good example of {rule}");
    }
}

#[test]
fn a_table_the_file_creates_is_new_and_empty() {
    let sql = "CREATE TABLE orders (id bigint, customer bigint);\n\
               CREATE INDEX orders_customer ON orders (customer);\n\
               ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer) REFERENCES customers (id);";
    assert_eq!(found(Dialect::Postgres, sql, true), []);
}

#[test]
fn a_finding_names_the_line_it_is_on() {
    let mut reader = Reader::new(Dialect::Postgres, true);
    let found = reader.check("-- the orders' customers\n\nCREATE INDEX i ON orders (customer)");
    assert_eq!(
        found.iter().map(|f| (f.rule, f.lines_in)).collect::<Vec<_>>(),
        [(Rule::IndexNotConcurrent, 2)]
    );
    assert_eq!(found[0].what, "CREATE INDEX on orders without CONCURRENTLY");
}

#[test]
fn a_table_an_earlier_migration_of_the_run_creates_is_new_too() {
    let mut reader = Reader::new(Dialect::Postgres, true);
    assert!(reader.check("CREATE TABLE orders (id bigint, customer bigint)").is_empty());
    reader.next_migration(true, true, []);
    assert!(reader.check("CREATE INDEX orders_customer ON orders (customer)").is_empty());
    let found = reader.check("CREATE INDEX customers_name ON customers (name)");
    assert_eq!(found.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::IndexNotConcurrent]);
}

#[test]
fn levels_raise_lower_or_turn_off_a_rule() {
    use super::{Level, Levels};
    let levels =
        Levels::default().set(Rule::DropsData, Some(Level::Error)).set(Rule::SetNotNull, None);
    assert_eq!(levels.of(Rule::DropsData), Some(Level::Error));
    assert_eq!(levels.of(Rule::SetNotNull), None);
    assert_eq!(levels.of(Rule::Renames), Some(Level::Warning));
    assert_eq!("renames".parse::<Rule>(), Ok(Rule::Renames));
    let unknown = "no-such-rule".parse::<Rule>().unwrap_err().to_string();
    assert!(
        unknown.starts_with("`no-such-rule` is no rule of godwit lint (index-not-concurrent, ")
    );
}

fn whats(dialect: Dialect, sql: &str, transaction: bool) -> Vec<(Rule, String)> {
    let mut reader = Reader::new(dialect, transaction);
    let statements = crate::source::split::split(sql, 1);
    reader.next_migration(transaction, true, statements.iter().map(|s| s.sql.as_str()));
    statements.iter().flat_map(|s| reader.check(&s.sql)).map(|f| (f.rule, f.what)).collect()
}

#[test]
fn columns_and_keys_say_what_they_found() {
    let sql = "ALTER TABLE orders ADD COLUMN n bigserial;\n\
               ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT now();\n\
               ALTER TABLE orders ADD COLUMN code text UNIQUE;\n\
               ALTER TABLE orders ADD PRIMARY KEY USING INDEX orders_pk;\n\
               CREATE TABLE lines (id integer, at timestamp without time zone, PRIMARY KEY (id));";
    let found = whats(Dialect::Postgres, sql, true);
    let expected = [
        (Rule::PreferIdentity, "n is bigserial"),
        (Rule::VolatileDefault, "a column with a volatile default (bigserial) added to orders"),
        (Rule::UniqueWithoutIndex, "a unique constraint built with a column added to orders"),
        (Rule::PreferBigintKeys, "the key id is integer"),
        (Rule::PreferTimestamptz, "at is timestamp without time zone"),
    ];
    let expected: Vec<(Rule, String)> = expected.map(|(r, w)| (r, w.to_owned())).to_vec();
    assert_eq!(found, expected);
}

#[test]
fn a_sqlite_rebuild_that_copies_nothing_drops_data() {
    let sql = "CREATE TABLE orders_new (id integer primary key);\n\
               DROP TABLE orders;\n\
               ALTER TABLE orders_new RENAME TO orders;\n\
               PRAGMA foreign_key_check;";
    let found = whats(Dialect::Sqlite, sql, false);
    assert_eq!(
        found,
        [(Rule::DropsData, "DROP TABLE orders, rebuilt without copying its rows".to_owned())]
    );
    // Copied, the drop is part of the rebuild.
    let copied = sql.replace("DROP", "INSERT INTO orders_new SELECT id FROM orders;\nDROP");
    assert_eq!(whats(Dialect::Sqlite, &copied, false), []);
}

#[test]
fn a_sqlite_rebuild_in_sqlites_own_words_is_read() {
    // PostgreSQL's grammar has no STRICT, WITHOUT ROWID, INSERT OR REPLACE or REPLACE INTO:
    // the table made and the table copied are still read from what it places.
    let rebuild = |create: &str, copy: &str| {
        format!(
            "{create};\n{copy};\nDROP TABLE orders;\n\
             ALTER TABLE orders_new RENAME TO orders;\nPRAGMA foreign_key_check;"
        )
    };
    let creates = [
        "CREATE TABLE orders_new (id INTEGER PRIMARY KEY, note TEXT) STRICT",
        "CREATE TABLE orders_new (id INTEGER PRIMARY KEY, note TEXT) WITHOUT ROWID",
    ];
    let copies = [
        "INSERT OR REPLACE INTO orders_new (id) SELECT id FROM orders",
        "INSERT OR IGNORE INTO orders_new SELECT * FROM main.orders",
        "REPLACE INTO orders_new SELECT * FROM orders",
    ];
    for create in creates {
        for copy in copies {
            let sql = rebuild(create, copy);
            assert_eq!(whats(Dialect::Sqlite, &sql, false), [], "{sql}");
        }
        // Copying from another table is no copy of the one dropped.
        let sql = rebuild(create, "INSERT OR REPLACE INTO orders_new SELECT * FROM archive");
        let expected = "DROP TABLE orders, rebuilt without copying its rows";
        assert_eq!(whats(Dialect::Sqlite, &sql, false), [(Rule::DropsData, expected.to_owned())]);
    }
    // A table made as a copy of the one it replaces.
    let sql = rebuild("CREATE TABLE orders_new AS SELECT * FROM orders", "SELECT 1");
    assert_eq!(whats(Dialect::Sqlite, &sql, false), []);
    // A table made STRICT by these migrations is new: renaming its column loses nothing.
    let sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT) STRICT;\n\
               ALTER TABLE notes RENAME COLUMN body TO text;";
    assert_eq!(whats(Dialect::Sqlite, sql, true), []);
}

#[test]
fn a_constraint_validated_in_the_transaction_that_added_it_is_found() {
    let sql = "ALTER TABLE orders ADD CONSTRAINT orders_fk FOREIGN KEY (c) REFERENCES customers (id) NOT VALID;\n\
               ALTER TABLE Orders VALIDATE CONSTRAINT ORDERS_FK;";
    assert_eq!(found(Dialect::Postgres, sql, true), [Rule::ConstraintNotValid]);
    assert!(found(Dialect::Postgres, sql, false).is_empty());
    // Validated in the next migration, after the ADD committed.
    let mut reader = Reader::new(Dialect::Postgres, true);
    assert!(reader.check(sql.lines().next().unwrap()).is_empty());
    reader.next_migration(true, true, ["ALTER TABLE orders VALIDATE CONSTRAINT orders_fk;"]);
    assert!(reader.check("ALTER TABLE orders VALIDATE CONSTRAINT orders_fk;").is_empty());
}
