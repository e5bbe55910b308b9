-- Birds counted per site and species. Re-applied whenever this file changes.
-- godwit:up
DROP VIEW IF EXISTS site_totals;
CREATE VIEW site_totals AS
    SELECT site, common_name, SUM(count) AS birds
    FROM sightings JOIN species ON species.id = sightings.species_id
    GROUP BY site, common_name;
