-- godwit:up
CREATE TABLE reports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    comment_id bigint NOT NULL REFERENCES comments ON DELETE CASCADE,
    reason text NOT NULL CHECK (length(reason) > 3)
);
ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY reports_visible ON reports USING (true);

-- godwit:down
DROP TABLE reports;
