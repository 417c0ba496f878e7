-- migrate:up
-- Functions run with a fixed search_path (set by every migrate run, see
-- storage/migrations.ts pinFunctions). A function with its own settings is
-- never inlined, so insert_events no longer calls level_key once per row:
-- the same expression is written in place (identical to level_key, sql/007).

CREATE OR REPLACE FUNCTION insert_events(
  tenant       text,
  app_role     text,
  ids          text[],
  types        text[],
  services     text[],
  timestamps   timestamptz[],
  payloads     jsonb,
  sizes        integer[],
  search_texts text[],
  trace_ids    text[]
) RETURNS TABLE (event_id text, event_type text, service_name text, ts timestamptz, count_level text, payload_size integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  PERFORM enter_tenant(tenant, app_role);

  IF pg_catalog.to_regclass('events_legacy') IS NULL THEN
    RETURN QUERY
    INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id, count_level)
    SELECT tenant, n.event_id, n.event_type, n.service_name, n.ts, n.payload, n.payload_size, n.search_text, n.trace_id,
           CASE pg_catalog.jsonb_typeof(n.payload -> 'level')
             WHEN 'object' THEN '*' WHEN 'array' THEN '*'
             ELSE coalesce((n.payload -> 'level')::text, '')
           END
    FROM ROWS FROM (
      pg_catalog.unnest(ids), pg_catalog.unnest(types), pg_catalog.unnest(services), pg_catalog.unnest(timestamps),
      pg_catalog.jsonb_array_elements(payloads), pg_catalog.unnest(sizes), pg_catalog.unnest(search_texts), pg_catalog.unnest(trace_ids)
    ) AS n(event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id)
    ON CONFLICT (tenant_id, event_id, ts) DO NOTHING
    RETURNING e.event_id, e.event_type, e.service_name, e.ts, e.count_level, e.payload_size;
  ELSE
    -- While rows of the table of before are still to be moved, an event
    -- stored there is a duplicate too. Planned per call (dynamic SQL): the
    -- table goes away once moved.
    RETURN QUERY EXECUTE '
      INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id, count_level)
      SELECT $1, n.event_id, n.event_type, n.service_name, n.ts, n.payload, n.payload_size, n.search_text, n.trace_id,
             CASE pg_catalog.jsonb_typeof(n.payload -> ''level'')
               WHEN ''object'' THEN ''*'' WHEN ''array'' THEN ''*''
               ELSE coalesce((n.payload -> ''level'')::text, '''')
             END
      FROM ROWS FROM (
        pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),
        pg_catalog.jsonb_array_elements($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)
      ) AS n(event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id)
      WHERE NOT EXISTS (SELECT 1 FROM events_legacy AS l WHERE l.tenant_id = $1 AND l.event_id = n.event_id AND l.ts = n.ts)
      ON CONFLICT (tenant_id, event_id, ts) DO NOTHING
      RETURNING e.event_id, e.event_type, e.service_name, e.ts, e.count_level, e.payload_size'
    USING tenant, ids, types, services, timestamps, payloads, sizes, search_texts, trace_ids;
  END IF;
END
$$;

-- migrate:down

CREATE OR REPLACE FUNCTION insert_events(
  tenant       text,
  app_role     text,
  ids          text[],
  types        text[],
  services     text[],
  timestamps   timestamptz[],
  payloads     jsonb,
  sizes        integer[],
  search_texts text[],
  trace_ids    text[]
) RETURNS TABLE (event_id text, event_type text, service_name text, ts timestamptz, count_level text, payload_size integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  PERFORM enter_tenant(tenant, app_role);

  IF pg_catalog.to_regclass('events_legacy') IS NULL THEN
    RETURN QUERY
    INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id, count_level)
    SELECT tenant, n.event_id, n.event_type, n.service_name, n.ts, n.payload, n.payload_size, n.search_text, n.trace_id, level_key(n.payload)
    FROM ROWS FROM (
      pg_catalog.unnest(ids), pg_catalog.unnest(types), pg_catalog.unnest(services), pg_catalog.unnest(timestamps),
      pg_catalog.jsonb_array_elements(payloads), pg_catalog.unnest(sizes), pg_catalog.unnest(search_texts), pg_catalog.unnest(trace_ids)
    ) AS n(event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id)
    ON CONFLICT (tenant_id, event_id, ts) DO NOTHING
    RETURNING e.event_id, e.event_type, e.service_name, e.ts, e.count_level, e.payload_size;
  ELSE
    -- While rows of the table of before are still to be moved, an event
    -- stored there is a duplicate too. Planned per call (dynamic SQL): the
    -- table goes away once moved.
    RETURN QUERY EXECUTE '
      INSERT INTO events AS e (tenant_id, event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id, count_level)
      SELECT $1, n.event_id, n.event_type, n.service_name, n.ts, n.payload, n.payload_size, n.search_text, n.trace_id, level_key(n.payload)
      FROM ROWS FROM (
        pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),
        pg_catalog.jsonb_array_elements($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)
      ) AS n(event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id)
      WHERE NOT EXISTS (SELECT 1 FROM events_legacy AS l WHERE l.tenant_id = $1 AND l.event_id = n.event_id AND l.ts = n.ts)
      ON CONFLICT (tenant_id, event_id, ts) DO NOTHING
      RETURNING e.event_id, e.event_type, e.service_name, e.ts, e.count_level, e.payload_size'
    USING tenant, ids, types, services, timestamps, payloads, sizes, search_texts, trace_ids;
  END IF;
END
$$;
