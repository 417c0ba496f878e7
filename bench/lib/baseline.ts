import postgres, { type PendingQuery, type Row, type Sql } from "postgres";
import { BIG_TENANT } from "./fill";
import type { QueryResult } from "./queries";
import { summarize, type LatencySummary } from "./stats";

/**
 * The "before" of the query table: each query shape in its naive plain-SQL
 * form on the events table alone (no per-minute/per-hour count tables, deep
 * pages by plain OFFSET), sent straight through postgres.js on ONE
 * connection, on the same data set and in the same run as the POST /query
 * samples ("after").
 *
 * Every statement runs as the store runs one (postgres-store.ts
 * inTenantStatement): BEGIN, set_config('app.tenant_id') and
 * set_config('role', 'tv_app') (row-level security on) — or only the tenant
 * setting when the bench user cannot switch to tv_app — the statement and
 * COMMIT, pipelined in one round trip. The statements also carry the explicit
 * tenant_id filter, as the store's do. Connection settings as the server's
 * pool: prepared statements (postgres.js default) with
 * plan_cache_mode=force_custom_plan, so every execution is planned with its
 * actual values.
 *
 * A list answer is the page and its pagination total: the baseline runs the
 * page statement and `count(*)` one after the other on its connection and a
 * sample is their sum (both are also reported on their own).
 *
 * Naive 7-day aggregates over millions of rows take seconds, so each shape
 * has a time budget: sampling stops at --samples or once the budget is spent
 * with at least MIN_SAMPLES samples; the sample count is reported per shape.
 */
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const MIN_SAMPLES = 5;
export const BASELINE_APPLICATION_NAME = "tv-bench-baseline";

interface Step {
  name: string;
  run: (db: Sql) => PendingQuery<Row[]>;
  /** Problem with the first answer, if any. */
  check: (rows: Row[], serviceTotal: number | undefined) => string | undefined;
}

interface Shape {
  name: string;
  /** The plain SQL, in words, for the table. */
  sql: string;
  /** POST /query shapes (queries.ts names) answering the same question. */
  service: string[];
  steps: Step[];
}

export interface BaselineShapeResult {
  name: string;
  sql: string;
  service: string[];
  samples: number;
  warmups: number;
  /** Sum of the steps per sample. */
  latencyMs: LatencySummary;
  steps: { name: string; latencyMs: LatencySummary }[];
  ok: boolean;
  problems: string[];
}

export interface BaselineComparison {
  shape: string;
  baseline: string;
  baselineSamples: number;
  baselineMs: { p50: number; p95: number };
  serviceSamples: number;
  serviceMs: { p50: number; p95: number };
  speedup: { p50: number; p95: number };
}

export interface BaselineResult {
  mode: { appRole: string | null; prepared: boolean; planCacheMode: string; connections: 1; tenant: string; budgetSeconds: number; minSamples: number };
  shapes: BaselineShapeResult[];
  comparison: BaselineComparison[];
}

const sumOf = (rows: Row[]) => rows.reduce((s, r) => s + Number(r.n), 0);

