-- godwit:up
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    email text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- godwit:down
DROP TABLE users;
