-- migrate:up
-- The size of each payload as stored, computed by the service at ingest:
-- its UTF-8 JSON with numbers counted as the exact decimals jsonb keeps
-- (5e-324 takes 326 bytes). Pages of events are cut to a byte budget by it,
-- so one answer cannot grow past what the service can hold in memory. Rows
-- written before this migration have none; readers measure those.
ALTER TABLE events ADD COLUMN payload_size integer;

-- The one place the tenant is named for row-level security (sql/003): the
-- service's reads call it first in their transaction, the write functions
-- below at their start. Both settings last until the transaction ends, so a
-- pooled connection never carries one request's tenant into the next.
CREATE FUNCTION enter_tenant(tenant text, app_role text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM set_config('app.tenant_id', tenant, true);
  IF app_role IS NOT NULL THEN
    PERFORM set_config('role', app_role, true);
  END IF;
END
$$;

-- The write of sql/005 in two parts, so a large batch can be written in
-- several statements of one transaction (the driver then holds one chunk's
-- copies at a time, not the whole batch's): insert_events per chunk, then
-- count_events once with the rows inserted. ingest_events does both in one
-- autocommit statement for every batch that fits one chunk.
--
-- Each enters the tenant first (see sql/005 for why they are PL/pgSQL). Rows must be unique by id
-- and sorted by it, across the chunks of a transaction too, and count keys
-- are upserted once per transaction in sorted order: concurrent writers take
-- their locks in one order and cannot deadlock.
CREATE FUNCTION insert_events(
  tenant     text,
  app_role   text,
  ids        text[],
  types      text[],
  services   text[],
  timestamps timestamptz[],
  payloads   jsonb,
  sizes      integer[]
) RETURNS TABLE (event_id text, event_type text, service_name text, ts timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  PERFORM enter_tenant(tenant, app_role);

  RETURN QUERY
  INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload, payload_size)
  SELECT tenant, n.event_id, n.event_type, n.service_name, n.ts, n.payload, n.payload_size
  FROM ROWS FROM (
    unnest(ids), unnest(types), unnest(services), unnest(timestamps), jsonb_array_elements(payloads), unnest(sizes)
  ) AS n(event_id, event_type, service_name, ts, payload, payload_size)
  ON CONFLICT (tenant_id, event_id) DO NOTHING
  RETURNING e.event_id, e.event_type, e.service_name, e.ts;
END
$$;

-- Adds the rows a transaction inserted to the minute, 5-minute and hour counts.
CREATE FUNCTION count_events(
  tenant     text,
  app_role   text,
  types      text[],
  services   text[],
  timestamps timestamptz[]
) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  PERFORM enter_tenant(tenant, app_role);

  WITH inserted AS (
    SELECT * FROM ROWS FROM (unnest(types), unnest(services), unnest(timestamps)) AS i(event_type, service_name, ts)
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
  )
  INSERT INTO event_counts_hour AS c (tenant_id, hour, event_type, service_name, count)
  SELECT tenant, date_trunc('hour', i.ts, 'UTC'), i.event_type, i.service_name, count(*)
  FROM inserted AS i GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
  ON CONFLICT (tenant_id, hour, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count;
END
$$;

-- Both in one statement; returns the ids inserted. The seven-column form of
-- sql/005 stays for replicas still running the previous release during a
-- rolling upgrade; their rows get no size.
CREATE FUNCTION ingest_events(
  tenant     text,
  app_role   text,
  ids        text[],
  types      text[],
  services   text[],
  timestamps timestamptz[],
  payloads   jsonb,
  sizes      integer[]
) RETURNS SETOF text
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  inserted_ids      text[];
  inserted_types    text[];
  inserted_services text[];
  inserted_times    timestamptz[];
BEGIN
  SELECT coalesce(array_agg(i.event_id), '{}'), array_agg(i.event_type), array_agg(i.service_name), array_agg(i.ts)
  INTO inserted_ids, inserted_types, inserted_services, inserted_times
  FROM insert_events(tenant, app_role, ids, types, services, timestamps, payloads, sizes) AS i;
  IF cardinality(inserted_ids) > 0 THEN
    PERFORM count_events(tenant, NULL, inserted_types, inserted_services, inserted_times);
  END IF;
  RETURN QUERY SELECT unnest(inserted_ids);
END
$$;

-- migrate:down
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[]);
DROP FUNCTION count_events(text, text, text[], text[], timestamptz[]);
DROP FUNCTION insert_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[]);
DROP FUNCTION enter_tenant(text, text);
ALTER TABLE events DROP COLUMN payload_size;
