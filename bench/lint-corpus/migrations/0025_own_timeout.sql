-- godwit:lock-timeout off
-- godwit:up
SET LOCAL lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN note text;
