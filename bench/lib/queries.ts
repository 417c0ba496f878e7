import type { Sql } from "postgres";
import { COMMON_WORD, RARE_WORD } from "./data";
import { BIG_TENANT, SMALL_TENANT } from "./fill";
import { headersFor } from "./http-ingest";
import { post } from "./load";
import { Samples, summarize, type LatencySummary } from "./stats";

/**
 * Latency of POST /query per shape, one client, sequential requests: the
 * latency one dashboard user sees. Every shape's first answer is checked
 * against a direct SQL count of the same window (totals must be exact), and
 * the cursor page is checked against the offset page at the same depth.
 */
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface QueryShape {
  name: string;
  tenant: "big" | "small";
  body: Record<string, unknown>;
  /** GET this path instead of POST /query with the body. */
  get?: string;
  /** Window and filters for the SQL check; `sql`: a further condition, written independently of the service's. */
  check: { startMs: number; endMs: number; eventType?: string; serviceName?: string; sql?: string };
  /** p95 target, ms (default TARGET_MS). */
  targetMs?: number;
}

/** The first contract's p95 target for every shape without its own. */
export const TARGET_MS = 20;

export interface QueryResult {
  name: string;
  targetMs: number;
  samples: number;
  latencyMs: LatencySummary;
  /** Matching events per the API (pagination.total or sum of counts). */
  total?: number;
  /** Same per direct SQL count. */
  expectedTotal?: number;
  /** Items in `data`. */
  items?: number;
  ok: boolean;
  problems: string[];
}

export function iso(ms: number) {
  return new Date(ms).toISOString();
}

/** Search inside events (what an on-call engineer asks first); targets from the search contract. */
export function searchShapes(anchorMs: number, traceId: string): QueryShape[] {
  const end = anchorMs;
  const w = (ms: number) => ({ startTime: iso(end - ms), endTime: iso(end) });
  const c = (ms: number, sql?: string) => ({ startMs: end - ms, endMs: end, ...(sql ? { sql } : {}) });
  const everyTime = { startMs: 0, endMs: 253402300799999 };
  return [
    { name: "GET /traces/{id}", tenant: "big", body: {}, get: `/traces/${traceId}`, check: { ...everyTime, sql: `trace_id = '${traceId}'` }, targetMs: 10 },
    {
      name: "where level=error, 24h, page 1 + total", tenant: "big", targetMs: 50,
      body: { ...w(DAY), limit: 100, where: [{ field: "level", op: "eq", value: "error" }] }, check: c(DAY, `payload->>'level' = 'error'`),
    },
    {
      name: `q ${RARE_WORD} (rare), 7d, page 1`, tenant: "big", targetMs: 100,
      body: { ...w(7 * DAY), limit: 100, q: RARE_WORD, total: "none" }, check: c(7 * DAY, `payload->>'message' LIKE '%${RARE_WORD}%'`),
    },
    {
      name: `q ${COMMON_WORD} (common), 24h, page 1`, tenant: "big", targetMs: 100,
      body: { ...w(DAY), limit: 100, q: COMMON_WORD, total: "none" }, check: c(DAY, `payload->>'message' LIKE '%${COMMON_WORD}%'`),
    },
    {
      name: `q ${COMMON_WORD}, 24h, exact total`, tenant: "big", targetMs: 500,
      body: { ...w(DAY), limit: 100, q: COMMON_WORD }, check: c(DAY, `payload->>'message' LIKE '%${COMMON_WORD}%'`),
    },
    {
      name: "where http.status=500, 24h, exact total", tenant: "big", targetMs: 500,
      body: { ...w(DAY), limit: 100, where: [{ field: "http.status", op: "eq", value: 500 }] }, check: c(DAY, `payload->'http'->'status' = '500'`),
    },
    { name: "groupBy field:level, 24h", tenant: "big", targetMs: 100, body: { ...w(DAY), groupBy: "field:level" }, check: c(DAY) },
    { name: "groupBy field:level, 5m, 24h", tenant: "big", targetMs: 100, body: { ...w(DAY), groupBy: "field:level", interval: "5m" }, check: c(DAY) },
  ];
}

