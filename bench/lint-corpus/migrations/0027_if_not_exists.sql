-- godwit:up
ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text;
