import postgres, { type Sql } from "postgres";
import { collectStrings, searchText, traceIdOf } from "../../src/events/search";
import { storedJsonBytes } from "../../src/events/stored-size";
import { ingestBatch, type EventColumns } from "../../src/storage/write-sql";
import { makeEvents } from "./data";
import { runLoad, type LoadResult } from "./load";

/**
 * The ceiling: the statement the store sends for one 1000-event batch
 * (event-writer.ts → write-sql.ts ingestBatch), straight
 * through postgres.js with no HTTP, parsing or validation in front:
 *   SELECT event_id FROM ingest_events(tenant, role, 6 arrays)
 * which enters the tenant (and the row-level-security role), inserts from
 * `unnest` ON CONFLICT DO NOTHING and upserts the minute, 5-minute and hour
 * counts, as one autocommit statement (sql/006_payload_size.sql).
 * "Events only" is the bare multi-row insert, without counts or role switch,
 * as the bench user: the floor of what any write of these rows costs. It
 * names no tenant, so it runs only for a user that bypasses row-level
 * security (bench.ts skips it otherwise).
 * Rows are sorted by id, as the store does.
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
      payloads: `[${events.map((e) => e.payloadJson).join(",")}]`,
      sizes: events.map((e) => storedJsonBytes(e.payloadJson)),
      // As the service computes them; the id part is a stand-in of a UUID's length.
      searchTexts: events.map((e) => searchText(collectStrings(JSON.parse(e.payloadJson)), crypto.randomUUID())),
      traceIds: events.map((e) => traceIdOf(JSON.parse(e.payloadJson))),
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
  try {
    return await loadBatches(sql, templates, options, (columns) =>
      options.withCounts
        ? ingestBatch(sql, options.tenantId, options.appRole, columns, columns.ids.length)
        : insertOnly(sql, options.tenantId, columns));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * `connections` clients each writing one batch after another (fresh sorted
 * ids on a template's columns) through `write`, which returns the rows it
 * inserted; a batch is ok when every row was.
 */
async function loadBatches(
  sql: Sql,
  templates: Template[],
  options: { connections: number; batchSize: number; warmupMs: number; durationMs: number; onWindow?: (phase: "start" | "end") => void },
  write: (columns: EventColumns, template: number) => PromiseLike<ArrayLike<unknown>>,
): Promise<LoadResult & { insertedTotal: number }> {
  // Open every connection before timing.
  await Promise.all(Array.from({ length: options.connections }, () => sql`SELECT 1`));
  let next = 0;
  let insertedTotal = 0;
  const result = await runLoad({
    concurrency: options.connections,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    onWindow: options.onWindow,
    request: async () => {
      const template = next++ % templates.length;
      const ids = Array.from({ length: options.batchSize }, () => crypto.randomUUID()).sort();
      try {
        const n = (await write({ ids, ...templates[template]! }, template)).length;
        insertedTotal += n; // synchronous after the await: no lost update
        return { ok: n === ids.length, events: n, error: n === ids.length ? undefined : `inserted ${n} of ${ids.length}` };
      } catch (error) {
        return { ok: false, events: 0, error: (error as Error).message };
      }
    },
  });
  return { ...result, insertedTotal };
}

function insertOnly(sql: Sql, tenantId: string, c: EventColumns) {
  return sql<{ event_id: string }[]>`
    INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id)
    SELECT ${tenantId}, e.event_id, e.event_type, e.service_name, e.ts, e.payload, e.payload_size, e.search_text, e.trace_id
    FROM ROWS FROM (
      unnest(${c.ids}::text[]), unnest(${c.types}::text[]), unnest(${c.services}::text[]),
      unnest(${c.timestamps}::text[]::timestamptz[]), jsonb_array_elements(${c.payloads}::text::jsonb),
      unnest(${c.sizes}::int4[]), unnest(${c.searchTexts}::text[]), unnest(${c.traceIds}::text[])
    ) AS e(event_id, event_type, service_name, ts, payload, payload_size, search_text, trace_id)
    ON CONFLICT (tenant_id, event_id, ts) DO NOTHING
    RETURNING event_id`;
}

/**
 * Writers of `keys` keys in transactions of their own, with no service in
 * front (group commit would merge them into one): `connections` clients each
 * send `batchSize` events of one tenant, service and type per statement.
 * With one key every statement adds to the same count rows; with as many
 * keys as connections, statements take the keys in turn, so writers at once
 * rarely share a row: what the same statements do when nothing is shared.
 * Sends the newest write statement the schema has: this revision's
 * (write-sql.ts), or, on a schema of a revision from before it, the
 * 7-argument `ingest_events` of sql/005, which that revision's service sent.
 */
export async function runRawKeys(options: {
  databaseUrl: string;
  schema: string;
  tenantId: string;
  appRole?: string;
  connections: number;
  keys: number;
  batchSize: number;
  warmupMs: number;
  durationMs: number;
  onWindow?: (phase: "start" | "end") => void;
}): Promise<LoadResult> {
  const sql = rawClient(options.databaseUrl, options.schema, options.connections);
  const keyOf = (template: number) => template % options.keys;
  const tenantOf = (template: number) => (options.keys === 1 ? options.tenantId : `${options.tenantId}-${keyOf(template)}`);
  const templates = makeTemplates(64, options.batchSize, 1000).map((t, template) => ({
    ...t,
    types: t.types.map(() => "log"),
    services: t.services.map(() => (options.keys === 1 ? "checkout" : `checkout-${keyOf(template)}`)),
  }));
  try {
    const [newest] = await sql<{ args: number }[]>`
      SELECT max(pronargs)::int AS args FROM pg_proc
      WHERE proname = 'ingest_events' AND pronamespace = ${options.schema}::regnamespace`;
    const current = newest!.args >= 11;
    return await loadBatches(sql, templates, options, (c, template) =>
      current
        ? ingestBatch(sql, tenantOf(template), options.appRole, c, c.ids.length)
        : sql`
            SELECT ingest_events(${tenantOf(template)}, ${options.appRole ?? null}, ${c.ids}::text[], ${c.types}::text[],
                                 ${c.services}::text[], ${c.timestamps}::timestamptz[], ${c.payloads}::text::jsonb)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
