-- godwit:up
DROP TABLE legacy_orders;
