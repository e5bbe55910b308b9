-- godwit:up
ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now();
