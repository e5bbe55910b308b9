-- godwit:up
TRUNCATE audit_log CASCADE;
