-- godwit:up
CREATE TABLE payments (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint, paid_at timestamptz);
CREATE INDEX payments_order_idx ON payments (order_id);
