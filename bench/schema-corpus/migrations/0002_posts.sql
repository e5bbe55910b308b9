-- godwit:up
CREATE TABLE posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    title text NOT NULL,
    body text,
    published boolean NOT NULL DEFAULT false
);
CREATE INDEX posts_author ON posts (author_id);

-- godwit:down
DROP TABLE posts;
