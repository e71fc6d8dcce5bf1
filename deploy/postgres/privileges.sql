-- The gateway's runtime role on PostgreSQL: the ledger is insert-and-read only, by privilege as
-- well as by trigger; so are the registry versions put in force. Run as the database owner after `gateway migrate` (which runs as the owner).
--   psql -v app=gateway_app -f deploy/postgres/privileges.sql <database>
GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, ledger_nodes, ledger_checkpoints, ledger_cosignatures, registry_versions FROM :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
