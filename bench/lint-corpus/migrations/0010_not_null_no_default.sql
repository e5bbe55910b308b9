-- godwit:up
ALTER TABLE orders ADD COLUMN currency text NOT NULL;
