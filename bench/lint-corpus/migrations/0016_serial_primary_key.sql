-- godwit:up
ALTER TABLE events ADD COLUMN id serial PRIMARY KEY;
