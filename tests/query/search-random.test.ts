/**
 * Search inside events against a brute force: a varied corpus is ingested,
 * then random queries (free text, field conditions, field groupBy, pages,
 * cursors, intervals) are answered by the service and by a plain filter over
 * what was sent, written here from the contract, and compared exactly; live
 * tail's matcher (which filters events in the process) must agree too.
 */
import { expect, test } from "bun:test";
import { ownerClient, runMaintenance } from "../../src/storage/maintenance";
import { HOUR, postJson, serviceUrl, testConfig, type StoreHandle, type TestApp } from "../support/harness";
import { describeOnStores } from "../support/store-suite";
import { searchTerms } from "../../src/query/search.schemas";
import { eventMatcher } from "../../src/tail/matcher";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Payload = { [key: string]: Json };
interface SentEvent {
  eventId: string;
  eventType: "log" | "metric" | "trace";
  serviceName: string;
  timestamp: string;
  payload: Payload;
}
type Condition = { field: string; op: string; value?: Json };
interface Search {
  terms: string[];
  where: Condition[];
  window: { startTime: string; endTime: string };
  serviceName?: string;
  eventType?: SentEvent["eventType"];
}

/** A small PRNG, so a failing run can be repeated from the seed it prints. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  return { next, pick, int: (n: number) => Math.floor(next() * n) };
}

// Words with LIKE wildcards, escapes, regex metacharacters, case and letters past ASCII.
const WORDS = [
  "timeout", "Timeout", "TIMEOUT", "payment", "declined", "disk", "full", "50%", "off", "a_b", "back\\slash", "star*",
  "(paren)", "dot.ted", "naïve", "ÉCOLE", "Straße", "日本語", "deadlock", "retry", "ok",
];
const LEVELS: Json[] = ["error", "warn", "info", "debug", 3, null];
const ROUTES = ["/api/checkout", "/api/cart", "/api/c", "/health", "/API/Checkout"];

function makeCorpus(r: ReturnType<typeof prng>, base: number, count: number): SentEvent[] {
  const events: SentEvent[] = [];
  for (let i = 0; i < count; i++) {
    const payload: Payload = {};
    const words = Array.from({ length: 1 + r.int(4) }, () => r.pick(WORDS));
    payload.msg = words.join(" ");
    const level = r.next();
    // Levels that are objects or arrays only in the first hour: windows after it are served by the count tables.
    if (level < 0.75) payload.level = r.pick(LEVELS);
    else if (level < 0.85 && i % 5 === 0) payload.level = r.pick([{ code: "E1" }, ["error", "warn"], [3]]);
    if (r.next() < 0.7) {
      payload.http = { status: r.pick([200, 200, 404, 500, "500", 503]), route: r.pick(ROUTES) };
    }
    if (r.next() < 0.4) payload.tags = Array.from({ length: 1 + r.int(3) }, () => r.pick(["a", "b", "c", "Timeout"]));
    if (r.next() < 0.3) payload.items = Array.from({ length: 1 + r.int(2) }, () => ({ sku: r.pick(["x", "y", "z"]), qty: r.int(5) }));
    if (r.next() < 0.8) payload.duration_ms = Math.round(r.next() * 20_000) / 100;
    if (r.next() < 0.5) payload.user = { id: r.int(150), name: r.pick(["ann", "Bob", "cy", ""]) };
    if (r.next() < 0.3) payload.flag = r.next() < 0.5;
    if (r.next() < 0.2) payload.nested = { deep: { er: r.pick(["disk full", "ok", "Off by one"]) } };
    const hasObjectLevel = typeof payload.level === "object" && payload.level !== null;
    const offset = hasObjectLevel ? r.int(HOUR) : r.int(4 * HOUR);
    // Some events share a timestamp, so ties are ordered by eventId.
    const ts = i % 7 === 3 && events.length ? events.at(-1)!.timestamp : new Date(base + offset).toISOString();
    events.push({
      eventId: `e-${String(i).padStart(4, "0")}-${r.pick(["A", "b", "%", "_"])}`,
      eventType: r.pick(["log", "log", "metric", "trace"] as const),
      serviceName: r.pick(["checkout", "cart", "auth"]),
      timestamp: ts,
      payload,
    });
  }
  return events;
}

// ---- the contract, written out as a filter over what was sent ----------------

function strings(value: Json, into: string[] = []): string[] {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, into);
  else if (value !== null && typeof value === "object") for (const key of Object.keys(value)) strings(value[key]!, into);
  return into;
}

function matchesTerms(e: SentEvent, terms: string[]): boolean {
  const texts = [...strings(e.payload), e.eventId].map((s) => s.toLowerCase());
  return terms.every((t) => texts.some((s) => s.includes(t.toLowerCase())));
}

/** What a dot path reaches; arrays on the way are looked into (each element). */
function reached(payload: Payload, field: string): Json[] {
  let items: Json[] = [payload];
  for (const key of field.split(".")) {
    const next: Json[] = [];
    for (const item of items) {
      for (const candidate of Array.isArray(item) ? item : [item]) {
        if (candidate !== null && typeof candidate === "object" && !Array.isArray(candidate) && Object.hasOwn(candidate, key)) {
          next.push(candidate[key]!);
        }
      }
    }
    items = next;
  }
  return items;
}

