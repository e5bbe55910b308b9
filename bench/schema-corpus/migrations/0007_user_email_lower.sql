-- godwit:up
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
COMMENT ON COLUMN users.email IS 'unique whatever its case';

-- godwit:down
DROP INDEX users_email_lower;
