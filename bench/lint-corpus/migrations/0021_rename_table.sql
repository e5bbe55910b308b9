-- godwit:up
ALTER TABLE orders RENAME TO purchases;
