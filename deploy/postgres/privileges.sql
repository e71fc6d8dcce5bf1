-- The gateway's runtime role on PostgreSQL: the ledger is insert-and-read only, by privilege as
-- well as by trigger; so are the registry versions put in force. Run as the database owner after
-- `gateway migrate` (which runs as the owner);
-- running it again changes nothing.
--   psql -v app=gateway_app -f deploy/postgres/privileges.sql <database>
GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- Tables and sequences the owner creates later (the next migrations) get the same grants without
-- this file being run again; a new ledger table is the exception: add it to the REVOKE below and run this file.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app";
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, ledger_nodes, ledger_checkpoints, ledger_cosignatures, registry_versions FROM :"app";
