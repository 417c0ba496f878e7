-- migrate:up
-- The events table becomes partitioned by time, so expired data goes by
-- dropping whole partitions instead of deleting rows; each row also carries
-- what search reads (its text and trace id) and the level key it is counted
-- under. The count tables gain that level key and a shard, so concurrent
-- writers of one tenant and service no longer queue on the same count rows.
--
-- Written to run while the previous release still serves: the table of today
-- is renamed events_legacy and stays readable through the view events_all
-- until maintenance has moved its rows, in bounded batches, into the new
-- table (storage/legacy-move.ts); the write functions of sql/005 and sql/006
-- keep their signatures and write to the new table.

-- Trigram indexes make searches of past partitions fast. Without the
-- extension (not installed, or not allowed) search still works, by scanning.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm not available (%): searches will scan instead of using trigram indexes', SQLERRM;
END $$;

-- Row-level security binds every role but the tables' owner, which is the
-- role migrations and maintenance run as: maintenance must see every
-- tenant's rows (moving, expiring, compacting them). The service runs as
-- another role (README, "Deployment"), or, connected as the owner, switches
-- to one in each transaction.
ALTER TABLE event_counts_minute NO FORCE ROW LEVEL SECURITY;
ALTER TABLE event_counts_5min NO FORCE ROW LEVEL SECURITY;
ALTER TABLE event_counts_hour NO FORCE ROW LEVEL SECURITY;

-- ---- events -----------------------------------------------------------------

ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE events RENAME TO events_legacy;
ALTER INDEX events_pkey RENAME TO events_legacy_pkey;
ALTER INDEX events_tenant_ts_idx RENAME TO events_legacy_tenant_ts_idx;
ALTER INDEX events_tenant_service_ts_idx RENAME TO events_legacy_tenant_service_ts_idx;

-- Identity is (tenant, eventId, timestamp): a partitioned table's unique keys
-- must hold its partition key. The same event sent again (same id, same
-- timestamp) is a duplicate, in any partition; the same id with another
-- timestamp is another event (README, "Ingest").
CREATE TABLE events (
  tenant_id    text        NOT NULL,
  event_id     text        NOT NULL,
  event_type   text        NOT NULL CHECK (event_type IN ('log', 'metric', 'trace')),
  service_name text        NOT NULL,
  ts           timestamptz NOT NULL,
  payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  received_at  timestamptz NOT NULL DEFAULT now(),
  -- The payload's size as stored (sql/006).
  payload_size integer     NOT NULL DEFAULT 0,
  -- Every string value of the payload and the event id, lowercased, joined
  -- by U+001F (which a search term may not contain): a term is a substring
  -- of one value exactly when it is a substring of this text.
  search_text  text        NOT NULL DEFAULT '',
  -- A top-level traceId or trace_id string, lowercased; null without one.
  trace_id     text,
  -- The key this row is counted under in the count tables: level_key(payload),
  -- or '*' for rows counted before levels were (moved from events_legacy).
  count_level  text        NOT NULL DEFAULT '*',
  PRIMARY KEY (tenant_id, event_id, ts)
) PARTITION BY RANGE (ts);

CREATE INDEX events_tenant_ts_idx ON events (tenant_id, ts DESC, event_id DESC);
CREATE INDEX events_tenant_service_ts_idx ON events (tenant_id, service_name, ts DESC, event_id DESC);
CREATE INDEX events_trace_idx ON events (tenant_id, trace_id) WHERE trace_id IS NOT NULL;

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- Everything before the first regular partition lands in one history
-- partition, so hostile or back-filled timestamps (1970 onwards) can never
-- create more than one partition; regular partitions start today (UTC) and
-- are created ahead by maintenance (create_event_partitions below).
DO $$
BEGIN
  EXECUTE format(
    'CREATE TABLE events_history PARTITION OF events FOR VALUES FROM (MINVALUE) TO (%L)',
    date_trunc('day', now(), 'UTC'));