function buildShapes(tenant: string, anchorMs: number, deepPage: number): Shape[] {
  const win = (ms: number) => ({ start: new Date(anchorMs - ms), end: new Date(anchorMs) });
  const where = (db: Sql, ms: number) => {
    const w = win(ms);
    return db`tenant_id = ${tenant} AND ts BETWEEN ${w.start} AND ${w.end}`;
  };
  const totalIs = (what: string, got: number, want: number | undefined) =>
    want !== undefined && got !== want ? `${what} ${got} != service total ${want}` : undefined;

  const rowsStep = (label: string, ms: number, offset: number): Step => ({
    name: offset ? `ORDER BY ts DESC, event_id DESC OFFSET ${offset} LIMIT 100` : "ORDER BY ts DESC, event_id DESC LIMIT 100",
    run: (db) => db`
      SELECT event_id, event_type, service_name, ts, payload, received_at FROM events
      WHERE ${where(db, ms)}
      ORDER BY ts DESC, event_id DESC LIMIT 100 ${offset ? db`OFFSET ${offset}` : db``}`,
    check: (rows, total) => {
      const want = total === undefined ? undefined : Math.max(0, Math.min(100, total - offset));
      return want !== undefined && rows.length !== want ? `${label}: ${rows.length} rows, expected ${want}` : undefined;
    },
  });
  const countStep = (ms: number): Step => ({
    name: "count(*)",
    run: (db) => db`SELECT count(*) AS n FROM events WHERE ${where(db, ms)}`,
    check: (rows, total) => totalIs("count(*)", sumOf(rows), total),
  });
  const groupStep = (column: "service_name" | "event_type", ms: number): Step => ({
    name: `GROUP BY ${column}`,
    run: (db) => db`SELECT ${db(column)} AS key, count(*) AS n FROM events WHERE ${where(db, ms)} GROUP BY 1`,
    check: (rows, total) => totalIs(`GROUP BY ${column} sum`, sumOf(rows), total),
  });
  const binStep = (interval: string, ms: number, by?: "service_name"): Step => ({
    name: `date_bin('${interval}')${by ? `, ${by}` : ""}`,
    run: (db) => db`
      SELECT date_bin(${interval}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
             ${by ? db(by) : db`NULL::text`} AS key, count(*) AS n
      FROM events WHERE ${where(db, ms)} GROUP BY 1, 2`,
    check: (rows, total) => totalIs(`date_bin('${interval}') sum`, sumOf(rows), total),
  });

  const windows = [["1h", HOUR], ["24h", DAY], ["7d", 7 * DAY]] as const;
  const shapes: Shape[] = windows.map(([label, ms]) => ({
    name: `list ${label}, page 1`,
    sql: "LIMIT 100 + count(*)",
    service: [`list ${label}, page 1`],
    steps: [rowsStep(`list ${label}`, ms, 0), countStep(ms)],
  }));
  shapes.push({
    name: `list 24h, page ${deepPage}`,
    sql: `OFFSET ${(deepPage - 1) * 100} LIMIT 100 + count(*)`,
    service: [`list 24h, page ${deepPage} (offset)`, `list 24h, page ${deepPage} (cursor)`],
    steps: [rowsStep(`list 24h page ${deepPage}`, DAY, (deepPage - 1) * 100), countStep(DAY)],
  });
  for (const [by, column] of [["service", "service_name"], ["eventType", "event_type"]] as const) {
    for (const [label, ms] of windows) {
      shapes.push({ name: `groupBy ${by}, ${label}`, sql: `GROUP BY ${column}`, service: [`groupBy ${by}, ${label}`], steps: [groupStep(column, ms)] });
    }
  }
  const bins: [string, string, string, number, boolean][] = [
    ["interval 1h, 24h", "1 hour", "24h", DAY, false],
    ["interval 5m, 24h", "5 minutes", "24h", DAY, false],
    ["interval 1h, 7d", "1 hour", "7d", 7 * DAY, false],
    ["interval 1d, 7d", "1 day", "7d", 7 * DAY, false],
    ["interval 1h, 7d, groupBy service", "1 hour", "7d", 7 * DAY, true],
  ];
  for (const [name, interval, , ms, byService] of bins) {
    shapes.push({
      name,
      sql: `date_bin('${interval}', ts)${byService ? ", service_name" : ""} GROUP BY`,
      service: [name],
      steps: [binStep(interval, ms, byService ? "service_name" : undefined)],
    });
  }
  return shapes;
}

