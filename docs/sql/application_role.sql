-- A least-privilege PostgreSQL set-up for the vault. One role owns the schema and runs the
-- migrations; the vault's processes connect as another, which reads and writes the tables but can
-- neither change nor remove an audit row (trigger or not), nor drop the trigger (only an owner can).
--
-- 1. As a superuser, before the first migration:
--      CREATE ROLE vault_owner LOGIN PASSWORD '…';
--      CREATE DATABASE vault OWNER vault_owner;
--      \c vault
--      ALTER SCHEMA public OWNER TO vault_owner;
-- 2. `manage.py migrate` with DATABASE_URL=postgres://vault_owner:…@host/vault.
-- 3. This file, as a superuser, in the vault's database:
--      psql -v app_password="'…'" -f docs/sql/application_role.sql vault
-- 4. The vault (gunicorn, the worker, cron jobs) with DATABASE_URL=postgres://vault_app:…@host/vault.
--    Later migrations run as vault_owner again; the default privileges below cover new tables.

CREATE ROLE vault_app LOGIN PASSWORD :app_password NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
GRANT USAGE ON SCHEMA public TO vault_app;

-- Everything the application reads and writes...
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vault_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO vault_app;
ALTER DEFAULT PRIVILEGES FOR ROLE vault_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vault_app;
ALTER DEFAULT PRIVILEGES FOR ROLE vault_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO vault_app;

-- ...except changing or removing the audit trail: appending is all it may do, and giving a row
-- that waits for its place in the chain its sequence number and MAC (the sealer in `run_worker`;
-- the trigger lets that happen once per row and changes nothing else).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM vault_app;
GRANT UPDATE (seq, mac) ON audit_auditevent TO vault_app;