export function queryShapes(anchorMs: number, deepPage: number, rareService: string): QueryShape[] {
  const end = anchorMs;
  const w = (ms: number) => ({ startTime: iso(end - ms), endTime: iso(end) });
  const c = (ms: number, extra: { eventType?: string; serviceName?: string } = {}) => ({ startMs: end - ms, endMs: end, ...extra });
  const shapes: QueryShape[] = [
    { name: "list 1h, page 1", tenant: "big", body: { ...w(HOUR), limit: 100 }, check: c(HOUR) },
    { name: "list 24h, page 1", tenant: "big", body: { ...w(DAY), limit: 100 }, check: c(DAY) },
    { name: "list 7d, page 1", tenant: "big", body: { ...w(7 * DAY), limit: 100 }, check: c(7 * DAY) },
    { name: `list 24h, page ${deepPage} (offset)`, tenant: "big", body: { ...w(DAY), limit: 100, page: deepPage }, check: c(DAY) },
    { name: `list 24h, page ${deepPage} (cursor)`, tenant: "big", body: {}, check: c(DAY) }, // body set after the walk
    { name: "list 24h, eventType=trace", tenant: "big", body: { ...w(DAY), limit: 100, eventType: "trace" }, check: c(DAY, { eventType: "trace" }) },
    { name: `list 24h, serviceName=${rareService}`, tenant: "big", body: { ...w(DAY), limit: 100, serviceName: rareService }, check: c(DAY, { serviceName: rareService }) },
    { name: "list 24h, small tenant", tenant: "small", body: { ...w(DAY), limit: 100 }, check: c(DAY) },
  ];
  for (const by of ["service", "eventType"] as const) {
    for (const [label, ms] of [["1h", HOUR], ["24h", DAY], ["7d", 7 * DAY]] as const) {
      shapes.push({ name: `groupBy ${by}, ${label}`, tenant: "big", body: { ...w(ms), groupBy: by }, check: c(ms) });
    }
  }
  shapes.push(
    { name: "interval 1h, 24h", tenant: "big", body: { ...w(DAY), interval: "1h" }, check: c(DAY) },
    { name: "interval 5m, 24h", tenant: "big", body: { ...w(DAY), interval: "5m" }, check: c(DAY) },
    { name: "interval 1h, 7d", tenant: "big", body: { ...w(7 * DAY), interval: "1h" }, check: c(7 * DAY) },
    { name: "interval 1d, 7d", tenant: "big", body: { ...w(7 * DAY), interval: "1d" }, check: c(7 * DAY) },
    { name: "interval 1h, 7d, groupBy service", tenant: "big", body: { ...w(7 * DAY), interval: "1h", groupBy: "service" }, check: c(7 * DAY) },
  );
  return shapes;
}

interface ListAnswer {
  data: { eventId: string; timestamp: string }[];
  pagination: { total: number | null; totalPages: number | null; page: number };
  nextCursor: string | null;
}

