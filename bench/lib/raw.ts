import postgres, { type Sql } from "postgres";
import { insertAndCount, insertEvents, type EventColumns } from "../../src/storage/write-sql";
import { makeEvents } from "./data";
import { runLoad, type LoadResult } from "./load";

/**
 * The ceiling: the same transaction the store runs for one 1000-event batch
 * (postgres-store.ts writeEvents → inTenantStatement(insertAndCount)), sent
 * straight through postgres.js with no HTTP, parsing or validation in front:
 *   BEGIN; then pipelined: set_config('app.tenant_id'[, 'role' → tv_app, so row-level security applies as in the server])
 *   and WITH inserted AS (INSERT … SELECT FROM unnest(5 arrays) ON CONFLICT DO NOTHING RETURNING …),
 *   [minute, 5-minute and hour count upserts from `inserted`] SELECT event_id FROM inserted; COMMIT
 * Rows are sorted by id, as the store does. The statements are the store's
 * own (src/storage/write-sql.ts).
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

type Template = Omit<EventColumns, "ids">;

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
    };
  });
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
            const settings = (
              options.appRole
                ? tx`SELECT set_config('app.tenant_id', ${options.tenantId}, true), set_config('role', ${options.appRole}, true)`
                : tx`SELECT set_config('app.tenant_id', ${options.tenantId}, true)`
            ).execute();
            const columns = { ids, ...t };
            const write = options.withCounts ? insertAndCount(tx, options.tenantId, columns) : insertEvents(tx, options.tenantId, columns);
            const [, inserted] = await Promise.all([settings, write]);
            return inserted.length;
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
