import type { Sql } from "postgres";
import { COUNT_LEVELS, type CountLevel } from "../../src/storage/count-plan";
import { CLOSED_GRACE_MS, SLICE_SETTLE_MS, nextSearchIndexStep, partitionStates, slicesOf, takeSearchIndexStep } from "../../src/storage/search-indexes";
import type { Db } from "../../src/storage/write-sql";
import { batchBody, COMMON_WORD, LEVEL_CUMULATIVE, makeEvents, METHODS, RARE_WORD, ROUTES, SERVICES, STATUSES, WORDS } from "./data";
import { headersFor } from "./http-ingest";
import { post } from "./load";

/**
 * The query data set: `rows` events over the 7 days before `anchor`, one
 * big tenant (95%) and one small (5%), 8 services (skewed), 3 types
 * (60/30/10). Metadata sits in a COMMENT on the schema so `--keep` can reuse
 * a filled schema later; the queries use windows ending at the anchor, so a
 * reused data set still has data in "the last hour".
 */
export const BIG_TENANT = "bench-big";
export const SMALL_TENANT = "bench-small";
export const SPAN_MS = 7 * 24 * 3600_000;
const FILL_VERSION = 4; // 4: search slices of the open partition; 3: realistic payloads, time partitions, search indexes; 2: time-ordered rows

export interface FillMeta {
  version: number;
  rows: number;
  anchorMs: number;
  fill: "sql" | "http";
  filledAt: string;
  fillSeconds: number;
  vacuumed: boolean;
}

export async function readFillMeta(sql: Sql, schema: string): Promise<FillMeta | undefined> {
  const [row] = await sql<{ d: string | null }[]>`
    SELECT obj_description(oid, 'pg_namespace') AS d FROM pg_namespace WHERE nspname = ${schema}`;
  if (!row?.d) return undefined;
  try {
    const meta = JSON.parse(row.d) as FillMeta;
    return meta.version === FILL_VERSION ? meta : undefined;
  } catch {
    return undefined;
  }
}

async function writeFillMeta(sql: Sql, schema: string, meta: FillMeta) {
  await sql.unsafe(`COMMENT ON SCHEMA ${schema} IS '${JSON.stringify(meta).replaceAll("'", "''")}'`);
}

const HOUR_MS = 3_600_000;
const log = (msg: string) => console.log(`  [fill] ${msg}`);

/**
 * Server-side fill: INSERT … SELECT generate_series in chunks with the
 * events indexes dropped (recreated from their own definitions afterwards,
 * whatever migrations made them), then the count tables built from the
 * events with the store's grouping (UTC minute / hour slots, epoch-aligned,
 * per level key), in time order as live ingest would have written them.
 * The 7 days get the time partitions the service would have made while they
 * happened, and the search indexes maintenance would have built by the
 * anchor (timed: `searchIndexes`, `searchSlices`).
 */
