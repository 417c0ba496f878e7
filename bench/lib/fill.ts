import type { Sql } from "postgres";
import { COUNT_LEVELS, type CountLevel } from "../../src/storage/count-plan";
import type { Db } from "../../src/storage/write-sql";
import { batchBody, makeEvents, PAYLOADS, SERVICES } from "./data";
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
const FILL_VERSION = 2; // 2: time-ordered rows (1 spread them randomly over the heap)

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

const log = (msg: string) => console.log(`  [fill] ${msg}`);

/**
 * Server-side fill: INSERT … SELECT generate_series in chunks with the
 * events indexes dropped (recreated from their own definitions afterwards,
 * whatever migrations made them), then the count tables built from the
 * events with the store's grouping (UTC minute / hour slots, epoch-aligned),
 * in time order as live ingest would have written them.
 */
export async function fillWithSql(sql: Sql, schema: string, rows: number, anchorMs: number) {
  await sql.unsafe(`SET search_path = ${schema}; SET maintenance_work_mem = '512MB'; SET synchronous_commit = off`);
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
  // Weighted picks in SQL matching data.ts: type 60/30/10, service index floor(8·u²).
  const services = `ARRAY[${SERVICES.map((s) => `'${s}'`).join(",")}]`;
  const payloads = `ARRAY[${PAYLOADS.map((p) => `'${p.replaceAll("'", "''")}'::jsonb`).join(",")}]`;
  const chunk = 500_000;
  await sql`SELECT setseed(0.42)`;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    await sql.unsafe(`
      INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload, received_at)
      SELECT CASE WHEN g % 20 = 0 THEN '${SMALL_TENANT}' ELSE '${BIG_TENANT}' END,
             md5(g::text || '-bench'),
             CASE WHEN u1 < 0.6 THEN 'log' WHEN u1 < 0.9 THEN 'metric' ELSE 'trace' END,
             (${services})[1 + least(7, floor(8 * u2 * u2)::int)],
             ts, (${payloads})[1 + g % ${PAYLOADS.length}], ts + interval '150 milliseconds'
      FROM (
        -- Time-ordered like live ingest (row g of n lands at anchor - span + g·span/n),
        -- with up to 5 s of jitter for events that arrive out of order; so the
        -- heap keeps the physical time locality a real table has.
        SELECT g, random() AS u1, random() AS u2,
               timestamptz 'epoch' + least(${anchorMs}::int8, ${anchorMs - SPAN_MS}::int8 + (g::int8 * ${SPAN_MS}) / ${rows} + floor(random() * 5000)::int8)::float8
                 * interval '1 millisecond' AS ts
        FROM generate_series(${from}, ${to}) AS g
      ) AS s`);
    log(`events ${to.toLocaleString("en")} / ${rows.toLocaleString("en")}`);
  }
  for (const ix of indexes) {
    if (ix.conname) await sql.unsafe(`ALTER TABLE events ADD CONSTRAINT ${ix.conname} ${ix.condef}`);
    else await sql.unsafe(ix.indexdef);
    log(`index ${ix.name} rebuilt`);
  }
  // The same slots as the store's upserts (sql/005_ingest_function.sql), one table per level.
  for (const level of COUNT_LEVELS) {
    await sql`
      INSERT INTO ${sql(level.table)} (tenant_id, ${sql(level.column)}, event_type, service_name, count)
      SELECT tenant_id, ${slotOf(sql, level)}, event_type, service_name, count(*)
      FROM events GROUP BY 1, 2, 3, 4 ORDER BY 2, 1, 3, 4`;
  }
  log("count tables built");
  await sql`RESET ALL`;
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
  /** Per count table: the sum of its counts, and the (tenant, slot, type, service) groups that differ from the events. */
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
             SELECT tenant_id, ${slotOf(tx, level)} AS ${tx(level.column)}, event_type, service_name, count(*) AS count
             FROM events GROUP BY 1, 2, 3, 4
           ) e FULL JOIN ${tx(level.table)} c USING (tenant_id, ${tx(level.column)}, event_type, service_name)
           WHERE e.count IS DISTINCT FROM c.count) AS mismatches`;
      levels[level.table] = { sum: Number(row?.sum ?? 0), mismatches: Number(row?.mismatches ?? 0) };
    }
    const ok = Object.values(levels).every((l) => l.sum === events && l.mismatches === 0);
    return { events, byTenant, levels, ok };
  });
}

export { writeFillMeta, FILL_VERSION };