END $$;
-- Anything no other partition takes: rows sent for a time range retention
-- already dropped (a tenant with a longer retention back-filling).
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- ---- what a row is searched and counted by ---------------------------------

-- The count key of a payload's "level": its JSON text when a scalar
-- ('"error"', '3', 'true', 'null'), '' when absent, '*' for an object or
-- array (counted, but not by value).
CREATE FUNCTION level_key(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE pg_catalog.jsonb_typeof(payload -> 'level')
    WHEN 'object' THEN '*'
    WHEN 'array' THEN '*'
    ELSE coalesce((payload -> 'level')::text, '')
  END
$$;

-- search_text and trace_id as the service computes them (events/search.ts),
-- for rows written before they existed. lower() here may fold some letters
-- differently from JavaScript's toLowerCase; moved rows are computed once.
CREATE FUNCTION search_text_of(payload jsonb, event_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT pg_catalog.lower(pg_catalog.array_to_string(
    ARRAY(SELECT value #>> '{}' FROM pg_catalog.jsonb_path_query(payload, 'strict $.** ? (@.type() == "string")') AS value)
    || event_id, E'\x1f'))
$$;

CREATE FUNCTION trace_id_of(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT pg_catalog.lower(CASE
    WHEN pg_catalog.jsonb_typeof(payload -> 'traceId') = 'string' THEN payload ->> 'traceId'
    WHEN pg_catalog.jsonb_typeof(payload -> 'trace_id') = 'string' THEN payload ->> 'trace_id'
  END)
$$;

-- What the service reads: the partitioned table, and the rows of the table
-- of before not moved yet. Once events_legacy is empty, maintenance drops it
-- and this view reads the partitioned table alone. security_invoker: the
-- reader's row-level security applies through it.
CREATE VIEW events_all WITH (security_invoker = true) AS
  SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at,
         payload_size, search_text, trace_id, count_level
  FROM events
  UNION ALL
  SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at,
         coalesce(payload_size, pg_catalog.octet_length(payload::text)),
         search_text_of(payload, event_id), trace_id_of(payload), '*'
  FROM events_legacy;

-- ---- counts -----------------------------------------------------------------

-- Counts get the level key (existing rows: '*', their levels unknown) and a
-- shard: each writer's backend adds to rows of its own shard, and readers
-- sum the shards, so writers of one key do not wait on each other's locks.
-- Maintenance folds the shards of past slots together (storage/maintenance).
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['event_counts_minute', 'event_counts_5min', 'event_counts_hour'] LOOP
    EXECUTE format('ALTER TABLE %I ADD COLUMN level text NOT NULL DEFAULT ''*'', ADD COLUMN shard smallint NOT NULL DEFAULT 0', t);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, t || '_pkey');
  END LOOP;
END $$;
ALTER TABLE event_counts_minute ADD PRIMARY KEY (tenant_id, minute, event_type, service_name, level, shard);
ALTER TABLE event_counts_5min ADD PRIMARY KEY (tenant_id, slot, event_type, service_name, level, shard);
ALTER TABLE event_counts_hour ADD PRIMARY KEY (tenant_id, hour, event_type, service_name, level, shard);
ALTER TABLE event_counts_minute ALTER COLUMN level DROP DEFAULT, ALTER COLUMN shard DROP DEFAULT;
ALTER TABLE event_counts_5min ALTER COLUMN level DROP DEFAULT, ALTER COLUMN shard DROP DEFAULT;
ALTER TABLE event_counts_hour ALTER COLUMN level DROP DEFAULT, ALTER COLUMN shard DROP DEFAULT;

-- ---- usage ------------------------------------------------------------------

-- Per tenant and UTC day of ingest: events stored, duplicates refused, bytes
-- stored (payload sizes as stored), requests rate-limited. Sharded like the
-- counts; summed by GET /usage.
CREATE TABLE tenant_usage (
  tenant_id     text     NOT NULL,
  day           date     NOT NULL,
  shard         smallint NOT NULL,
  events        bigint   NOT NULL DEFAULT 0,
  duplicates    bigint   NOT NULL DEFAULT 0,
  bytes         bigint   NOT NULL DEFAULT 0,
  rate_limited  bigint   NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, shard)
);
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_usage
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- ---- writes -----------------------------------------------------------------

DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[]);
DROP FUNCTION insert_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[]);
DROP FUNCTION count_events(text, text, text[], text[], timestamptz[]);
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb);

