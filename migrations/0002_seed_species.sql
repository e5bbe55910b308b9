-- Seed rows every environment needs.
-- godwit:up
INSERT INTO species (id, common_name, latin_name) VALUES
    (1, 'Bar-tailed godwit', 'Limosa lapponica'),
    (2, 'Black-tailed godwit', 'Limosa limosa'),
    (3, 'Red knot', 'Calidris canutus');

INSERT INTO sightings (species_id, site, seen_on, count) VALUES
    (1, 'Wadden Sea', '2026-09-14', 1200),
    (1, 'Yellow Sea', '2026-04-02', 8400),
    (2, 'Tagus estuary', '2026-02-20', 310),
    (3, 'Wadden Sea', '2026-09-14', 5200);

-- godwit:down
DELETE FROM sightings;
DELETE FROM species;
