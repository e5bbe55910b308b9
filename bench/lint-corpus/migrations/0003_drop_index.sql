-- godwit:up
DROP INDEX orders_legacy_idx;
