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
-- one by time.

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
    'SELECT e.event_id, e.ts FROM events_all AS e WHERE e.tenant_id = $1 AND e.ts BETWEEN $2 AND $3 %s LIMIT $6',
    search_conditions(patterns, only_type, only_service))
  USING tenant, from_ts, to_ts, only_type, only_service, cap;
END
$$;

-- How many of the tenant's events in the window match every pattern.
CREATE FUNCTION search_count(patterns text[], from_ts timestamptz, to_ts timestamptz, only_type text, only_service text)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
AS $$
DECLARE
  tenant text := pg_catalog.current_setting('app.tenant_id', true);
  n bigint;
BEGIN
  IF tenant IS NULL OR tenant = '' THEN
    RETURN 0;
  END IF;
  EXECUTE pg_catalog.format(
    'SELECT pg_catalog.count(*) FROM events_all AS e WHERE e.tenant_id = $1 AND e.ts BETWEEN $2 AND $3 %s',
    search_conditions(patterns, only_type, only_service))
  INTO n
  USING tenant, from_ts, to_ts, only_type, only_service;
  RETURN n;
END
$$;

-- The WHERE conditions both share: one LIKE per pattern, as a literal.
CREATE FUNCTION search_conditions(patterns text[], only_type text, only_service text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  conditions text := '';
  pattern text;
BEGIN
  FOREACH pattern IN ARRAY patterns LOOP
    conditions := conditions || pg_catalog.format(' AND e.search_text LIKE %L', pattern);
  END LOOP;
  IF only_type IS NOT NULL THEN
    conditions := conditions || ' AND e.event_type = $4';
  END IF;
  IF only_service IS NOT NULL THEN
    conditions := conditions || ' AND e.service_name = $5';
  END IF;
  RETURN conditions;
END
$$;

-- migrate:down
DROP FUNCTION search_count(text[], timestamptz, timestamptz, text, text);
DROP FUNCTION search_keys(text[], timestamptz, timestamptz, text, text, integer);
DROP FUNCTION search_conditions(text[], text, text);
