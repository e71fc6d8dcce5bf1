-- The gateway's runtime role: created if missing, its password set (again). Run as the database
-- owner, before privileges.sql (compose.yaml's `privileges` service runs both):
--   psql -v app=gateway_app -v password=… -f deploy/postgres/app-role.sql -f deploy/postgres/privileges.sql <database>
SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"app" LOGIN PASSWORD :'password';
