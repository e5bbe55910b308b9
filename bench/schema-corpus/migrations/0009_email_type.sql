-- godwit:up
ALTER TABLE users ALTER COLUMN email TYPE varchar(320);

-- godwit:down
-- widens it back to varchar instead of text
ALTER TABLE users ALTER COLUMN email TYPE varchar;
