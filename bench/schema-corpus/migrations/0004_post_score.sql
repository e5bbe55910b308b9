-- godwit:up
ALTER TABLE posts ADD COLUMN score integer NOT NULL DEFAULT 0;
CREATE INDEX posts_score ON posts (score DESC);

-- godwit:down
-- forgets the index: dropping the column drops it too, so this one is fine
ALTER TABLE posts DROP COLUMN score;
