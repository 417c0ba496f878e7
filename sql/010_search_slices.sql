-- migrate:up
-- Search slices: trigram indexes on whole hours of a partition that still
-- receives writes. A partition gets its one trigram index when it closes
-- (sql/007, index_closed_partition); until then a rare word read the open
-- partition whole, up to PARTITION_HOURS of events (bench/README.md). Now
-- maintenance indexes the open partition's settled hours as they pass, each
-- slice a partial index (WHERE ts >= lo AND ts < hi) built CONCURRENTLY, so
-- writes never wait for it; only the newest hour or so is read whole. When
-- the partition closes, its full index replaces the slices.
--
-- A row per slice whose index was built; the search functions use only
-- slices whose index exists and is valid. Written by maintenance as the
-- tables' owner (CREATE INDEX CONCURRENTLY needs the owner), read by the
-- search functions below as the owner: the service's role needs no grant.
CREATE TABLE search_slices (
  index_name     text PRIMARY KEY,
  partition_name text NOT NULL,
  lo             timestamptz NOT NULL,
  hi             timestamptz NOT NULL,
  CHECK (lo < hi)
);
REVOKE ALL ON search_slices FROM PUBLIC;

-- The statement that finds the keys of a search: one SELECT per stretch of
-- the window, joined by UNION ALL. A slice's stretch names its bounds as
-- literals, which is what lets the planner use that slice's partial index;
-- the stretches between and after slices are read as before (closed
-- partitions by their full index, the newest hour whole). Parameters:
-- $1 tenant, $2 from, $3 to, $4 type, $5 service. Its own function so a test
-- can EXPLAIN what a search runs.
-- The bounds are written as ISO text in UTC, whatever the session's DateStyle
-- and TimeZone, so they read back exactly. Slices that overlap (they should
-- not, but two runners could leave some) are taken from where the last one
-- ended, so no row is read twice.
CREATE FUNCTION search_keys_statement(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
  base text := pg_catalog.format(
    'SELECT e.event_id, e.ts FROM events_all AS e WHERE e.tenant_id = $1 AND e.ts BETWEEN $2 AND $3 %s %s',
    search_filters(only_type, only_service), search_likes(patterns));
  pieces text[] := '{}';
  -- Where the part of the window not yet taken begins (NULL: at its start).
  taken_to timestamptz;
  s record;
BEGIN
  FOR s IN
    SELECT sl.lo, sl.hi FROM search_slices AS sl
    JOIN pg_catalog.pg_index AS x ON x.indexrelid = pg_catalog.to_regclass(sl.index_name) AND x.indisvalid
    WHERE sl.hi > from_ts AND sl.lo <= to_ts
    ORDER BY sl.lo
  LOOP
    CONTINUE WHEN s.hi <= taken_to;
    IF taken_to IS NULL OR taken_to < s.lo THEN
      pieces := pieces || (base || pg_catalog.format(' AND e.ts < %L::timestamptz', s.lo)
        || CASE WHEN taken_to IS NULL THEN '' ELSE pg_catalog.format(' AND e.ts >= %L::timestamptz', taken_to) END);
    END IF;
    pieces := pieces || (base || pg_catalog.format(' AND e.ts >= %L::timestamptz AND e.ts < %L::timestamptz',
      GREATEST(s.lo, taken_to), s.hi));
    taken_to := s.hi;
  END LOOP;
  pieces := pieces || (base || CASE WHEN taken_to IS NULL THEN '' ELSE pg_catalog.format(' AND e.ts >= %L::timestamptz', taken_to) END);
  RETURN pg_catalog.array_to_string(pieces, ' UNION ALL ');
END
$$;

-- As in sql/009, through search_keys_statement.
CREATE OR REPLACE FUNCTION search_keys(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text, cap integer)
RETURNS TABLE (event_id text, ts timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
AS $$
DECLARE
  tenant text := pg_catalog.current_setting('app.tenant_id', true);
BEGIN
  IF tenant IS NULL OR tenant = '' THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE
    'SELECT k.event_id, k.ts FROM (' || search_keys_statement(patterns, from_ts, to_ts, only_type, only_service) || ') AS k LIMIT $6'
  USING tenant, from_ts, to_ts, only_type, only_service, cap;
END
$$;

-- The trigram operator class, schema-qualified (pg_trgm may live in another
-- schema); NULL without pg_trgm. For index_closed_partition and for the
-- indexes maintenance builds itself (storage/search-indexes.ts).
CREATE FUNCTION trigram_ops() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT pg_catalog.quote_ident(n.nspname) || '.gin_trgm_ops'
  FROM pg_catalog.pg_opclass AS o JOIN pg_catalog.pg_namespace AS n ON n.oid = o.opcnamespace
  WHERE o.opcname = 'gin_trgm_ops' LIMIT 1
$$;

-- A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind, which
-- IF NOT EXISTS would take for the index: drop it first.
CREATE OR REPLACE FUNCTION index_closed_partition(partition_name text) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  ops text := trigram_ops();
BEGIN
  IF ops IS NULL OR NOT EXISTS (SELECT 1 FROM event_partitions WHERE name = partition_name) THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_index AS x
             WHERE x.indexrelid = pg_catalog.to_regclass(partition_name || '_search_idx') AND NOT x.indisvalid) THEN
    EXECUTE pg_catalog.format('DROP INDEX %I', partition_name || '_search_idx');
  END IF;
  EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %I USING gin (search_text %s)', partition_name || '_search_idx', partition_name, ops);
  RETURN true;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION search_keys(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text, cap integer)
RETURNS TABLE (event_id text, ts timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
AS $$
DECLARE
  tenant text := pg_catalog.current_setting('app.tenant_id', true);
BEGIN
  IF tenant IS NULL OR tenant = '' THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE pg_catalog.format(
    'SELECT e.event_id, e.ts FROM events_all AS e WHERE e.tenant_id = $1 AND e.ts BETWEEN $2 AND $3 %s %s LIMIT $6',
    search_filters(only_type, only_service), search_likes(patterns))
  USING tenant, from_ts, to_ts, only_type, only_service, cap;
END
$$;
CREATE OR REPLACE FUNCTION index_closed_partition(partition_name text) RETURNS boolean
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
DROP FUNCTION search_keys_statement(text[], timestamptz, timestamptz, text, text);
DROP FUNCTION trigram_ops();
DO $$
DECLARE
  slice text;
BEGIN
  FOR slice IN SELECT index_name FROM search_slices LOOP
    EXECUTE pg_catalog.format('DROP INDEX IF EXISTS %I', slice);
  END LOOP;
END $$;
DROP TABLE search_slices;
