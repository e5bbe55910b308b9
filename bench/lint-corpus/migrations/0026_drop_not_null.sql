-- godwit:up
ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;
