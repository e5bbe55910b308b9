//! The schema as a SQL file: each object's statement in the model's order, one blank line
//! between kinds, so that the same schema prints the same bytes and a pull request shows a
//! schema change as a diff of a few lines.

use super::{Kind, Schema};
use crate::driver::Dialect;

pub(super) fn dump(schema: &Schema) -> String {
    let mut out = String::from(
        "-- The schema, as `godwit schema dump` reads it from the database's catalog.\n",
    );
    if schema.dialect == Some(Dialect::Postgres) {
        // Function bodies may name what is created after them.
        out.push_str("SET check_function_bodies = false;\n");
    }
    let mut last: Option<Kind> = None;
    for object in schema.objects.iter().filter(|o| !o.create.is_empty()) {
        if last != Some(object.kind) {
            out.push('\n');
            last = Some(object.kind);
        }
        out.push_str(object.create.trim_end());
        if !object.create.trim_end().ends_with(';') {
            out.push(';');
        }
        out.push('\n');
    }
    if !schema.unsupported.is_empty() {
        out.push('\n');
        for object in &schema.unsupported {
            out.push_str(&format!(
                "-- not dumped: {object} (godwit's schema model does not read its kind)\n"
            ));
        }
    }
    out
}
