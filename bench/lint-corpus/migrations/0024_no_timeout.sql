-- godwit:lock-timeout off
-- godwit:up
ALTER TABLE orders ADD COLUMN note text;
