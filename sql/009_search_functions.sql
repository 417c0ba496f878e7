-- migrate:up
-- Free text goes through these functions. Row-level security keeps the
-- planner from using a trigram index for LIKE: the operator is not
-- leakproof, so it may not run before the tenant policy, and every search
-- would read the whole window. As SECURITY DEFINER they read as the tables'
-- owner, whom the policy does not bind, and filter by the tenant the
-- caller's transaction entered (app.tenant_id, enter_tenant) themselves;
-- they return keys or a count, and the service reads rows under the policy.
-- The patterns are written into the statement (EXECUTE … %L) so each search
-- is planned for its own terms: a rare word by the trigram index, a common
-- one by time (storage/search-keys.ts decides which, by a probe).

-- How many of the newest `probe` events of the tenant's window match every
-- pattern: a word that is common there is found faster by walking the
-- window newest first than through an index.
CREATE FUNCTION search_probe(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text, probe integer)
RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
AS $$
DECLARE
  tenant text := pg_catalog.current_setting('app.tenant_id', true);
  n integer;
BEGIN
  IF tenant IS NULL OR tenant = '' THEN
    RETURN 0;
  END IF;
  EXECUTE pg_catalog.format(
    'SELECT pg_catalog.count(*)::integer FROM (
       SELECT e.search_text FROM events_all AS e WHERE e.tenant_id = $1 AND e.ts BETWEEN $2 AND $3 %s
       ORDER BY e.ts DESC, e.event_id DESC LIMIT $6
     ) AS e WHERE true %s',
    search_filters(only_type, only_service), search_likes(patterns))
  INTO n
  USING tenant, from_ts, to_ts, only_type, only_service, probe;
  RETURN n;
END
$$;

-- Keys of the tenant's events in the window whose search text matches every
-- pattern (LIKE, escaped by the service), at most `cap` of them.
CREATE FUNCTION search_keys(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text, cap integer)
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

-- How many of the tenant's events in the window match every pattern. Used
-- for common words only (rare ones are counted by their keys), which a scan
-- counts faster than the trigram indexes' bitmaps (bench/README.md).
CREATE FUNCTION search_count(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET enable_bitmapscan = off
AS $$
DECLARE
  tenant text := pg_catalog.current_setting('app.tenant_id', true);
  n bigint;
BEGIN
  IF tenant IS NULL OR tenant = '' THEN
    RETURN 0;
  END IF;
  EXECUTE pg_catalog.format(
    'SELECT pg_catalog.count(*) FROM events_all AS e WHERE e.tenant_id = $1 AND e.ts BETWEEN $2 AND $3 %s %s',
    search_filters(only_type, only_service), search_likes(patterns))
  INTO n
  USING tenant, from_ts, to_ts, only_type, only_service;
  RETURN n;
END
$$;

-- One LIKE per pattern, as a literal, so the plan is made for the words.
CREATE FUNCTION search_likes(patterns text[]) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT pg_catalog.string_agg(pg_catalog.format(' AND e.search_text LIKE %L', pattern), '')
  FROM pg_catalog.unnest(patterns) AS pattern
$$;

-- The type and service filters, on the parameters $4 and $5.
CREATE FUNCTION search_filters(only_type text, only_service text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE WHEN only_type IS NOT NULL THEN ' AND e.event_type = $4' ELSE '' END
      || CASE WHEN only_service IS NOT NULL THEN ' AND e.service_name = $5' ELSE '' END
$$;

-- migrate:down
DROP FUNCTION search_probe(text[], timestamptz, timestamptz, text, text, integer);
DROP FUNCTION search_count(text[], timestamptz, timestamptz, text, text);
DROP FUNCTION search_keys(text[], timestamptz, timestamptz, text, text, integer);
DROP FUNCTION search_likes(text[]);
DROP FUNCTION search_filters(text, text);
