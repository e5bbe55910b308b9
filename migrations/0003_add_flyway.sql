-- Group sites into the flyways the birds migrate along.
-- godwit:up
ALTER TABLE sightings ADD COLUMN flyway TEXT;

UPDATE sightings SET flyway = CASE site
    WHEN 'Yellow Sea' THEN 'East Asian-Australasian'
    ELSE 'East Atlantic'
END;

-- godwit:down
ALTER TABLE sightings DROP COLUMN flyway;