export async function runQueries(options: {
  url: string;
  keys: { big: string; small: string };
  sql: Sql;
  schema: string;
  anchorMs: number;
  rareService: string;
  samples: number;
  warmup: number;
  onProgress?: (line: string) => void;
  /** Only the shapes whose name this accepts (default: all). */
  only?: (name: string) => boolean;
}): Promise<{ results: QueryResult[]; deepPage: number; cursorDepthReached: number }> {
  const { url, keys, sql, schema, anchorMs } = options;
  const tenantOf = (t: "big" | "small") => (t === "big" ? BIG_TENANT : SMALL_TENANT);
  const send = (tenant: "big" | "small", body: Record<string, unknown>, get?: string) =>
    get ? getText(`${url}${get}`, headersFor(tenant === "big" ? keys.big : keys.small)) : post(`${url}/query`, headersFor(tenant === "big" ? keys.big : keys.small), JSON.stringify(body));
  const ask = async (tenant: "big" | "small", body: Record<string, unknown>, get?: string) => {
    const res = await send(tenant, body, get);
    if (res.status !== 200) throw new Error(`/query ${JSON.stringify(body).slice(0, 200)} answered ${res.status}: ${res.error ?? res.text.slice(0, 300)}`);
    return JSON.parse(res.text) as unknown;
  };

  // Depth for the deep pages: page 100 when the 24 h window has that many, else the last page.
  const first = (await ask("big", { startTime: iso(anchorMs - DAY), endTime: iso(anchorMs), limit: 100 })) as ListAnswer;
  const deepPage = Math.max(1, Math.min(100, first.pagination.totalPages ?? 1));
  let cursorAnswer = first;
  let cursor: string | null = null;
  let depth = 1;
  while (depth < deepPage && cursorAnswer.nextCursor) {
    cursor = cursorAnswer.nextCursor;
    cursorAnswer = (await ask("big", { cursor })) as ListAnswer;
    depth++;
  }

  const [trace] = await sql.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL search_path = ${schema}`);
    return tx<{ id: string }[]>`
      SELECT trace_id AS id FROM events
      WHERE tenant_id = ${BIG_TENANT} AND ts >= ${new Date(anchorMs - 3 * DAY)} AND trace_id IS NOT NULL
      ORDER BY ts LIMIT 1`;
  });
  const all = [...queryShapes(anchorMs, deepPage, options.rareService), ...(trace ? searchShapes(anchorMs, trace.id) : [])];
  const cursorShape = all.find((s) => s.name.includes("(cursor)"))!;
  cursorShape.body = cursor ? { cursor } : { ...all[1]!.body };
  const shapes = all.filter((s) => options.only?.(s.name) ?? true);

  const expectedCache = new Map<string, number>();
  const expectedCount = async (tenant: string, check: QueryShape["check"]) => {
    const key = JSON.stringify([tenant, check]);
    if (!expectedCache.has(key)) {
      const [row] = await sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL search_path = ${schema}`);
        return tx<{ n: string }[]>`
          SELECT count(*) AS n FROM events
          WHERE tenant_id = ${tenant} AND ts BETWEEN ${new Date(check.startMs)} AND ${new Date(check.endMs)}
          ${check.eventType ? tx`AND event_type = ${check.eventType}` : tx``}
          ${check.serviceName ? tx`AND service_name = ${check.serviceName}` : tx``}
          ${check.sql ? tx`AND ${tx.unsafe(check.sql)}` : tx``}`;
      });
      expectedCache.set(key, Number(row!.n));
    }
    return expectedCache.get(key)!;
  };

  // Check every shape once (first answer against SQL), then sample them
  // round-robin so bursts of outside load spread evenly over the shapes.
  let offsetDeepIds: string[] | undefined;
  const checked: { shape: QueryShape; headers: Record<string, string>; body: string; problems: string[]; total?: number; expectedTotal: number; items: number; latencies: Samples }[] = [];
  for (const shape of shapes) {
    const problems: string[] = [];
    const answer = (await ask(shape.tenant, shape.body, shape.get)) as Partial<ListAnswer> & { total?: number; data: unknown[] };
    const expectedTotal = await expectedCount(tenantOf(shape.tenant), shape.check);
    // A trace answers all its events; a page without a total shows only its rows.
    const total = shape.get ? answer.data.length : answer.pagination ? (answer.pagination.total ?? undefined) : answer.total;
    if (total !== undefined && total !== expectedTotal) problems.push(`total ${total} != SQL count ${expectedTotal}`);
    if (answer.pagination) {
      const rows = answer.data as ListAnswer["data"];
      const page = answer.pagination.page;
      const want = Math.max(0, Math.min(100, expectedTotal - (page - 1) * 100));
      if (rows.length !== want) problems.push(`page ${page} has ${rows.length} events, expected ${want}`);
      for (let i = 1; i < rows.length; i++) {
        const a = rows[i - 1]!, b = rows[i]!;
        if (a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.eventId < b.eventId)) {
          problems.push("events not newest first");
          break;
        }
      }
      if (shape.name.includes("(offset)")) offsetDeepIds = rows.map((r) => r.eventId);
      if (shape.name.includes("(cursor)") && offsetDeepIds && offsetDeepIds.join() !== rows.map((r) => r.eventId).join()) {
        problems.push("cursor page differs from the offset page at the same depth");
      }
    }
    checked.push({
      shape,
      headers: headersFor(shape.tenant === "big" ? keys.big : keys.small),
      body: JSON.stringify(shape.body),
      problems,
      total,
      expectedTotal,
      items: answer.data.length,
      latencies: new Samples(),
    });
  }

  // Floor: the same HTTP client and server runtime, no auth, no database.
  const floor = new Samples();
  for (let round = 0; round < options.warmup + options.samples; round++) {
    {
      const t = performance.now();
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      if (round >= options.warmup && res.ok) floor.push(performance.now() - t);
    }
    for (const c of checked) {
      if (c.problems.some((p) => p.startsWith("HTTP"))) continue;
      const t = performance.now();
      const res = c.shape.get ? await getText(`${url}${c.shape.get}`, c.headers) : await post(`${url}/query`, c.headers, c.body);
      const ms = performance.now() - t;
      if (res.status !== 200) {
        c.problems.push(`HTTP ${res.status}: ${res.error ?? res.text.slice(0, 200)}`);
        continue;
      }
      if (round >= options.warmup) c.latencies.push(ms);
    }
  }

  const results: QueryResult[] = [
    { name: "GET /health (floor: no auth, no DB)", targetMs: TARGET_MS, samples: floor.length, latencyMs: summarize(floor.values()), ok: true, problems: [] },
  ];
  results.push(...checked.map((c) => ({
    name: c.shape.name,
    targetMs: c.shape.targetMs ?? TARGET_MS,
    samples: c.latencies.length,
    latencyMs: summarize(c.latencies.values()),
    total: c.total,
    expectedTotal: c.expectedTotal,
    items: c.items,
    ok: c.problems.length === 0,
    problems: c.problems,
  })));
  for (const result of results) {
    options.onProgress?.(
      `${result.name.padEnd(40)} p50 ${result.latencyMs.p50.toFixed(1).padStart(7)} ms  p95 ${result.latencyMs.p95.toFixed(1).padStart(7)} ms${result.problems.length ? `  PROBLEM: ${result.problems.join("; ")}` : ""}`,
    );
  }
  return { results, deepPage, cursorDepthReached: depth };
}

async function getText(url: string, headers: Record<string, string>): Promise<{ status: number; text: string; error?: string }> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    return { status: 0, text: "", error: (error as Error).message };
  }
}
