-- godwit:up
CREATE TABLE comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts ON DELETE CASCADE,
    author_id bigint NOT NULL REFERENCES users,
    body text NOT NULL
);
CREATE INDEX comments_post ON comments (post_id);

-- godwit:down
DROP TABLE comments;
