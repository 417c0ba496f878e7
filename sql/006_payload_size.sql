-- migrate:up
-- The size of each payload as stored, computed by the service at ingest:
-- its UTF-8 JSON with numbers counted as the exact decimals jsonb keeps
-- (5e-324 takes 326 bytes). Pages of events are cut to a byte budget by it,
-- so one answer cannot grow past what the service can hold in memory. Rows
-- written before this migration have none; readers measure those.
ALTER TABLE events ADD COLUMN payload_size integer;

-- ingest_events (sql/005) with one more column, the payload sizes. The
-- seven-column form stays for replicas still running the previous release
-- during a rolling upgrade; their rows get no size.
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
BEGIN
  PERFORM set_config('app.tenant_id', tenant, true);
  IF app_role IS NOT NULL THEN
    PERFORM set_config('role', app_role, true);
  END IF;

  RETURN QUERY
  WITH inserted AS (
    INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload, payload_size)
    SELECT tenant, n.event_id, n.event_type, n.service_name, n.ts, n.payload, n.payload_size
    FROM ROWS FROM (
      unnest(ids), unnest(types), unnest(services), unnest(timestamps), jsonb_array_elements(payloads), unnest(sizes)
    ) AS n(event_id, event_type, service_name, ts, payload, payload_size)
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
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[]);
ALTER TABLE events DROP COLUMN payload_size;
