// Splits people.full_name into first_name and last_name, batch after batch, and bumps
// `passes`, so a row processed twice would show: the JavaScript twin of rust-backfill.
import { define, execute, executeMany, query, scalar } from "godwit";

export const migration = define({
  description: "split people.full_name into first_name and last_name (JavaScript)",
  reversible: true,
  batched: true,

  up() {
    execute("ALTER TABLE people ADD COLUMN first_name TEXT");
    execute("ALTER TABLE people ADD COLUMN last_name TEXT");
  },

  transform(cursor, batchSize) {
    const first = cursor === null || cursor === undefined;
    const rows = first
      ? query("SELECT id, full_name FROM people ORDER BY id LIMIT $1", batchSize)
      : query(
          "SELECT id, full_name FROM people WHERE id > $1 ORDER BY id LIMIT $2",
          Number(cursor),
          batchSize,
        );
    const updates = rows.map((row) => {
      const at = row.full_name.indexOf(" ");
      const [given, rest] =
        at < 0 ? [row.full_name, ""] : [row.full_name.slice(0, at), row.full_name.slice(at + 1)];
      return [given, rest, row.id];
    });
    executeMany(
      "UPDATE people SET first_name = $1, last_name = $2, passes = passes + 1 WHERE id = $3",
      updates,
    );
    const done = rows.length < batchSize;
    return {
      nextCursor: done ? null : String(rows[rows.length - 1].id),
      processed: rows.length,
      estimatedTotal: first ? scalar("SELECT count(*) FROM people") : null,
    };
  },

  down() {
    execute("ALTER TABLE people DROP COLUMN last_name");
    execute("ALTER TABLE people DROP COLUMN first_name");
  },
});
