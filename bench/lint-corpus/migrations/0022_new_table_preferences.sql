-- godwit:up
CREATE TABLE invoices (
    id serial PRIMARY KEY,
    code char(8),
    customer_id int,
    issued_at timestamp
);
