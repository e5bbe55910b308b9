-- godwit:up
CREATE VIEW published_posts AS
    SELECT p.id, p.title, u.name AS author
    FROM posts p JOIN users u ON u.id = p.author_id
    WHERE p.status = 'published';

-- godwit:down
DROP VIEW published_posts;
