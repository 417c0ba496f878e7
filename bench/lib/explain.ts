import type { Sql } from "postgres";
import { planCounts, type Range } from "../../src/storage/count-plan";
import { BIG_TENANT } from "./fill";

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the statements behind the slowest query
 * shapes, rebuilt with literal values (the server runs them with
 * plan_cache_mode=force_custom_plan, which plans with the actual values).
 * The SQL mirrors src/storage/postgres-store.ts findEvents / countRows and
 * src/storage/count-plan.ts; keep them in step.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const lit = (ms: number) => `'${new Date(ms).toISOString()}'::timestamptz`;
const str = (s: string) => `'${s.replaceAll("'", "''")}'`;

function filterSql(tenant: string, f: { eventType?: string; serviceName?: string }) {
  return `tenant_id = ${str(tenant)}${f.eventType ? ` AND event_type = ${str(f.eventType)}` : ""}${f.serviceName ? ` AND service_name = ${str(f.serviceName)}` : ""}`;
}

export function listSql(tenant: string, startMs: number, endMs: number, f: { eventType?: string; serviceName?: string }, limit: number, page: number) {
  return `SELECT event_id, event_type, service_name, ts, payload, received_at FROM events
WHERE ${filterSql(tenant, f)} AND ts BETWEEN ${lit(startMs)} AND ${lit(endMs)}
ORDER BY ts DESC, event_id DESC LIMIT ${limit} OFFSET ${(page - 1) * limit}`;
}

export function countSql(tenant: string, startMs: number, endMs: number, f: { eventType?: string; serviceName?: string }, by?: "service" | "eventType", bucketMinutes?: number) {
  const plan = planCounts(startMs, endMs, bucketMinutes ? bucketMinutes * 60_000 : Infinity);
  const key = by === "service" ? "service_name" : by === "eventType" ? "event_type" : "NULL::text";
  const bucket = (col: string) => (bucketMinutes ? `date_bin('${bucketMinutes} minutes'::interval, ${col}, timestamptz '1970-01-01 00:00:00+00')` : "NULL::timestamptz");
  const within = (col: string, ranges: Range[]) => ranges.map((r) => `(${col} >= ${lit(r.from)} AND ${col} < ${lit(r.to)})`).join(" OR ");
  const parts: string[] = [];
  if (plan.raw.length) parts.push(`SELECT ${bucket("ts")} AS bucket, ${key} AS key, count(*) AS n FROM events WHERE ${filterSql(tenant, f)} AND (${within("ts", plan.raw)}) GROUP BY 1, 2`);
  for (const { level, ranges } of plan.levels) {
    parts.push(`SELECT ${bucket(level.column)} AS bucket, ${key} AS key, sum(count) AS n FROM ${level.table} WHERE ${filterSql(tenant, f)} AND (${within(level.column, ranges)}) GROUP BY 1, 2`);
  }
  return `SELECT bucket, key, sum(n)::int8 AS count FROM (\n${parts.join("\nUNION ALL\n")}\n) AS parts GROUP BY bucket, key`;
}

export interface ExplainResult {
  name: string;
  sql: string;
  executionMs: number;
  planningMs: number;
  jit: boolean;
  plan: string;
}

export async function explainShapes(sql: Sql, schema: string, anchorMs: number, deepPage: number, rareService: string): Promise<ExplainResult[]> {
  const start24 = anchorMs - DAY;
  const cases: [string, string][] = [
    ["list 24h page 1 (events)", listSql(BIG_TENANT, start24, anchorMs, {}, 100, 1)],
    // Since a3cfbf3 the server seeks deep pages through the counts instead; this is the plain OFFSET it avoids.
    [`list 24h page ${deepPage}, plain OFFSET (reference)`, listSql(BIG_TENANT, start24, anchorMs, {}, 100, deepPage)],
    ["list 24h eventType=trace (events)", listSql(BIG_TENANT, start24, anchorMs, { eventType: "trace" }, 100, 1)],
    [`list 24h serviceName=${rareService} (events)`, listSql(BIG_TENANT, start24, anchorMs, { serviceName: rareService }, 100, 1)],
    ["list 24h (pagination total)", countSql(BIG_TENANT, start24, anchorMs, {})],
    ["list 7d (pagination total)", countSql(BIG_TENANT, anchorMs - 7 * DAY, anchorMs, {})],
    ["groupBy service 7d", countSql(BIG_TENANT, anchorMs - 7 * DAY, anchorMs, {}, "service")],
    ["interval 5m 24h", countSql(BIG_TENANT, start24, anchorMs, {}, undefined, 5)],
  ];
  const out: ExplainResult[] = [];
  for (const [name, text] of cases) {
    const rows = await sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL search_path = ${schema}`);
      // Warm the cache once so the plan shows steady-state timing, as the HTTP samples do.
      await tx.unsafe(text);
      return tx.unsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`);
    });
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    out.push({
      name,
      sql: text,
      executionMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? NaN),
      planningMs: Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1] ?? NaN),
      jit: /\nJIT:/.test(plan),
      plan,
    });
  }
  return out;
}