-- Inserts a chunk of rows (unique by id and timestamp, sorted; see sql/006)
-- and returns those inserted with what counting them needs.
CREATE FUNCTION insert_events(
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

-- Adds rows to (or, with sign -1, takes deleted rows from) the minute,
-- 5-minute and hour counts, in this backend's shard; keys sorted so
-- concurrent writers lock them in one order.
CREATE FUNCTION count_events(
  tenant     text,
  app_role   text,
  types      text[],
  services   text[],
  timestamps timestamptz[],
  levels     text[],
  sign       integer DEFAULT 1
) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  my_shard smallint := pg_catalog.pg_backend_pid() % 8;
BEGIN
  PERFORM enter_tenant(tenant, app_role);

  WITH rows AS (
    SELECT * FROM ROWS FROM (pg_catalog.unnest(types), pg_catalog.unnest(services), pg_catalog.unnest(timestamps), pg_catalog.unnest(levels))
      AS i(event_type, service_name, ts, level)
  ),
  per_minute AS (
    INSERT INTO event_counts_minute AS c (tenant_id, minute, event_type, service_name, level, shard, count)
    SELECT tenant, pg_catalog.date_trunc('minute', i.ts, 'UTC'), i.event_type, i.service_name, i.level, my_shard, sign * pg_catalog.count(*)
    FROM rows AS i GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5
    ON CONFLICT (tenant_id, minute, event_type, service_name, level, shard) DO UPDATE SET count = c.count + EXCLUDED.count
  ),
  per_5min AS (
    INSERT INTO event_counts_5min AS c (tenant_id, slot, event_type, service_name, level, shard, count)
    SELECT tenant, pg_catalog.date_bin('5 minutes', i.ts, timestamptz '1970-01-01 00:00:00+00'), i.event_type, i.service_name, i.level, my_shard, sign * pg_catalog.count(*)
    FROM rows AS i GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5
    ON CONFLICT (tenant_id, slot, event_type, service_name, level, shard) DO UPDATE SET count = c.count + EXCLUDED.count
  )
  INSERT INTO event_counts_hour AS c (tenant_id, hour, event_type, service_name, level, shard, count)
  SELECT tenant, pg_catalog.date_trunc('hour', i.ts, 'UTC'), i.event_type, i.service_name, i.level, my_shard, sign * pg_catalog.count(*)
  FROM rows AS i GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5
  ON CONFLICT (tenant_id, hour, event_type, service_name, level, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
END
$$;

-- Usage of one ingest call: events stored, duplicates refused, bytes stored.
CREATE FUNCTION record_usage(tenant text, app_role text, stored bigint, refused bigint, bytes bigint, limited bigint DEFAULT 0) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM enter_tenant(tenant, app_role);
  INSERT INTO tenant_usage AS u (tenant_id, day, shard, events, duplicates, bytes, rate_limited)
  VALUES (tenant, (pg_catalog.now() AT TIME ZONE 'UTC')::date, pg_catalog.pg_backend_pid() % 8, stored, refused, bytes, limited)
  ON CONFLICT (tenant_id, day, shard) DO UPDATE
  SET events = u.events + EXCLUDED.events, duplicates = u.duplicates + EXCLUDED.duplicates,
      bytes = u.bytes + EXCLUDED.bytes, rate_limited = u.rate_limited + EXCLUDED.rate_limited;
END
$$;

-- One batch that fits one statement: insert, count, record usage; returns
-- the (id, timestamp) of each row inserted. `offered` is how many events the
-- requests sent (the others were duplicates).
CREATE FUNCTION ingest_events(
  tenant       text,
  app_role     text,
  ids          text[],
  types        text[],
  services     text[],
  timestamps   timestamptz[],
  payloads     jsonb,
  sizes        integer[],
  search_texts text[],
  trace_ids    text[],
  offered      integer
) RETURNS TABLE (event_id text, ts timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  inserted_ids      text[];
  inserted_types    text[];
  inserted_services text[];
  inserted_times    timestamptz[];
  inserted_levels   text[];
  inserted_bytes    bigint;
BEGIN
  SELECT coalesce(pg_catalog.array_agg(i.event_id), '{}'), pg_catalog.array_agg(i.event_type), pg_catalog.array_agg(i.service_name),
         pg_catalog.array_agg(i.ts), pg_catalog.array_agg(i.count_level), coalesce(pg_catalog.sum(i.payload_size), 0)
  INTO inserted_ids, inserted_types, inserted_services, inserted_times, inserted_levels, inserted_bytes
  FROM insert_events(tenant, app_role, ids, types, services, timestamps, payloads, sizes, search_texts, trace_ids) AS i;
  IF pg_catalog.cardinality(inserted_ids) > 0 THEN
    PERFORM count_events(tenant, NULL, inserted_types, inserted_services, inserted_times, inserted_levels);
  END IF;
  PERFORM record_usage(tenant, NULL, pg_catalog.cardinality(inserted_ids), offered - pg_catalog.cardinality(inserted_ids), inserted_bytes);
  RETURN QUERY SELECT * FROM ROWS FROM (pg_catalog.unnest(inserted_ids), pg_catalog.unnest(inserted_times));
END
$$;

-- The signatures of sql/005 and sql/006, for replicas of the previous
-- release during a rolling upgrade: the columns they do not send are
-- computed here.
CREATE FUNCTION ingest_events(
  tenant text, app_role text, ids text[], types text[], services text[], timestamps timestamptz[], payloads jsonb, sizes integer[]
) RETURNS SETOF text
LANGUAGE sql
AS $$
  SELECT r.event_id FROM ingest_events(tenant, app_role, ids, types, services, timestamps, payloads, sizes,
    ARRAY(SELECT search_text_of(p, i) FROM ROWS FROM (pg_catalog.jsonb_array_elements(payloads), pg_catalog.unnest(ids)) AS x(p, i)),
    ARRAY(SELECT trace_id_of(p) FROM pg_catalog.jsonb_array_elements(payloads) AS p),
    pg_catalog.cardinality(ids)) AS r
$$;

CREATE FUNCTION ingest_events(
  tenant text, app_role text, ids text[], types text[], services text[], timestamps timestamptz[], payloads jsonb
) RETURNS SETOF text
LANGUAGE sql
AS $$
  SELECT ingest_events(tenant, app_role, ids, types, services, timestamps, payloads,
    ARRAY(SELECT pg_catalog.octet_length(p::text) FROM pg_catalog.jsonb_array_elements(payloads) AS p))
$$;

-- ---- partitions ---------------------------------------------------------------

-- Creates the missing regular partitions of `width` up to `through`, each
-- starting where the last one ends, so a change of width never overlaps.
-- Runs as the owner (it creates tables) for the service's role, which may
-- not; callable by the roles granted EXECUTE (storage/grants.ts).
CREATE FUNCTION create_event_partitions(width interval, through timestamptz) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  next_start timestamptz;
  created integer := 0;
BEGIN
  IF width NOT IN (interval '1 hour', interval '2 hours', interval '3 hours', interval '4 hours', interval '6 hours',
                   interval '8 hours', interval '12 hours', interval '1 day') THEN
    RAISE EXCEPTION 'partition width must divide a day: %', width;
  END IF;
  SELECT pg_catalog.max(upper_bound) INTO next_start FROM event_partitions;
  WHILE next_start <= through LOOP
    EXECUTE pg_catalog.format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
      'events_' || pg_catalog.to_char(next_start AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24'), next_start, next_start + width);
    next_start := next_start + width;
    created := created + 1;
  END LOOP;
  RETURN created;
END
$$;

-- The partitions of events with their bounds; the history partition has no
-- lower bound, the default partition neither bound.
CREATE VIEW event_partitions AS
  SELECT c.relname::text AS name,
         CASE WHEN b.bound LIKE '%MINVALUE%' THEN NULL
              ELSE (pg_catalog.regexp_match(b.bound, 'FROM \(''([^'']+)''\)'))[1]::timestamptz END AS lower_bound,
         (pg_catalog.regexp_match(b.bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound) AS b
  WHERE i.inhparent = 'events'::regclass;

-- Drops one partition of events whose rows are all older than
-- `expired_before`, and the count rows of its time range with it, in one
-- transaction: totals never disagree with the rows.
CREATE FUNCTION drop_event_partition(partition_name text, expired_before timestamptz) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  low timestamptz;
  high timestamptz;
BEGIN
  SELECT lower_bound, upper_bound INTO low, high
  FROM event_partitions WHERE name = partition_name AND upper_bound <= expired_before;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('DROP TABLE %I', partition_name);
  DELETE FROM event_counts_minute WHERE minute < high AND (low IS NULL OR minute >= low);
  DELETE FROM event_counts_5min WHERE slot < high AND (low IS NULL OR slot >= low);
  DELETE FROM event_counts_hour WHERE hour < high AND (low IS NULL OR hour >= low);
  RETURN true;
END
$$;

-- The tenants with events before `before` (retention looks for tenants
-- whose own retention is shorter than a partition's age). From the hour
-- counts: cheap, and every stored event is counted there.
CREATE FUNCTION tenants_with_events_before(before timestamptz) RETURNS SETOF text
LANGUAGE sql
SECURITY DEFINER
AS $$
  SELECT DISTINCT tenant_id FROM event_counts_hour WHERE hour < before AND count <> 0
$$;

-- Deletes at most `batch` events matching the filters, and takes them from
-- the counts in the same transaction; returns how many went, or -1 when the
-- rows it picked were all deleted by someone else meanwhile (call again).
-- 0 means none are left. For /delete and per-tenant retention; row-level
-- security applies (the caller's tenant). Rows still in the table of before
-- go too. Picks by (partition, ctid) rather than locking rows (FOR UPDATE
-- needs UPDATE, which the service's role does not have).
CREATE FUNCTION delete_events(
  tenant      text,
  app_role    text,
  from_ts     timestamptz,
  to_ts       timestamptz,
  service     text,
  kind        text,
  batch       integer
) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  picked_rows   integer;
  gone_types    text[];
  gone_services text[];
  gone_times    timestamptz[];
  gone_levels   text[];
BEGIN
  PERFORM enter_tenant(tenant, app_role);
  WITH picked AS MATERIALIZED (
    SELECT e.tableoid AS part, e.ctid AS row_id FROM events AS e
    WHERE e.tenant_id = tenant AND e.ts >= from_ts AND e.ts <= to_ts
      AND (service IS NULL OR e.service_name = service) AND (kind IS NULL OR e.event_type = kind)
    LIMIT batch
  ),
  gone AS (
    DELETE FROM events AS e USING picked AS p
    -- The window again, so only its partitions are looked in.
    WHERE e.tenant_id = tenant AND e.ts >= from_ts AND e.ts <= to_ts AND e.tableoid = p.part AND e.ctid = p.row_id
    RETURNING e.event_type, e.service_name, e.ts, e.count_level
  )
  SELECT (SELECT pg_catalog.count(*) FROM picked), pg_catalog.array_agg(event_type), pg_catalog.array_agg(service_name),
         pg_catalog.array_agg(ts), pg_catalog.array_agg(count_level)
  INTO picked_rows, gone_types, gone_services, gone_times, gone_levels
  FROM gone;
  IF picked_rows = 0 AND pg_catalog.to_regclass('events_legacy') IS NOT NULL THEN
    EXECUTE '
      WITH picked AS (
        SELECT l.ctid AS row_id FROM events_legacy AS l
        WHERE l.tenant_id = $1 AND l.ts >= $2 AND l.ts <= $3 AND ($4::text IS NULL OR l.service_name = $4) AND ($5::text IS NULL OR l.event_type = $5)
        LIMIT $6
      ),
      gone AS (
        DELETE FROM events_legacy AS l USING picked AS p WHERE l.ctid = p.row_id
        RETURNING l.event_type, l.service_name, l.ts
      )
      SELECT pg_catalog.array_agg(event_type), pg_catalog.array_agg(service_name), pg_catalog.array_agg(ts), pg_catalog.array_agg(''*''::text) FROM gone'
    INTO gone_types, gone_services, gone_times, gone_levels
    USING tenant, from_ts, to_ts, service, kind, batch;
    IF gone_types IS NOT NULL THEN
      picked_rows := pg_catalog.cardinality(gone_types);
    END IF;
  END IF;
  IF gone_types IS NULL THEN
    RETURN CASE WHEN picked_rows = 0 THEN 0 ELSE -1 END;
  END IF;
  PERFORM count_events(tenant, NULL, gone_types, gone_services, gone_times, gone_levels, -1);
  RETURN pg_catalog.cardinality(gone_types);
END
$$;

-- Moves at most `batch` rows of the table of before into the partitioned
-- table, computing what search reads; their counts stay as they are (under
-- level '*'). Returns how many moved.
CREATE FUNCTION move_legacy_events(batch integer) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  moved integer;
BEGIN
  IF pg_catalog.to_regclass('events_legacy') IS NULL THEN
    RETURN 0;
  END IF;
  EXECUTE '
    WITH picked AS (
      SELECT tenant_id, event_id FROM events_legacy ORDER BY tenant_id, event_id LIMIT $1 FOR UPDATE SKIP LOCKED
    ),
    gone AS (
      DELETE FROM events_legacy AS l USING picked AS p
      WHERE l.tenant_id = p.tenant_id AND l.event_id = p.event_id
      RETURNING l.*
    ),
    put AS (
      INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload, received_at, payload_size, search_text, trace_id, count_level)
      SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at,
             coalesce(payload_size, pg_catalog.octet_length(payload::text)), search_text_of(payload, event_id), trace_id_of(payload), ''*''
      FROM gone
      ON CONFLICT (tenant_id, event_id, ts) DO NOTHING
      RETURNING 1
    )
    SELECT pg_catalog.count(*) FROM gone' INTO moved USING batch;
  RETURN moved;
END
$$;

-- Folds the shards of count rows older than `before` into shard 0 and drops
-- rows that counted down to zero, at most `batch` rows a table; returns how
-- many rows were folded.
CREATE FUNCTION compact_counts(before timestamptz, batch integer) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  spec record;
  folded integer;
  total integer := 0;
BEGIN
  FOR spec IN SELECT * FROM (VALUES ('event_counts_minute', 'minute'), ('event_counts_5min', 'slot'), ('event_counts_hour', 'hour')) AS t(tbl, col) LOOP
    EXECUTE pg_catalog.format('
      WITH picked AS (
        SELECT tenant_id, %2$I AS at, event_type, service_name, level, shard FROM %1$I
        WHERE %2$I < $1 AND (shard <> 0 OR count = 0) LIMIT $2 FOR UPDATE SKIP LOCKED
      ),
      gone AS (
        DELETE FROM %1$I AS c USING picked AS p
        WHERE c.tenant_id = p.tenant_id AND c.%2$I = p.at AND c.event_type = p.event_type
          AND c.service_name = p.service_name AND c.level = p.level AND c.shard = p.shard
        RETURNING c.tenant_id, c.%2$I AS at, c.event_type, c.service_name, c.level, c.count
      ),
      summed AS (
        SELECT tenant_id, at, event_type, service_name, level, pg_catalog.sum(count) AS count FROM gone
        GROUP BY 1, 2, 3, 4, 5 HAVING pg_catalog.sum(count) <> 0 ORDER BY 1, 2, 3, 4, 5
      ),
      put AS (
        INSERT INTO %1$I AS c (tenant_id, %2$I, event_type, service_name, level, shard, count)
        SELECT tenant_id, at, event_type, service_name, level, 0, count FROM summed
        ON CONFLICT (tenant_id, %2$I, event_type, service_name, level, shard) DO UPDATE SET count = c.count + EXCLUDED.count
        RETURNING 1
      )
      SELECT pg_catalog.count(*) FROM gone', spec.tbl, spec.col)
    INTO folded USING before, batch;
    total := total + folded;
  END LOOP;
  RETURN total;
END
$$;

-- One maintenance runner at a time across replicas: a lease, taken by an
-- update (works through connection poolers, unlike a session lock).
CREATE TABLE maintenance_lease (
  name       text PRIMARY KEY,
  holder     text,
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO maintenance_lease (name) VALUES ('maintenance');

CREATE FUNCTION take_maintenance_lease(me text, seconds integer) RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
AS $$
  UPDATE maintenance_lease SET holder = me, expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => seconds)
  WHERE name = 'maintenance' AND (expires_at < pg_catalog.now() OR holder = me)
  RETURNING true
$$;

-- A partition that no longer receives new events gets a trigram index on
-- its search text, built once, off the write path (search inside events).
CREATE FUNCTION index_closed_partition(partition_name text) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  ops text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM event_partitions WHERE name = partition_name) THEN
    RETURN false;
  END IF;
  SELECT pg_catalog.quote_ident(n.nspname) || '.gin_trgm_ops' INTO ops
  FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace
  WHERE o.opcname = 'gin_trgm_ops' LIMIT 1;
  IF ops IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %I USING gin (search_text %s)', partition_name || '_search_idx', partition_name, ops);
  RETURN true;
END
$$;

-- Drops the table of before once maintenance has moved all its rows.
CREATE FUNCTION finish_legacy_move() RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
BEGIN
  IF pg_catalog.to_regclass('events_legacy') IS NULL THEN
    RETURN true;
  END IF;
  IF EXISTS (SELECT 1 FROM events_legacy LIMIT 1) THEN
    RETURN false;
  END IF;
  CREATE OR REPLACE VIEW events_all WITH (security_invoker = true) AS
    SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at,
           payload_size, search_text, trace_id, count_level
    FROM events;
  DROP TABLE events_legacy;
  RETURN true;
END
$$;

-- A fresh install has nothing to move.
SELECT finish_legacy_move();

-- migrate:down
-- Puts the rows back into one table of the sql/006 layout: a copy, fine for
-- the sizes a revert is used at. Where an id was stored at two timestamps,
-- one of them is kept.
DROP FUNCTION take_maintenance_lease(text, integer);
DROP TABLE maintenance_lease;
DROP FUNCTION compact_counts(timestamptz, integer);
DROP FUNCTION move_legacy_events(integer);
DROP FUNCTION delete_events(text, text, timestamptz, timestamptz, text, text, integer);
DROP FUNCTION tenants_with_events_before(timestamptz);
DROP FUNCTION finish_legacy_move();
DROP FUNCTION index_closed_partition(text);
DROP FUNCTION drop_event_partition(text, timestamptz);
DROP FUNCTION create_event_partitions(interval, timestamptz);
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb);
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[]);
DROP FUNCTION ingest_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[], text[], text[], integer);
DROP FUNCTION record_usage(text, text, bigint, bigint, bigint, bigint);
DROP FUNCTION count_events(text, text, text[], text[], timestamptz[], text[], integer);
DROP FUNCTION insert_events(text, text, text[], text[], text[], timestamptz[], jsonb, integer[], text[], text[]);
DROP TABLE tenant_usage;
DROP VIEW event_partitions;
DROP VIEW events_all;

CREATE TABLE events_flat (
  tenant_id    text        NOT NULL,
  event_id     text        NOT NULL,
  event_type   text        NOT NULL CHECK (event_type IN ('log', 'metric', 'trace')),
  service_name text        NOT NULL,
  ts           timestamptz NOT NULL,
  payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  received_at  timestamptz NOT NULL DEFAULT now(),
  payload_size integer,
  PRIMARY KEY (tenant_id, event_id)
);
INSERT INTO events_flat SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at, payload_size FROM events
ON CONFLICT DO NOTHING;
DO $$
BEGIN
  IF to_regclass('events_legacy') IS NOT NULL THEN
    INSERT INTO events_flat SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at, payload_size FROM events_legacy
    ON CONFLICT DO NOTHING;
    DROP TABLE events_legacy;
  END IF;
END $$;
DROP TABLE events;
ALTER TABLE events_flat RENAME TO events;
ALTER INDEX events_flat_pkey RENAME TO events_pkey;
CREATE INDEX events_tenant_ts_idx ON events (tenant_id, ts DESC, event_id DESC);
CREATE INDEX events_tenant_service_ts_idx ON events (tenant_id, service_name, ts DESC, event_id DESC);
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

DO $$
DECLARE
  spec record;
BEGIN
  FOR spec IN SELECT * FROM (VALUES ('event_counts_minute', 'minute'), ('event_counts_5min', 'slot'), ('event_counts_hour', 'hour')) AS t(tbl, col) LOOP
    EXECUTE format('CREATE TEMP TABLE folded ON COMMIT DROP AS SELECT tenant_id, %2$I, event_type, service_name, sum(count) AS count FROM %1$I GROUP BY 1, 2, 3, 4', spec.tbl, spec.col);
    EXECUTE format('TRUNCATE %I', spec.tbl);
    EXECUTE format('ALTER TABLE %1$I DROP CONSTRAINT %2$I, DROP COLUMN level, DROP COLUMN shard', spec.tbl, spec.tbl || '_pkey');
    EXECUTE format('INSERT INTO %I SELECT * FROM folded', spec.tbl);
    EXECUTE format('ALTER TABLE %1$I ADD PRIMARY KEY (tenant_id, %2$I, event_type, service_name), FORCE ROW LEVEL SECURITY', spec.tbl, spec.col);
    DROP TABLE folded;
  END LOOP;
END $$;

DROP FUNCTION trace_id_of(jsonb);
DROP FUNCTION search_text_of(jsonb, text);
DROP FUNCTION level_key(jsonb);

-- The write functions of sql/005 and sql/006, as they were.
CREATE FUNCTION ingest_events(
  tenant text, app_role text, ids text[], types text[], services text[], timestamps timestamptz[], payloads jsonb
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

CREATE FUNCTION insert_events(
  tenant text, app_role text, ids text[], types text[], services text[], timestamps timestamptz[], payloads jsonb, sizes integer[]
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
  FROM ROWS FROM (unnest(ids), unnest(types), unnest(services), unnest(timestamps), jsonb_array_elements(payloads), unnest(sizes))
    AS n(event_id, event_type, service_name, ts, payload, payload_size)
  ON CONFLICT (tenant_id, event_id) DO NOTHING
  RETURNING e.event_id, e.event_type, e.service_name, e.ts;
END
$$;

CREATE FUNCTION count_events(tenant text, app_role text, types text[], services text[], timestamps timestamptz[]) RETURNS void
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

CREATE FUNCTION ingest_events(
  tenant text, app_role text, ids text[], types text[], services text[], timestamps timestamptz[], payloads jsonb, sizes integer[]
) RETURNS SETOF text
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  inserted_ids text[];
  inserted_types text[];
  inserted_services text[];
  inserted_times timestamptz[];
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
