-- Sightings are looked up by species and date.
-- godwit:up
CREATE INDEX sightings_species_seen_on ON sightings (species_id, seen_on);

-- godwit:down
DROP INDEX sightings_species_seen_on;
