-- migrate:up
-- Row-level security: a second wall between tenants, behind the
-- `tenant_id = ...` condition every query already has. In each transaction the
-- service switches to the tv_app role (which owns nothing) and names its tenant
-- with set_config('app.tenant_id', ..., true). Rows of other tenants are then
-- invisible and cannot be written, even by a query that forgot its filter; with
-- no tenant set, no row is visible at all.

DO $$
BEGIN
  CREATE ROLE tv_app NOLOGIN;
EXCEPTION
  WHEN duplicate_object THEN NULL;
  WHEN insufficient_privilege THEN
    RAISE NOTICE 'cannot create role tv_app: create it, grant it to the service user, and re-run';
END $$;

DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO tv_app', current_schema());
  GRANT SELECT, INSERT ON events TO tv_app;
  GRANT SELECT, INSERT, UPDATE ON event_counts_minute, event_counts_hour TO tv_app;
  -- The service user must be allowed to SET ROLE tv_app.
  EXECUTE format('GRANT tv_app TO %I', current_user);
EXCEPTION
  WHEN undefined_object OR insufficient_privilege THEN
    RAISE NOTICE 'tv_app grants skipped: %', SQLERRM;
END $$;

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

ALTER TABLE event_counts_minute ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_counts_minute FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_counts_minute
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

ALTER TABLE event_counts_hour ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_counts_hour FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_counts_hour
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- migrate:down
DROP POLICY tenant_isolation ON event_counts_hour;
ALTER TABLE event_counts_hour NO FORCE ROW LEVEL SECURITY;
ALTER TABLE event_counts_hour DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON event_counts_minute;
ALTER TABLE event_counts_minute NO FORCE ROW LEVEL SECURITY;
ALTER TABLE event_counts_minute DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON events;
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE events DISABLE ROW LEVEL SECURITY;
DO $$
BEGIN
  REVOKE ALL ON events, event_counts_minute, event_counts_hour FROM tv_app;
  EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM tv_app', current_schema());
EXCEPTION
  WHEN undefined_object THEN NULL;
END $$;
