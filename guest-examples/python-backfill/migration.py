"""Splits people.full_name into first_name and last_name, batch after batch, and bumps
`passes`, so a row processed twice would show: the Python twin of rust-backfill."""

import godwit


class Migration(godwit.Migration):
    description = "split people.full_name into first_name and last_name (Python)"
    reversible = True
    batched = True

    def apply(self):
        godwit.execute("ALTER TABLE people ADD COLUMN first_name TEXT")
        godwit.execute("ALTER TABLE people ADD COLUMN last_name TEXT")

    def batch(self, cursor, batch_size):
        if cursor is None:
            total = godwit.scalar("SELECT count(*) FROM people")
            rows = godwit.query(
                "SELECT id, full_name FROM people ORDER BY id LIMIT $1", batch_size
            )
        else:
            total = None
            rows = godwit.query(
                "SELECT id, full_name FROM people WHERE id > $1 ORDER BY id LIMIT $2",
                int(cursor),
                batch_size,
            )
        updates = []
        for row in rows:
            first, _, rest = row["full_name"].partition(" ")
            updates.append((first, rest, row["id"]))
        godwit.execute_many(
            "UPDATE people SET first_name = $1, last_name = $2, passes = passes + 1 WHERE id = $3",
            updates,
        )
        done = len(rows) < batch_size
        return godwit.Progress(None if done else str(rows[-1]["id"]), len(rows), total)

    def revert(self):
        godwit.execute("ALTER TABLE people DROP COLUMN last_name")
        godwit.execute("ALTER TABLE people DROP COLUMN first_name")
