-- godwit:up
CREATE MATERIALIZED VIEW post_counts AS
    SELECT author_id, count(*) AS posts FROM posts GROUP BY author_id;
CREATE UNIQUE INDEX post_counts_author ON post_counts (author_id);

-- godwit:down
DROP MATERIALIZED VIEW post_counts;
