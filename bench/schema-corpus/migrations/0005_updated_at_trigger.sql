-- godwit:up
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
ALTER TABLE posts ADD COLUMN updated_at timestamptz;
CREATE TRIGGER posts_updated_at BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- godwit:down
-- forgets the function
DROP TRIGGER posts_updated_at ON posts;
ALTER TABLE posts DROP COLUMN updated_at;