export async function runBaseline(options: {
  databaseUrl: string;
  schema: string;
  appRole: string | undefined;
  anchorMs: number;
  deepPage: number;
  service: QueryResult[];
  samples: number;
  warmup: number;
  budgetSeconds: number;
  onProgress?: (line: string) => void;
}): Promise<BaselineResult> {
  const { appRole, samples, warmup } = options;
  const tenant = BIG_TENANT;
  const budgetMs = options.budgetSeconds * 1000;
  const minSamples = Math.min(MIN_SAMPLES, samples);
  const serviceByName = new Map(options.service.map((r) => [r.name, r]));
  const sql = postgres(options.databaseUrl, {
    max: 1,
    onnotice: () => {},
    connection: {
      application_name: BASELINE_APPLICATION_NAME,
      search_path: options.schema,
      plan_cache_mode: "force_custom_plan",
      statement_timeout: 300_000,
    } as Record<string, string | number>,
  });
  const shapes = buildShapes(tenant, options.anchorMs, options.deepPage).map((shape) => ({
    shape,
    warm: 0,
    warmMs: 0,
    spentMs: 0,
    checked: false,
    done: false,
    totals: [] as number[],
    perStep: shape.steps.map(() => [] as number[]),
    problems: [] as string[],
  }));
  const db = await sql.reserve();
  /** One statement as the store's inTenantStatement sends it: one round trip. */
  const statement = async (step: Step): Promise<{ ms: number; rows: Row[] }> => {
    const t = performance.now();
    const settings = appRole
      ? db`SELECT set_config('app.tenant_id', ${tenant}, true), set_config('role', ${appRole}, true)`
      : db`SELECT set_config('app.tenant_id', ${tenant}, true)`;
    const results = await Promise.all([db`BEGIN`, settings, step.run(db), db`COMMIT`].map((q) => q.execute()));
    const ms = performance.now() - t;
    return { ms, rows: results[2] as unknown as Row[] };
  };
  try {
    while (shapes.some((s) => !s.done)) {
      for (const s of shapes) {
        if (s.done) continue;
        const times: number[] = [];
        try {
          for (const step of s.shape.steps) {
            const { ms, rows } = await statement(step);
            times.push(ms);
            if (!s.checked) {
              const service = s.shape.service.map((n) => serviceByName.get(n)).find((r) => r);
              const problem = step.check(rows, service?.total ?? service?.expectedTotal);
              if (problem) s.problems.push(problem);
            }
          }
        } catch (error) {
          s.problems.push(`${(error as Error).message}`);
          s.done = true;
          continue;
        }
        s.checked = true;
        const total = times.reduce((a, b) => a + b, 0);
        if (s.warm < warmup && s.warmMs < budgetMs / 4) {
          s.warm++;
          s.warmMs += total;
          continue;
        }
        s.totals.push(total);
        times.forEach((ms, i) => s.perStep[i]!.push(ms));
        s.spentMs += total;
        if (s.totals.length >= samples || (s.spentMs >= budgetMs && s.totals.length >= minSamples)) s.done = true;
      }
    }
  } finally {
    db.release();
    await sql.end({ timeout: 5 });
  }

  const results: BaselineShapeResult[] = shapes.map((s) => ({
    name: s.shape.name,
    sql: s.shape.sql,
    service: s.shape.service,
    samples: s.totals.length,
    warmups: s.warm,
    latencyMs: summarize(s.totals),
    steps: s.shape.steps.map((step, i) => ({ name: step.name, latencyMs: summarize(s.perStep[i]!) })),
    ok: s.problems.length === 0,
    problems: s.problems,
  }));
  for (const r of results) {
    options.onProgress?.(
      `${r.name.padEnd(40)} p50 ${r.latencyMs.p50.toFixed(1).padStart(7)} ms  p95 ${r.latencyMs.p95.toFixed(1).padStart(7)} ms  (${r.samples} samples)` +
        `${r.problems.length ? `  PROBLEM: ${r.problems.join("; ")}` : ""}`,
    );
  }
  const order = new Map(options.service.map((r, i) => [r.name, i]));
  const comparison: BaselineComparison[] = [];
  for (const r of results) {
    for (const name of r.service) {
      const s = serviceByName.get(name);
      if (!s) continue;
      comparison.push({
        shape: name,
        baseline: r.sql,
        baselineSamples: r.samples,
        baselineMs: { p50: r.latencyMs.p50, p95: r.latencyMs.p95 },
        serviceSamples: s.samples,
        serviceMs: { p50: s.latencyMs.p50, p95: s.latencyMs.p95 },
        speedup: { p50: r.latencyMs.p50 / s.latencyMs.p50, p95: r.latencyMs.p95 / s.latencyMs.p95 },
      });
    }
  }
  comparison.sort((a, b) => order.get(a.shape)! - order.get(b.shape)!);
  return {
    mode: { appRole: appRole ?? null, prepared: true, planCacheMode: "force_custom_plan", connections: 1, tenant, budgetSeconds: options.budgetSeconds, minSamples },
    shapes: results,
    comparison,
  };
}
