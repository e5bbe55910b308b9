-- Re-applied whenever this file changes.
-- godwit:up
DROP VIEW IF EXISTS flyway_totals;
CREATE VIEW flyway_totals AS
    SELECT flyway, common_name, SUM(count) AS birds
    FROM sightings JOIN species ON species.id = sightings.species_id
    GROUP BY flyway, common_name;
