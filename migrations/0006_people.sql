-- The people behind the observers, with names as the old system stored them: in one column.
-- 0007_split_names (a WebAssembly migration) splits them, batch by batch.
-- godwit:up
CREATE TABLE people (
    id        INTEGER PRIMARY KEY,
    full_name TEXT    NOT NULL,
    passes    INTEGER NOT NULL DEFAULT 0
);

INSERT INTO people (id, full_name) VALUES
    (1, 'Ada Lovelace'),
    (2, 'Grace Hopper'),
    (3, 'Edsger Dijkstra'),
    (4, 'Barbara Liskov'),
    (5, 'Donald Knuth');

-- godwit:down
DROP TABLE people;
