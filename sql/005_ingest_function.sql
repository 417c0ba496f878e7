-- migrate:up
-- Writes one batch of a tenant's events and counts what was new, as a single
-- statement the service sends without BEGIN/COMMIT. A transaction of its own
-- costs three round trips (BEGIN; settings + statement; COMMIT), and the count
-- rows it locks stay locked for all three; here it is one round trip, and the
-- locks last only as long as the statement and its commit.
--
-- The tenant and the row-level-security role are set first, for this
-- transaction only (set_config(..., true)), so the statements below run under
-- the policies of sql/003 exactly as the service's own queries do. PL/pgSQL
-- plans each statement when it first runs, after the role is switched; a
-- LANGUAGE sql body would be rewritten before, without the policies.
--
-- Called inside a larger transaction, the tenant and role stay set until that
-- transaction ends; the service never does that: each call is its own.
--
-- Rows must be unique by id and sorted by it (the service does both), so
-- concurrent overlapping batches lock rows in one order and cannot deadlock.
-- Count rows are sorted for the same reason; UTC so slots match the queries.
-- Payloads arrive as one JSON array, zipped with the other columns by
-- position (ROWS FROM): cheaper for the service to build than a text[] of
-- escaped JSON, and as cheap for PostgreSQL to read.
-- Returns the ids actually inserted.
--
-- The service's connections plan every statement for its parameters
-- (plan_cache_mode = force_custom_plan: right for the queries). This
-- statement's plan never depends on them, and re-planning it cost a good part
-- of each small call (bench/README.md), so it is planned once per connection.
CREATE FUNCTION ingest_events(
  tenant     text,
  app_role   text,
  ids        text[],
  types      text[],
  services   text[],
  timestamps timestamptz[],
  payloads   jsonb
) RETURNS SETOF text
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  PERFORM set_config('app.tenant_id', tenant, true);
  IF app_role IS NOT NULL THEN
    PERFORM set_config('role', app_role, true);
  END IF;

  RETURN QUERY
  WITH inserted AS (
    INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload)
    SELECT tenant, n.event_id, n.event_type, n.service_name, n.ts, n.payload
    FROM ROWS FROM (unnest(ids), unnest(types), unnest(services), unnest(timestamps), jsonb_array_elements(payloads))
      AS n(event_id, event_type, service_name, ts, payload)
    ON CONFLICT (tenant_id, event_id) DO NOTHING
    RETURNING e.event_id, e.event_type, e.service_name, e.ts
  ),
  per_minute AS (
    INSERT INTO event_counts_minute AS c (tenant_id, minute, event_type, service_name, count)
    SELECT tenant, date_trunc('minute', i.ts, 'UTC'), i.event_type, i.service_name, count(*)
    FROM inserted AS i GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
    ON CONFLICT (tenant_id, minute, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count
  ),
  per_5min AS (
    INSERT INTO event_counts_5min AS c (tenant_id, slot, event_type, service_name, count)
    SELECT tenant, date_bin('5 minutes', i.ts, timestamptz '1970-01-01 00:00:00+00'), i.event_type, i.service_name, count(*)
    FROM inserted AS i GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
    ON CONFLICT (tenant_id, slot, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count
  ),
  per_hour AS (
    INSERT INTO event_counts_hour AS c (tenant_id, hour, event_type, service_name, count)
    SELECT tenant, date_trunc('hour', i.ts, 'UTC'), i.event_type, i.service_name, count(*)
    FROM inserted AS i GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
    ON CONFLICT (tenant_id, hour, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count
  )
  SELECT i.event_id FROM inserted AS i;
END
$$;

-- migrate:down
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb);