function codePointCompare(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function holds(e: SentEvent, c: Condition): boolean {
  const values = reached(e.payload, c.field);
  if (c.op === "exists") return values.length > 0;
  if (c.op === "neq") return !holds(e, { ...c, op: "eq" });
  const scalars = values.flatMap((v) => (Array.isArray(v) ? v : [v]));
  const test = (v: Json): boolean => {
    switch (c.op) {
      case "eq":
        return v === c.value;
      case "in":
        return (c.value as Json[]).some((w) => v === w);
      case "contains":
        return typeof v === "string" && v.toLowerCase().includes((c.value as string).toLowerCase());
      default: {
        let order: number;
        if (typeof v === "number" && typeof c.value === "number") order = v - c.value;
        else if (typeof v === "string" && typeof c.value === "string") order = codePointCompare(v, c.value);
        else return false;
        return { gt: order > 0, gte: order >= 0, lt: order < 0, lte: order <= 0 }[c.op as "gt"]!;
      }
    }
  };
  return scalars.some(test);
}

function matching(events: SentEvent[], s: Search): SentEvent[] {
  return events
    .filter(
      (e) =>
        e.timestamp >= s.window.startTime &&
        e.timestamp <= s.window.endTime &&
        (!s.serviceName || e.serviceName === s.serviceName) &&
        (!s.eventType || e.eventType === s.eventType) &&
        matchesTerms(e, s.terms) &&
        s.where.every((c) => holds(e, c)),
    )
    .sort((x, y) => (x.timestamp !== y.timestamp ? (x.timestamp < y.timestamp ? 1 : -1) : x.eventId < y.eventId ? 1 : -1));
}

/** A field's group key: the first value its path reaches, when a string, number or boolean. */
function groupKey(e: SentEvent, field: string): Json {
  const first = reached(e.payload, field)[0];
  return typeof first === "string" || typeof first === "number" || typeof first === "boolean" ? first : null;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

// ---- random searches ----------------------------------------------------------

const CONDITIONS: Condition[] = [
  { field: "level", op: "eq", value: "error" },
  { field: "level", op: "in", value: ["error", "warn"] },
  { field: "level", op: "eq", value: 3 },
  { field: "level", op: "eq", value: null },
  { field: "level", op: "neq", value: "info" },
  { field: "level", op: "exists" },
  { field: "http.status", op: "eq", value: 500 },
  { field: "http.status", op: "eq", value: "500" },
  { field: "http.status", op: "neq", value: 200 },
  { field: "http.status", op: "gte", value: 500 },
  { field: "http.status", op: "gt", value: "4" },
  { field: "http.route", op: "lt", value: "/api/c" },
  { field: "http.route", op: "lte", value: "/api/c" },
  { field: "http.route", op: "contains", value: "CHECK" },
  { field: "duration_ms", op: "gt", value: 100 },
  { field: "duration_ms", op: "lte", value: 50.5 },
  { field: "user.name", op: "exists" },
  { field: "user.name", op: "eq", value: "" },
  { field: "user.id", op: "in", value: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
  { field: "tags", op: "eq", value: "b" },
  { field: "tags", op: "contains", value: "out" },
  { field: "items.sku", op: "eq", value: "x" },
  { field: "items.qty", op: "gte", value: 3 },
  { field: "flag", op: "eq", value: false },
  { field: "nested.deep.er", op: "contains", value: "off" },
  { field: "msg", op: "contains", value: "50%" },
  { field: "msg", op: "contains", value: "a_b" },
  { field: "missing.field", op: "neq", value: 1 },
];
const TERMS = ["timeout", "TIME", "50%", "%", "_", "a_b", "\\", "star*", "*", "(paren)", "dot.ted", "ÉCOLE", "école", "straße", "日本", "disk full", "e-00", "-a", "ok", "zzz-none"];
const GROUP_FIELDS = ["level", "http.status", "user.id", "tags", "items.sku", "user.name", "nested.deep.er"];

function randomSearch(r: ReturnType<typeof prng>, base: number): Search {
  const window =
    r.next() < 0.3
      ? { startTime: new Date(base - HOUR).toISOString(), endTime: new Date(base + 5 * HOUR).toISOString() }
      : (() => {
          // Often after the first hour, where the count tables can serve level conditions.
          const from = base + (r.next() < 0.5 ? HOUR + r.int(HOUR) : r.int(2 * HOUR));
          return { startTime: new Date(from).toISOString(), endTime: new Date(from + r.int(3 * HOUR)).toISOString() };
        })();
  const terms = Array.from({ length: r.int(3) }, () => r.pick(TERMS));
  const where = r.next() < 0.35 ? [] : Array.from({ length: 1 + r.int(2) }, () => r.pick(CONDITIONS));
  return {
    terms,
    where,
    window,
    ...(r.next() < 0.2 ? { serviceName: r.pick(["checkout", "cart", "auth"]) } : {}),
    ...(r.next() < 0.2 ? { eventType: r.pick(["log", "metric", "trace"] as const) } : {}),
  };
}

function body(s: Search) {
  const q = s.terms.map((t) => (/\s/.test(t) ? `"${t}"` : t)).join("  ");
  return {
    ...s.window,
    ...(s.serviceName ? { serviceName: s.serviceName } : {}),
    ...(s.eventType ? { eventType: s.eventType } : {}),
    ...(q ? { q } : {}),
    ...(s.where.length ? { where: s.where } : {}),
  };
}

/**
 * The search indexes maintenance builds by `now` (as the tables' owner): the
 * full index of every partition closed by then, and a slice of the open
 * partition's settled hours. At base + 3 h 15 min (4 h 15 min when a 6-hour
 * partition starts at base + 3 h, else it would have no settled hour yet)
 * the slice holds a whole hour of the corpus, the hour after stays
 * unindexed, and at some hours of the day the first hours lie in a closed
 * partition: searches read all three.
 */
function maintenanceTime(base: number): number {
  const opensThen = (base + 3 * HOUR) % (6 * HOUR) === 0;
  return base + (opensThen ? 4 : 3) * HOUR + 15 * 60_000;
}

async function indexAsMaintenanceWould(handle: StoreHandle, now: number) {
  const [row] = await handle.sql<{ schema: string }[]>`SELECT current_schema() AS schema`;
  const owner = ownerClient(testConfig({ DATABASE_URL: serviceUrl("TEST_DATABASE_URL")!, DB_SCHEMA: row!.schema }));
  let slices = 0;
  try {
    for (let run = 0; run < 60; run++) {
      const report = await runMaintenance({
        sql: handle.store.sql, appRole: handle.store.appRole, partitionHours: 6, now: () => now, owner,
        retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map() },
      });
      slices += report.slicesIndexed;
      if (!report.more && report.partitionsIndexed === 0 && report.slicesIndexed === 0) break;
    }
  } finally {
    await owner?.end();
  }
  expect(slices).toBeGreaterThan(0);
}

async function ask(app: TestApp, key: string, request: unknown) {
  const res = await postJson(app, "/query", request, key);
  const answer = (await res.json()) as any;
  if (res.status !== 200) throw new Error(`${res.status} for ${JSON.stringify(request)}: ${JSON.stringify(answer)}`);
  return answer;
}

// Free text takes one of two ways (storage/search-keys.ts): by the keys of few matches, or by walking the
// window with many. The second run makes nearly every search take the second.
for (const [label, env] of [["", {}], [", free text walked (DB_SEARCH_SELECTIVE_KEYS=2)", { DB_SEARCH_SELECTIVE_KEYS: "2" }]] as const) {
describeOnStores(`search inside events${label}`, (suite) => {
  test("random q, where and field groupBy with pages, cursors and intervals equal a brute-force filter", async () => {
    const seed = Number(process.env.SEARCH_SEED ?? Date.now() % 1_000_000);
    console.log(`search-random seed ${seed} (SEARCH_SEED=${seed} repeats it)`);
    const r = prng(seed);
    const { app, a, b } = suite.fresh();
    const base = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
    const corpus = makeCorpus(r, base, 700);
    // Another tenant's events match every search too, and must never show.
    const foreign = makeCorpus(prng(seed + 1), base, 100).map((e) => ({ ...e, eventId: `b-${e.eventId}` }));
    expect((await postJson(app, "/ingest", corpus, a.key)).status).toBe(200);
    expect((await postJson(app, "/ingest", foreign, b.key)).status).toBe(200);
    if (suite.handle.store.kind === "postgres") await indexAsMaintenanceWould(suite.handle, maintenanceTime(base));

    for (let round = 0; round < 40; round++) {
      const search = randomSearch(r, base);
      const expected = matching(corpus, search);
      const context = `seed ${seed} round ${round}: ${JSON.stringify(body(search))}`;

      // Live tails test events in the process, with the same semantics.
      const matches = eventMatcher({ serviceName: search.serviceName, eventType: search.eventType, terms: searchTerms(body(search).q), where: search.where as never });
      const window = (e: SentEvent) => e.timestamp >= search.window.startTime && e.timestamp <= search.window.endTime;
      expect(corpus.filter((e) => window(e) && matches({ ...e, receivedAt: "" })).map((e) => e.eventId).sort(), context).toEqual(expected.map((e) => e.eventId).sort());

      // Walk every page by cursor.
      const limit = 1 + r.int(60);
      const seen: string[] = [];
      let answer = await ask(app, a.key, { ...body(search), limit });
      expect(answer.pagination.total, context).toBe(expected.length);
      for (;;) {
        seen.push(...answer.data.map((e: any) => e.eventId));
        if (!answer.nextCursor) break;
        // Resending the first body with the cursor is allowed.
        answer = await ask(app, a.key, { ...body(search), cursor: answer.nextCursor });
      }
      expect(seen, context).toEqual(expected.map((e) => e.eventId));

      // An offset page, with its payloads as sent.
      const page = 1 + r.int(3);
      const paged = await ask(app, a.key, { ...body(search), limit, page });
      const slice = expected.slice((page - 1) * limit, page * limit);
      expect(paged.data.map((e: any) => [e.eventId, e.payload]), context).toEqual(slice.map((e) => [e.eventId, e.payload]));
      expect(paged.pagination.hasNext, context).toBe(expected.length > page * limit);

      // Counts per value of a field, then as series.
      const field = r.pick(GROUP_FIELDS);
      const groups = await ask(app, a.key, { ...body(search), groupBy: `field:${field}` });
      expectGroups(groups, expected, field, context);
      const interval = r.pick(["1m", "5m", "1h"] as const);
      const series = await ask(app, a.key, { ...body(search), groupBy: `field:${field}`, interval });
      expectSeries(series, expected, field, { "1m": 60_000, "5m": 300_000, "1h": HOUR }[interval], context);
    }
  }, 120_000);
}, { env });
}

function expectGroups(answer: any, expected: SentEvent[], field: string, context: string) {
  expect(answer.total, context).toBe(expected.length);
  const counts = countBy(expected, (e) => JSON.stringify(groupKey(e, field)));
  const listed = answer.data.filter((d: any) => !d.other);
  const other = answer.data.filter((d: any) => d.other);
  if (counts.size <= 100) {
    expect(other, context).toEqual([]);
    expect(new Map(listed.map((d: any) => [JSON.stringify(d.key), d.count])), context).toEqual(counts);
  } else {
    // The top 100 by count, each exact, and the rest in one entry.
    expect(listed.length, context).toBe(100);
    for (const d of listed) expect(d.count, context).toBe(counts.get(JSON.stringify(d.key)));
    const top = [...counts.values()].sort((x, y) => y - x).slice(0, 100);
    expect(listed.map((d: any) => d.count), context).toEqual(top);
    expect(other, context).toEqual([{ key: null, other: true, count: expected.length - top.reduce((s, n) => s + n, 0) }]);
  }
  const order = listed.map((d: any) => d.count);
  expect(order, context).toEqual([...order].sort((x, y) => y - x));
}

function expectSeries(answer: any, expected: SentEvent[], field: string, widthMs: number, context: string) {
  expect(answer.total, context).toBe(expected.length);
  const bucketOf = (e: SentEvent) => new Date(Math.floor(Date.parse(e.timestamp) / widthMs) * widthMs).toISOString();
  const keys = new Set(countBy(expected, (e) => JSON.stringify(groupKey(e, field))).keys());
  if (keys.size <= 100) {
    const want = countBy(expected, (e) => `${bucketOf(e)} ${JSON.stringify(groupKey(e, field))}`);
    expect(new Map(answer.data.map((d: any) => [`${d.bucket} ${JSON.stringify(d.key)}`, d.count])), context).toEqual(want);
  } else {
    const want = countBy(expected, bucketOf);
    const got = new Map<string, number>();
    for (const d of answer.data) got.set(d.bucket, (got.get(d.bucket) ?? 0) + d.count);
    expect(got, context).toEqual(want);
  }
  const buckets = answer.data.map((d: any) => d.bucket);
  expect(buckets, context).toEqual([...buckets].sort());
}
