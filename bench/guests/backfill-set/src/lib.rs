//! Splits `people.full_name` into `first_name` and `last_name` like `rust-backfill`, but each
//! batch's updates are one set-based statement (`sql::execute_set`): the database joins the
//! batch's rows, sent as one JSON text, instead of running an `UPDATE` per row.

use godwit_sdk::{BatchProgress, Migration, Param, Result, params, sql};

struct SplitNamesSet;

const COLUMNS: [&str; 2] = ["first_name", "last_name"];

const UPDATE: &str = "UPDATE people SET first_name = v.first_name, last_name = v.last_name, \
    passes = passes + 1 FROM {rows} AS v WHERE people.id = v.id";

impl Migration for SplitNamesSet {
    fn description() -> String {
        "split people.full_name, one set-based update per batch".into()
    }
    fn reversible() -> bool {
        true
    }
    fn batched() -> bool {
        true
    }

    fn up() -> Result<()> {
        for column in COLUMNS {
            sql::execute(&format!("ALTER TABLE people ADD COLUMN {column} TEXT"), params![])?;
        }
        Ok(())
    }

    fn transform(cursor: Option<String>, batch_size: u32) -> Result<BatchProgress> {
        let after = cursor.as_deref().map_or(Ok(i64::MIN), str::parse::<i64>);
        let after = after.map_err(|_| format!("bad cursor {cursor:?}"))?;
        let estimated_total = if cursor.is_none() {
            Some(sql::scalar::<i64>("SELECT count(*) FROM people", params![])? as u64)
        } else {
            None
        };
        let rows = sql::query(
            "SELECT id, full_name FROM people WHERE id > $1 ORDER BY id LIMIT $2",
            params![after, batch_size],
        )?;
        let mut split: Vec<[Param; 3]> = Vec::with_capacity(rows.len());
        for row in &rows {
            let full: &str = row.get("full_name")?;
            let (first, rest) = full.split_once(' ').unwrap_or((full, ""));
            split.push([first.into(), rest.into(), row.get::<i64>("id")?.into()]);
        }
        sql::execute_set(UPDATE, &["first_name text", "last_name text", "id bigint"], &split)?;
        let last = split.last().map(|[_, _, id]| match id {
            Param::Integer(id) => id.to_string(),
            _ => String::new(),
        });
        let more = rows.len() as u32 == batch_size;
        Ok(BatchProgress {
            next_cursor: last.filter(|_| more),
            processed: rows.len() as u64,
            estimated_total,
        })
    }

    fn down() -> Result<()> {
        for column in COLUMNS.iter().rev() {
            sql::execute(&format!("ALTER TABLE people DROP COLUMN {column}"), params![])?;
        }
        Ok(())
    }
}

godwit_sdk::migration!(SplitNamesSet);
