-- godwit:up
CREATE TYPE post_status AS ENUM ('draft', 'published', 'removed');
ALTER TABLE posts ADD COLUMN status post_status NOT NULL DEFAULT 'draft';
UPDATE posts SET status = 'published' WHERE published;
ALTER TABLE posts DROP COLUMN published;

-- godwit:down
-- restores the column, but as NOT NULL without its default
ALTER TABLE posts ADD COLUMN published boolean NOT NULL DEFAULT false;
ALTER TABLE posts ALTER COLUMN published DROP DEFAULT;
ALTER TABLE posts DROP COLUMN status;
DROP TYPE post_status;