export async function fillWithSql(sql: Sql, schema: string, rows: number, anchorMs: number, partitionHours = 6): Promise<FillCosts> {
  await sql.unsafe(`SET search_path = ${schema}; SET maintenance_work_mem = '512MB'; SET synchronous_commit = off`);
  await sql`SELECT finish_legacy_move()`;
  await sql`TRUNCATE events, event_counts_minute, event_counts_5min, event_counts_hour`;
  const indexes = await sql<{ name: string; indexdef: string; conname: string | null; condef: string | null }[]>`
    SELECT ci.relname AS name, pg_get_indexdef(i.indexrelid) AS indexdef, c.conname, pg_get_constraintdef(c.oid) AS condef
    FROM pg_index i
    JOIN pg_class ci ON ci.oid = i.indexrelid
    LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
    WHERE i.indrelid = ${`${schema}.events`}::regclass`;
  for (const ix of indexes) {
    if (ix.conname) await sql.unsafe(`ALTER TABLE events DROP CONSTRAINT ${ix.conname}`);
    else await sql.unsafe(`DROP INDEX ${schema}.${ix.name}`);
  }
  await pastPartitions(sql, anchorMs - SPAN_MS - 24 * 3600_000, partitionHours);
  const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(",")}]`;
  const routes = `ARRAY[${ROUTES.map((r) => `'${r}'`).join(",")}]`;
  const methods = `ARRAY[${METHODS.map((m) => `'${m}'`).join(",")}]`;
  const services = `ARRAY[${SERVICES.map((s) => `'${s}'`).join(",")}]`;
  // Weighted picks in SQL matching data.ts: type 60/30/10, service index floor(8·u²), levels and statuses by their shares.
  const level = `CASE WHEN u3 < ${LEVEL_CUMULATIVE[0]} THEN 'debug' WHEN u3 < ${LEVEL_CUMULATIVE[1]} THEN 'info' WHEN u3 < ${LEVEL_CUMULATIVE[2]} THEN 'warn' ELSE 'error' END`;
  const status = `CASE ${STATUSES.map(([code, upTo]) => `WHEN u4 < ${upTo} THEN ${code}`).join(" ")} END`;
  const route = `(${routes})[1 + floor(${ROUTES.length} * u2)::int]`;
  const method = `(${methods})[1 + floor(${METHODS.length} * u6)::int]`;
  // Events of one trace are neighbours in time: six consecutive rows share an id.
  const traceId = `md5('trace-' || (g / 6)::text)`;
  const spanId = `left(md5(g::text), 16)`;
  // 3 to 8 words, skewed towards the first of WORDS (data.ts message()); a fixed number of picks, so no
  // subquery per row, the count varying by row.
  const word = () => `(${words})[1 + floor(${WORDS.length} * random() ^ 2)::int]`;
  const message = `
    CASE WHEN u7 < 0.35 THEN '${COMMON_WORD} ' ELSE '' END
    || concat_ws(' ', ${word()}, ${word()}, ${word()},
                 CASE WHEN g % 6 > 0 THEN ${word()} END, CASE WHEN g % 6 > 1 THEN ${word()} END,
                 CASE WHEN g % 6 > 2 THEN ${word()} END, CASE WHEN g % 6 > 3 THEN ${word()} END,
                 CASE WHEN g % 6 > 4 THEN ${word()} END)
    || CASE WHEN random() < 0.00001 THEN ' ${RARE_WORD} detected' ELSE '' END`;
  // Built from parts so that the search text (every string value and the id, lowercased, joined by
  // U+001F: events/search.ts) comes without walking each payload; the order of the values does not
  // change what a term matches.
  const sep = `E'\\x1f'`;
  const chunk = 500_000;
  await sql`SELECT setseed(0.42)`;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    await sql.unsafe(`
      INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload, received_at, payload_size, search_text, trace_id, count_level)
      SELECT tenant_id, event_id, event_type, service_name, ts, payload, received_at, octet_length(payload::text),
             lower(concat_ws(${sep}, VARIADIC strings || event_id)), trace_id, count_level
      FROM (
        SELECT tenant_id, event_id, event_type, service_name, ts, received_at,
               CASE WHEN event_type = 'log' THEN
                      jsonb_build_object('level', level, 'message', message,
                        'http', jsonb_build_object('method', method, 'route', route, 'status', status),
                        'durationMs', round((u5 * 1000)::numeric, 2), 'userId', floor(u3 * 100000)::int)
                      || CASE WHEN trace_id IS NOT NULL THEN jsonb_build_object('traceId', trace_id, 'spanId', span_id) ELSE '{}' END
                    WHEN event_type = 'metric' THEN
                      jsonb_build_object('name', 'http.server.duration', 'value', round((u5 * 500)::numeric, 2), 'unit', 'ms',
                        'attributes', jsonb_build_object('route', route, 'method', method))
                    ELSE
                      jsonb_build_object('traceId', trace_id, 'spanId', span_id, 'name', method || ' ' || route, 'kind', 'server',
                        'durationMs', round((u5 * 2000)::numeric, 2), 'status', jsonb_build_object('code', span_status),
                        'attributes', jsonb_build_object('http.route', route, 'http.status_code', status))
               END AS payload,
               CASE WHEN event_type = 'log' THEN ARRAY[level, message, method, route] || CASE WHEN trace_id IS NOT NULL THEN ARRAY[trace_id, span_id] ELSE '{}' END
                    WHEN event_type = 'metric' THEN ARRAY['http.server.duration', 'ms', route, method]
                    ELSE ARRAY[trace_id, span_id, method || ' ' || route, 'server', span_status, route]
               END AS strings,
               trace_id,
               CASE WHEN event_type = 'log' THEN '"' || level || '"' ELSE '' END AS count_level
        FROM (
          SELECT *, CASE WHEN event_type = 'trace' OR (event_type = 'log' AND u2 < 0.5) THEN ${traceId} END AS trace_id,
                 ${spanId} AS span_id
          FROM (
            SELECT g, u1, u2, u3, u4, u5, u6, u7, ts, ts + interval '150 milliseconds' AS received_at,
                   CASE WHEN g % 20 = 0 THEN '${SMALL_TENANT}' ELSE '${BIG_TENANT}' END AS tenant_id,
                   md5(g::text || '-bench') AS event_id,
                   CASE WHEN u1 < 0.6 THEN 'log' WHEN u1 < 0.9 THEN 'metric' ELSE 'trace' END AS event_type,
                   (${services})[1 + least(7, floor(8 * u5 * u5)::int)] AS service_name,
                   ${level} AS level, ${status} AS status, ${route} AS route, ${method} AS method, ${message} AS message,
                   CASE WHEN u3 < 0.03 THEN 'error' ELSE 'ok' END AS span_status
            FROM (
              -- Time-ordered like live ingest (row g of n lands at anchor - span + g·span/n),
              -- with up to 5 s of jitter for events that arrive out of order; so the
              -- heap keeps the physical time locality a real table has.
              SELECT g, random() AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5, random() AS u6, random() AS u7,
                     timestamptz 'epoch' + least(${anchorMs}::int8, ${anchorMs - SPAN_MS}::int8 + (g::int8 * ${SPAN_MS}) / ${rows} + floor(random() * 5000)::int8)::float8
                       * interval '1 millisecond' AS ts
              FROM generate_series(${from}, ${to}) AS g
            ) AS s
          ) AS picked
        ) AS traced
      ) AS e`);
    log(`events ${to.toLocaleString("en")} / ${rows.toLocaleString("en")}`);
  }
  for (const ix of indexes) {
    if (ix.conname) await sql.unsafe(`ALTER TABLE events ADD CONSTRAINT ${ix.conname} ${ix.condef}`);
    // A partitioned table's index definition reads "ON ONLY events": built that way, its partitions would get none.
    else await sql.unsafe(ix.indexdef.replace(" ON ONLY ", " ON "));
    log(`index ${ix.name} rebuilt`);
  }
  // The same slots as the store's upserts (sql/007 count_events), one table per level, one shard.
  for (const level of COUNT_LEVELS) {
    await sql`
      INSERT INTO ${sql(level.table)} (tenant_id, ${sql(level.column)}, event_type, service_name, level, shard, count)
      SELECT tenant_id, ${slotOf(sql, level)}, event_type, service_name, count_level, 0, count(*)
      FROM events GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 1, 3, 4, 5`;
  }
  log("count tables built");
  await sql`ANALYZE events`;
  const costs = await buildSearchIndexes(sql, anchorMs);
  await sql`RESET ALL`;
  return costs;
}

export interface FillCosts {
  /** The trigram indexes maintenance builds on closed partitions: how long, how big. */
  searchIndexes: { partitions: number; seconds: number; bytes: number; rows: number };
  /** The slices maintenance builds on the open partition's settled hours. */
  searchSlices: { seconds: number; bytes: number; rows: number };
}

/**
 * The partitions the service would have created while the data set's days
 * went by: the history partition ends before them, then one per
 * `partitionHours` (the service's PARTITION_HOURS) up to those created at start-up.
 */
async function pastPartitions(sql: Sql, fromMs: number, partitionHours: number) {
  const width = partitionHours * 3600_000;
  const start = Math.floor(fromMs / width) * width;
  const [first] = await sql<{ lower: Date }[]>`SELECT min(lower_bound) AS lower FROM event_partitions`;
  await sql`DROP TABLE events_history`;
  await sql.unsafe(`CREATE TABLE events_history PARTITION OF events FOR VALUES FROM (MINVALUE) TO ('${new Date(start).toISOString()}')`);
  for (let t = start; t < first!.lower.getTime(); t += width) {
    const name = `events_${new Date(t).toISOString().slice(0, 13).replace(/-/g, "").replace("T", "_")}`;
    await sql.unsafe(`CREATE TABLE ${name} PARTITION OF events FOR VALUES FROM ('${new Date(t).toISOString()}') TO ('${new Date(Math.min(t + width, first!.lower.getTime())).toISOString()}')`);
  }
}

/**
 * What maintenance does (storage/search-indexes.ts), as its owner's
 * connection does it (CONCURRENTLY): a full trigram index on every
 * partition closed at the anchor, then slices of the open partition's
 * settled hours.
 */
async function buildSearchIndexes(sql: Sql, anchorMs: number): Promise<FillCosts> {
  const closed = await sql<{ name: string; rows: string }[]>`
    SELECT p.name, c.reltuples::int8 AS rows FROM event_partitions AS p JOIN pg_class AS c ON c.relname = p.name
    WHERE p.upper_bound <= ${new Date(anchorMs - CLOSED_GRACE_MS)} AND c.relnamespace = current_schema()::regnamespace AND c.reltuples > 0
    ORDER BY p.upper_bound`;
  let t = performance.now();
  for (const p of closed) await takeSearchIndexStep(sql, sql, { kind: "full", partition: p.name });
  const seconds = (performance.now() - t) / 1000;
  const bytes = async (like: string) => {
    const [size] = await sql<{ bytes: string }[]>`
      SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::int8 AS bytes FROM pg_class AS c
      WHERE c.relname LIKE ${like} AND c.relkind = 'i' AND c.relnamespace = current_schema()::regnamespace`;
    return Number(size!.bytes);
  };
  const fullBytes = await bytes("events%search_idx");
  log(`search indexes on ${closed.length} closed partitions: ${seconds.toFixed(1)} s, ${(fullBytes / 2 ** 20).toFixed(0)} MiB`);

  // As the service's maintenance would have, running all along: a slice per hour as each one settled.
  const open = (await partitionStates(sql)).filter((p) => p.upper_bound.getTime() > anchorMs - CLOSED_GRACE_MS);
  t = performance.now();
  let sliceRows = 0;
  const moments: number[] = [];
  for (let now = Math.floor(anchorMs / HOUR_MS) * HOUR_MS - 48 * HOUR_MS + SLICE_SETTLE_MS; now < anchorMs; now += HOUR_MS) moments.push(now);
  for (const now of [...moments, anchorMs]) {
    const step = nextSearchIndexStep(open, await slicesOf(sql), now, true);
    if (step?.kind !== "slice") continue;
    await takeSearchIndexStep(sql, sql, step);
    const [n] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM events WHERE ts >= ${step.lo} AND ts < ${step.hi}`;
    sliceRows += Number(n!.n);
  }
  const sliceSeconds = (performance.now() - t) / 1000;
  const sliceBytes = await bytes("events%search_20%");
  if (sliceRows > 0) log(`search slices of the open partition: ${sliceRows} events, ${sliceSeconds.toFixed(1)} s, ${(sliceBytes / 2 ** 20).toFixed(0)} MiB`);
  return {
    searchIndexes: { partitions: closed.length, seconds, bytes: fullBytes, rows: closed.reduce((n, p) => n + Number(p.rows), 0) },
    searchSlices: { seconds: sliceSeconds, bytes: sliceBytes, rows: sliceRows },
  };
}

