-- migrate:up
-- Partition upkeep and retention that hold under the timing of real
-- deployments: upkeep that paused longer than the accepted future window,
-- a tenant's write still in flight while retention drops a partition, an
-- upgrade's move of the table of before still under way, a moved row with a
-- trace id too long to index, and a runner that stopped while holding the
-- maintenance lease.

-- Creates the missing regular partitions of `width` up to `through` (at
-- most 7 days ahead of now: the service's role may call it), each starting
-- where the last one ends, one caller at a time (replicas starting together
-- would create the same one). When upkeep paused for more than a day,
-- events stamped past the last partition (up to 24 h ahead is accepted)
-- waited in the default partition, and PostgreSQL refuses a partition
-- whose range the default partition holds rows of: such a partition is
-- built beside the table with those rows moved in, then attached.
CREATE OR REPLACE FUNCTION create_event_partitions(width interval, through timestamptz) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  next_start timestamptz;
  part       text;
  columns    text;
  created    integer := 0;
BEGIN
  IF width NOT IN (interval '1 hour', interval '2 hours', interval '3 hours', interval '4 hours', interval '6 hours',
                   interval '8 hours', interval '12 hours', interval '1 day') THEN
    RAISE EXCEPTION 'partition width must divide a day: %', width;
  END IF;
  through := LEAST(through, pg_catalog.now() + interval '7 days');
  SELECT pg_catalog.max(upper_bound) INTO next_start FROM event_partitions;
  IF next_start > through THEN
    RETURN 0; -- nothing to make: no lock taken (every replica asks at start-up)
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext(pg_catalog.current_schema() || '.create_event_partitions'));
  SELECT pg_catalog.max(upper_bound) INTO next_start FROM event_partitions;
  WHILE next_start <= through LOOP
    part := 'events_' || pg_catalog.to_char(next_start AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24');
    IF EXISTS (SELECT 1 FROM events_default WHERE ts >= next_start AND ts < next_start + width) THEN
      SELECT pg_catalog.string_agg(pg_catalog.quote_ident(attname), ', ' ORDER BY attnum) INTO columns
      FROM pg_catalog.pg_attribute WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped;
      EXECUTE pg_catalog.format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      EXECUTE pg_catalog.format(
        'WITH moved AS (DELETE FROM events_default WHERE ts >= %L AND ts < %L RETURNING %s) INSERT INTO %I (%s) SELECT %s FROM moved',
        next_start, next_start + width, columns, part, columns, columns);
      -- Attaching builds the partition's indexes and checks its rows fit the range.
      EXECUTE pg_catalog.format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, next_start, next_start + width);
    ELSE
      EXECUTE pg_catalog.format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', part, next_start, next_start + width);
    END IF;
    next_start := next_start + width;
    created := created + 1;
  END LOOP;
  RETURN created;
END
$$;

-- Drops one partition of events whose rows are all older than
-- `expired_before`, and the count rows of its time range with it, in one
-- transaction: totals never disagree with the rows. `expired_tenants` are
-- the tenants the caller found there and judged expired (from the hour
-- counts). A tenant's write still in flight when the caller looked is not
-- among them: events and the partition are locked first, which waits for
-- such writes to commit, then the tenants are looked up again, and any other tenant
-- keeps the partition (false; the next run judges again). Nothing is
-- dropped while rows of the table of before are still to be moved: their
-- counts are in the count tables and would go with the range.
CREATE FUNCTION drop_expired_partition(partition_name text, expired_before timestamptz, expired_tenants text[]) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
DECLARE
  low timestamptz;
  high timestamptz;
BEGIN
  IF pg_catalog.to_regclass('events_legacy') IS NOT NULL THEN
    RETURN false;
  END IF;
  SELECT lower_bound, upper_bound INTO low, high
  FROM event_partitions WHERE name = partition_name AND upper_bound <= expired_before;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  -- The parent first, as DROP TABLE and every query lock them: the other
  -- order deadlocks with a query reading the partition.
  LOCK TABLE ONLY events IN ACCESS EXCLUSIVE MODE;
  EXECUTE pg_catalog.format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', partition_name);
  IF EXISTS (SELECT 1 FROM tenants_with_events_before(high) AS t WHERE t <> ALL (expired_tenants)) THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('DROP TABLE %I', partition_name);
  DELETE FROM event_counts_minute WHERE minute < high AND (low IS NULL OR minute >= low);
  DELETE FROM event_counts_5min WHERE slot < high AND (low IS NULL OR slot >= low);
  DELETE FROM event_counts_hour WHERE hour < high AND (low IS NULL OR hour >= low);
  RETURN true;
