-- godwit:up
DROP INDEX CONCURRENTLY orders_legacy_idx;