/** Fill through the real code path: POST /ingest, 10k-event batches, 8 clients. */
export async function fillWithHttp(url: string, keys: { big: string; small: string }, rows: number, anchorMs: number) {
  const batch = 10_000;
  let remaining = rows;
  let done = 0;
  let lastLog = performance.now();
  const one = async (): Promise<void> => {
    while (remaining > 0) {
      const n = Math.min(batch, remaining);
      remaining -= n;
      const small = Math.random() < 0.05;
      const events = makeEvents(n, anchorMs, SPAN_MS);
      const res = await post(`${url}/ingest`, headersFor(small ? keys.small : keys.big), batchBody(events), 120_000);
      if (res.status !== 200) throw new Error(`fill: /ingest answered ${res.status}: ${res.error ?? res.text.slice(0, 300)}`);
      done += n;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`events ${done.toLocaleString("en")} / ${rows.toLocaleString("en")}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
}

export interface Consistency {
  events: number;
  byTenant: Record<string, number>;
  /** Per count table: the sum of its counts, and the (tenant, slot, type, service, level) groups that differ from the events. */
  levels: Record<string, { sum: number; mismatches: number }>;
  ok: boolean;
}

/** The slot of an event's `ts` at a count level, aligned to the epoch like the store's. */
function slotOf(sql: Db, level: CountLevel) {
  return sql`date_bin(${`${level.unitMs} milliseconds`}::interval, ts, timestamptz '1970-01-01 00:00:00+00')`;
}

/** Checks that the count tables agree with the events, group by group. */
export async function checkConsistency(sql: Sql, schema: string): Promise<Consistency> {
  return sql.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL search_path = ${schema}`);
    const tenants = await tx<{ tenant_id: string; n: string }[]>`SELECT tenant_id, count(*) AS n FROM events GROUP BY 1`;
    const byTenant = Object.fromEntries(tenants.map((t) => [t.tenant_id, Number(t.n)]));
    const events = Object.values(byTenant).reduce((a, b) => a + b, 0);
    const levels: Consistency["levels"] = {};
    for (const level of COUNT_LEVELS) {
      const [row] = await tx<{ sum: string | null; mismatches: string }[]>`
        SELECT
          (SELECT sum(count) FROM ${tx(level.table)}) AS sum,
          (SELECT count(*) FROM (
             SELECT tenant_id, ${slotOf(tx, level)} AS ${tx(level.column)}, event_type, service_name, count_level AS level, count(*) AS count
             FROM events GROUP BY 1, 2, 3, 4, 5
           ) e FULL JOIN (
             SELECT tenant_id, ${tx(level.column)}, event_type, service_name, level, sum(count) AS count
             FROM ${tx(level.table)} GROUP BY 1, 2, 3, 4, 5
           ) c USING (tenant_id, ${tx(level.column)}, event_type, service_name, level)
           WHERE e.count IS DISTINCT FROM c.count) AS mismatches`;
      levels[level.table] = { sum: Number(row?.sum ?? 0), mismatches: Number(row?.mismatches ?? 0) };
    }
    const ok = Object.values(levels).every((l) => l.sum === events && l.mismatches === 0);
    return { events, byTenant, levels, ok };
  });
}

export { writeFillMeta, FILL_VERSION };
