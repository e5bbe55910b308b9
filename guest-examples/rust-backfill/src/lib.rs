//! Splits `people.full_name` into `first_name` and `last_name`, batch after batch, over a
//! table of any size. `up` adds the columns; `transform` fills them for the rows after the
//! cursor (the last id done) and bumps `passes`, so a row processed twice would show.

use godwit_sdk::{BatchProgress, Migration, Param, Result, params, sql};

struct SplitNames;

impl Migration for SplitNames {
    fn description() -> String {
        "split people.full_name into first_name and last_name".into()
    }

    fn reversible() -> bool {
        true
    }

    fn batched() -> bool {
        true
    }

    fn up() -> Result<()> {
        sql::execute("ALTER TABLE people ADD COLUMN first_name TEXT", params![])?;
        sql::execute("ALTER TABLE people ADD COLUMN last_name TEXT", params![])?;
        Ok(())
    }

    fn transform(cursor: Option<String>, batch_size: u32) -> Result<BatchProgress> {
        let after: i64 = match &cursor {
            Some(id) => id.parse().map_err(|_| format!("bad cursor {id}"))?,
            None => i64::MIN,
        };
        let estimated_total = match cursor {
            None => Some(sql::scalar::<i64>("SELECT count(*) FROM people", params![])? as u64),
            Some(_) => None,
        };
        let rows = sql::query(
            "SELECT id, full_name FROM people WHERE id > $1 ORDER BY id LIMIT $2",
            params![after, batch_size],
        )?;
        let mut updates: Vec<[Param; 3]> = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in &rows {
            let id: i64 = row.get("id")?;
            let full: &str = row.get("full_name")?;
            let (first, rest) = full.split_once(' ').unwrap_or((full, ""));
            updates.push([first.into(), rest.into(), id.into()]);
            last = Some(id);
        }
        sql::execute_many(
            "UPDATE people SET first_name = $1, last_name = $2, passes = passes + 1 WHERE id = $3",
            &updates,
        )?;
        let done = (rows.len() as u32) < batch_size;
        Ok(BatchProgress {
            next_cursor: if done { None } else { last.map(|id| id.to_string()) },
            processed: rows.len() as u64,
            estimated_total,
        })
    }

    fn down() -> Result<()> {
        sql::execute("ALTER TABLE people DROP COLUMN last_name", params![])?;
        sql::execute("ALTER TABLE people DROP COLUMN first_name", params![])?;
        Ok(())
    }
}

godwit_sdk::migration!(SplitNames);
