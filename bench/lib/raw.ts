import postgres, { type Sql, type TransactionSql } from "postgres";
import { makeEvents, type BenchEvent } from "./data";
import { runLoad, type LoadResult } from "./load";

/**
 * The ceiling: the same transaction the store runs for one 1000-event batch
 * (postgres-store.ts ingest → insertChunk → addToCounts), sent straight
 * through postgres.js with no HTTP, parsing or validation in front:
 *   BEGIN; set_config('app.tenant_id'[, 'role' → tv_app, so row-level security applies as in the server]);
 *   INSERT … SELECT FROM unnest(5 arrays)
 *   ON CONFLICT DO NOTHING RETURNING event_id; [minute and hour count upserts]; COMMIT
 * Rows are sorted by id and count keys sorted, as the store does.
 * Keep the SQL text in step with src/storage/postgres-store.ts.
 */
export const RAW_APPLICATION_NAME = "tv-bench-raw";

export function rawClient(databaseUrl: string, schema: string, max: number): Sql {
  return postgres(databaseUrl, {
    max,
    onnotice: () => {},
    connection: {
      application_name: RAW_APPLICATION_NAME,
      search_path: schema,
      synchronous_commit: "on",
      plan_cache_mode: "force_custom_plan",
    } as Record<string, string>,
  });
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface CountColumns {
  time: string[];
  type: string[];
  service: string[];
  count: number[];
}

/** Same grouping as addToCounts: floor(ts / unit), keys sorted. */
export function countColumns(events: BenchEvent[], unit: number): CountColumns {
  const counts = new Map<string, number>();
  for (const event of events) {
    const slot = Math.floor(Date.parse(event.timestamp) / unit) * unit;
    const key = `${new Date(slot).toISOString()}\u0000${event.eventType}\u0000${event.serviceName}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const keys = [...counts.keys()].sort();
  const parts = keys.map((k) => k.split("\u0000") as [string, string, string]);
  return { time: parts.map((p) => p[0]), type: parts.map((p) => p[1]), service: parts.map((p) => p[2]), count: keys.map((k) => counts.get(k)!) };
}

interface Template {
  types: string[];
  services: string[];
  timestamps: string[];
  payloads: string[];
  minute: CountColumns;
  hour: CountColumns;
}

/**
 * Batches share their non-id columns (a few templates built up front); ids
 * are fresh random UUIDs per batch, sorted like the store sorts rows.
 */
function makeTemplates(count: number, batch: number, spreadMs: number): Template[] {
  return Array.from({ length: count }, () => {
    const events = makeEvents(batch, Date.now(), spreadMs, []);
    return {
      types: events.map((e) => e.eventType),
      services: events.map((e) => e.serviceName),
      timestamps: events.map((e) => e.timestamp),
      payloads: events.map((e) => e.payloadJson),
      minute: countColumns(events, MINUTE),
      hour: countColumns(events, HOUR),
    };
  });
}

async function insertBatch(tx: TransactionSql, tenantId: string, ids: string[], t: Template): Promise<number> {
  const inserted = await tx<{ event_id: string }[]>`
      INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload)
      SELECT ${tenantId}, e.event_id, e.event_type, e.service_name, e.ts, e.payload::jsonb
      FROM unnest(
        ${ids}::text[],
        ${t.types}::text[],
        ${t.services}::text[],
        ${t.timestamps}::timestamptz[],
        ${t.payloads}::text[]
      ) AS e(event_id, event_type, service_name, ts, payload)
      ON CONFLICT (tenant_id, event_id) DO NOTHING
      RETURNING event_id`;
  return inserted.length;
}

async function addToCounts(tx: TransactionSql, tenantId: string, t: Template) {
  const m = t.minute;
  await tx`
          INSERT INTO event_counts_minute AS c (tenant_id, minute, event_type, service_name, count)
          SELECT ${tenantId}, r.slot, r.event_type, r.service_name, r.n
          FROM unnest(${m.time}::timestamptz[], ${m.type}::text[], ${m.service}::text[], ${m.count}::int8[])
            AS r(slot, event_type, service_name, n)
          ON CONFLICT (tenant_id, minute, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count`;
  const h = t.hour;
  await tx`
          INSERT INTO event_counts_hour AS c (tenant_id, hour, event_type, service_name, count)
          SELECT ${tenantId}, r.slot, r.event_type, r.service_name, r.n
          FROM unnest(${h.time}::timestamptz[], ${h.type}::text[], ${h.service}::text[], ${h.count}::int8[])
            AS r(slot, event_type, service_name, n)
          ON CONFLICT (tenant_id, hour, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count`;
}

export async function runRawCeiling(options: {
  databaseUrl: string;
  schema: string;
  tenantId: string;
  /** The role the server switches to per transaction (row-level security), when it can. */
  appRole?: string;
  connections: number;
  withCounts: boolean;
  batchSize: number;
  spreadMs: number;
  warmupMs: number;
  durationMs: number;
  onWindow?: (phase: "start" | "end") => void;
}): Promise<LoadResult & { insertedTotal: number }> {
  const sql = rawClient(options.databaseUrl, options.schema, options.connections);
  const templates = makeTemplates(16, options.batchSize, options.spreadMs);
  // Open every connection before timing.
  await Promise.all(Array.from({ length: options.connections }, () => sql`SELECT 1`));
  let next = 0;
  let insertedTotal = 0;
  try {
    const result = await runLoad({
      concurrency: options.connections,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      onWindow: options.onWindow,
      request: async () => {
        const t = templates[next++ % templates.length]!;
        const ids = Array.from({ length: options.batchSize }, () => crypto.randomUUID()).sort();
        try {
          const n = await sql.begin(async (tx) => {
            await (options.appRole
              ? tx`SELECT set_config('app.tenant_id', ${options.tenantId}, true), set_config('role', ${options.appRole}, true)`
              : tx`SELECT set_config('app.tenant_id', ${options.tenantId}, true)`);
            const inserted = await insertBatch(tx, options.tenantId, ids, t);
            if (options.withCounts && inserted > 0) await addToCounts(tx, options.tenantId, t);
            return inserted;
          });
          insertedTotal += n; // synchronous after the await: no lost update
          return { ok: n === ids.length, events: n, error: n === ids.length ? undefined : `inserted ${n} of ${ids.length}` };
        } catch (error) {
          return { ok: false, events: 0, error: (error as Error).message };
        }
      },
    });
    return { ...result, insertedTotal };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
