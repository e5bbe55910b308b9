//! Two schemas object by object: what one has that the other lacks, and what both have with
//! different definitions, in words a reviewer reads ("index orders_customer_idx exists in the
//! database but no migration creates it").

use super::{Kind, Object, Schema};
use std::fmt;

/// One way the database differs from the schema its migrations produce.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Difference {
    /// In the database, not made by the migrations.
    Extra { kind: Kind, name: String, definition: String },
    /// Made by the migrations, not in the database.
    Missing { kind: Kind, name: String, definition: String },
    /// In both, defined differently.
    Changed { kind: Kind, name: String, database: String, migrations: String },
    /// In the database, of a kind the model does not read: it cannot be compared.
    Unsupported { object: String },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Extra { kind, name, .. } => {
                write!(f, "{kind} {name} exists in the database but no migration creates it")
            }
            Difference::Missing { kind, name, .. } => {
                write!(f, "{kind} {name} is created by the migrations but the database lacks it")
            }
            Difference::Changed { kind: Kind::Column, name, database, migrations } => {
                write!(f, "column {name}: {database}, migrations say {migrations}")
            }
            Difference::Changed { kind, name, database, migrations } => {
                write!(
                    f,
                    "{kind} {name}: the database has `{database}`, migrations say `{migrations}`"
                )
            }
            Difference::Unsupported { object } => {
                write!(f, "{object} is of a kind godwit's schema model does not read: not compared")
            }
        }
    }
}

/// What differs between `database` and `expected` (what the migrations produce). A table
/// that is extra or missing is told once, not with each of its columns and constraints.
pub fn differences(database: &Schema, expected: &Schema) -> Vec<Difference> {
    let mut found = Vec::new();
    let whole = |schema: &Schema, object: &Object| {
        matches!(object.kind, Kind::Column | Kind::Constraint | Kind::ForeignKey)
            && owner(&object.name).is_some_and(|table| schema.get(Kind::Table, table).is_none())
    };
    for object in &database.objects {
        match expected.get(object.kind, &object.name) {
            None if whole(expected, object) => {}
            None => found.push(Difference::Extra {
                kind: object.kind,
                name: object.name.clone(),
                definition: object.definition.clone(),
            }),
            Some(theirs) if theirs.definition != object.definition => {
                found.push(Difference::Changed {
                    kind: object.kind,
                    name: object.name.clone(),
                    database: object.definition.clone(),
                    migrations: theirs.definition.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for object in &expected.objects {
        if database.get(object.kind, &object.name).is_none() && !whole(database, object) {
            found.push(Difference::Missing {
                kind: object.kind,
                name: object.name.clone(),
                definition: object.definition.clone(),
            });
        }
    }
    // A table whose columns differ is told by its columns, not again as the table.
    let columns: Vec<String> = found
        .iter()
        .filter_map(|d| match d {
            Difference::Changed { kind: Kind::Column, name, .. }
            | Difference::Extra { kind: Kind::Column, name, .. }
            | Difference::Missing { kind: Kind::Column, name, .. } => {
                owner(name).map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    found.retain(|d| !matches!(d, Difference::Changed { kind: Kind::Table, name, .. } if columns.contains(name)));
    for object in &database.unsupported {
        if !expected.unsupported.contains(object) {
            found.push(Difference::Unsupported { object: object.clone() });
        }
    }
    found
}

/// The table a column or a table's constraint belongs to: `orders` of `orders.total`.
fn owner(name: &str) -> Option<&str> {
    name.rsplit_once('.').map(|(table, _)| table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: Kind, name: &str, definition: &str) -> Object {
        Object::new(kind, name.into(), definition.into(), String::new())
    }

    fn schema(objects: Vec<Object>) -> Schema {
        Schema { dialect: None, objects, unsupported: Vec::new() }
    }

    #[test]
    fn differences_are_told_in_words() {
        let expected = schema(vec![
            object(Kind::Table, "users", "users"),
            object(Kind::Column, "users.email", "character varying(255)"),
            object(Kind::Table, "gone", "gone"),
            object(Kind::Column, "gone.id", "bigint"),
        ]);
        let database = schema(vec![
            object(Kind::Table, "users", "users"),
            object(Kind::Column, "users.email", "text"),
            object(Kind::Index, "orders_customer_idx", "CREATE INDEX ..."),
        ]);
        let told: Vec<String> =
            differences(&database, &expected).iter().map(ToString::to_string).collect();
        assert_eq!(
            told,
            [
                "column users.email: text, migrations say character varying(255)",
                "index orders_customer_idx exists in the database but no migration creates it",
                "table gone is created by the migrations but the database lacks it",
            ]
        );
        assert!(differences(&expected, &expected).is_empty());
    }
}