END
$$;

-- The signature of sql/007, for replicas of the previous release during a
-- rolling upgrade: the tenants it judged are not passed, so those found
-- before the lock stand for them.
CREATE OR REPLACE FUNCTION drop_event_partition(partition_name text, expired_before timestamptz) RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
AS $$
  SELECT drop_expired_partition(partition_name, expired_before, ARRAY(
    SELECT tenants_with_events_before(p.upper_bound) FROM event_partitions AS p WHERE p.name = partition_name))
$$;

-- As sql/007, but a batch of the table of before whose picked rows were
-- all moved meanwhile (maintenance moving them) answers -1, call again:
-- they are in events now, and the next call deletes them there.
CREATE OR REPLACE FUNCTION delete_events(
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
      WITH picked AS MATERIALIZED (
        SELECT l.ctid AS row_id FROM events_legacy AS l
        WHERE l.tenant_id = $1 AND l.ts >= $2 AND l.ts <= $3 AND ($4::text IS NULL OR l.service_name = $4) AND ($5::text IS NULL OR l.event_type = $5)
        LIMIT $6
      ),
      gone AS (
        DELETE FROM events_legacy AS l USING picked AS p WHERE l.ctid = p.row_id
        RETURNING l.event_type, l.service_name, l.ts
      )
      SELECT (SELECT pg_catalog.count(*) FROM picked), pg_catalog.array_agg(event_type), pg_catalog.array_agg(service_name),
             pg_catalog.array_agg(ts), pg_catalog.array_agg(''*''::text)
      FROM gone'
    INTO picked_rows, gone_types, gone_services, gone_times, gone_levels
    USING tenant, from_ts, to_ts, service, kind, batch;
  END IF;
  IF gone_types IS NULL THEN
    RETURN CASE WHEN picked_rows = 0 THEN 0 ELSE -1 END;
  END IF;
  PERFORM count_events(tenant, NULL, gone_types, gone_services, gone_times, gone_levels, -1);
  RETURN pg_catalog.cardinality(gone_types);
END
$$;

-- Gives the lease up when its runner stops (a replica shutting down,
-- `bun run maintenance` done), so the next runner need not wait for it to
-- expire.
CREATE FUNCTION release_maintenance_lease(me text) RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
AS $$
  UPDATE maintenance_lease SET holder = NULL, expires_at = '-infinity'
  WHERE name = 'maintenance' AND holder = me
  RETURNING true
$$;

-- A payload's trace id, as sql/007 reads it, but NULL when longer than the
-- service accepts (events/limits.ts MAX_TRACE_ID_LENGTH): the trace index
-- holds at most 2704 bytes a key, and a row moved from the table of before
-- (or written by a replica of before) must not fail on one.
CREATE OR REPLACE FUNCTION trace_id_of(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN pg_catalog.length(pg_catalog.lower(id)) <= 128 THEN pg_catalog.lower(id) END
  FROM (SELECT CASE
    WHEN pg_catalog.jsonb_typeof(payload -> 'traceId') = 'string' THEN payload ->> 'traceId'
    WHEN pg_catalog.jsonb_typeof(payload -> 'trace_id') = 'string' THEN payload ->> 'trace_id'
  END AS id) AS t
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION trace_id_of(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT pg_catalog.lower(CASE
    WHEN pg_catalog.jsonb_typeof(payload -> 'traceId') = 'string' THEN payload ->> 'traceId'
    WHEN pg_catalog.jsonb_typeof(payload -> 'trace_id') = 'string' THEN payload ->> 'trace_id'
  END)
$$;
DROP FUNCTION release_maintenance_lease(text);
DROP FUNCTION drop_expired_partition(text, timestamptz, text[]);

CREATE OR REPLACE FUNCTION drop_event_partition(partition_name text, expired_before timestamptz) RETURNS boolean
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

CREATE OR REPLACE FUNCTION create_event_partitions(width interval, through timestamptz) RETURNS integer
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

CREATE OR REPLACE FUNCTION delete_events(
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
