-- The species the observatory tracks.
-- godwit:up
CREATE TABLE species (
    id          INTEGER PRIMARY KEY,
    common_name TEXT NOT NULL UNIQUE,
    latin_name  TEXT NOT NULL
);

CREATE TABLE sightings (
    id         INTEGER PRIMARY KEY,
    species_id INTEGER NOT NULL REFERENCES species (id),
    site       TEXT    NOT NULL,
    seen_on    TEXT    NOT NULL,
    count      INTEGER NOT NULL CHECK (count > 0)
);

-- godwit:down
DROP TABLE sightings;
DROP TABLE species;
