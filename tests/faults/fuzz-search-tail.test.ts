/**
 * Fuzzing the doors the search, lifecycle and live-tail work opened, with
 * fast-check through app.request() on the real PostgreSQL store: /query's
 * `q`, `where`, `groupBy: "field:…"` and `total`; GET /traces/{traceId} with
 * its limit and tampered cursors; GET /tail's filters, token and
 * Last-Event-ID; POST /delete and GET /usage windows.
 *
 * Proves: every answer is a 200 or a 4xx with the contract's error, never a
 * 5xx or a hang; and afterwards the pool is idle and the store ready.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { buildApp, freshTenants, makeEvent, openPostgresTestStore, postJson, serviceUrl, type StoreHandle, type TestApp } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const HOUR = 3_600_000;
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

/** Strings a hostile client sends: LIKE and jsonpath metacharacters, escapes, NUL, lone surrogates, long ones. */
const hostileText = fc.oneof(
  fc.constantFrom("%", "_", "\\", "*", "'", '"', "$", "$.a", "a.b", "a\\.b", "a\\", "a..b", ".", "", "\u0000", "\ud800", "\udc00x", "x".repeat(600), "a.".repeat(20) + "a", "[*]", "like_regex", "@"),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 12 }),
);
const anyJson = fc.jsonValue({ maxDepth: 2 });
const condition = fc.record(
  {
    field: fc.oneof(fc.constantFrom("level", "http.status", "msg", "payload.i"), hostileText, anyJson),
    op: fc.oneof(fc.constantFrom("eq", "neq", "in", "exists", "gt", "gte", "lt", "lte", "contains"), fc.constantFrom("like", "", "EQ"), anyJson),
    value: fc.oneof(anyJson, hostileText, fc.array(fc.oneof(hostileText, fc.integer()), { maxLength: 120 }), fc.constantFrom(1e308, -0, 5e-324)),
  },
  { requiredKeys: [] },
);
const searchBody = fc.record(
  {
    startTime: fc.integer({ min: -48 * HOUR, max: 0 }).map((offset) => new Date(Date.now() + offset).toISOString()),
    q: fc.oneof(hostileText, fc.constantFrom("event", '"event 1"', "evt-000001", "svc")),
    where: fc.oneof(fc.array(condition, { maxLength: 12 }), anyJson),
    groupBy: fc.oneof(fc.constantFrom("field:level", "field:payload.i", "field:", "field:a\\"), hostileText.map((t) => `field:${t}`)),
    interval: fc.constantFrom("1m", "1h", "1d"),
    total: fc.oneof(fc.constantFrom("exact", "none"), anyJson),
    limit: fc.integer({ min: 1, max: 50 }),
  },
  { requiredKeys: [] },
);

/** As a URL carries it; a lone surrogate has no UTF-8, so it goes as the bytes of one (invalid UTF-8). */
const inUrl = (text: string) => (text.isWellFormed() ? encodeURIComponent(text) : "%ED%A0%80");

/** What a tamperer does to a real cursor: cut it, flip a character, change a field. */
function tamper(cursor: string): fc.Arbitrary<string> {
  const state = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  return fc.oneof(
    fc.integer({ min: 0, max: cursor.length - 1 }).map((at) => cursor.slice(0, at)),
    fc.tuple(fc.integer({ min: 0, max: cursor.length - 1 }), fc.constantFrom(..."AZaz09-_+/=!\u0000")).map(([at, ch]) => cursor.slice(0, at) + ch + cursor.slice(at + 1)),
    fc.tuple(fc.constantFrom(...Object.keys(state), "after"), anyJson).map(([key, value]) => Buffer.from(JSON.stringify({ ...state, [key]: value })).toString("base64url")),
  );
}

describe.skipIf(!databaseUrl)("fuzz: search, trace, tail and lifecycle doors on PostgreSQL", () => {
  let handle: StoreHandle;
  let app: TestApp;
  const tenants = freshTenants();
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
    app = buildApp(handle.store, tenants, { env: { TAIL_MAX_PER_TENANT: "10000" } });
    const events = Array.from({ length: 120 }, (_, i) =>
      makeEvent(i, {
        timestamp: new Date(Date.now() - ((i * 11 * 60_000) % (40 * HOUR)) - 60_000).toISOString(),
        payload: { i, msg: `event ${i} 100% _done_`, level: ["info", "error", 3, null][i % 4], http: { status: [200, 500, "500"][i % 3] }, traceId: i % 5 === 0 ? TRACE : undefined },
      }),
    );
    expect((await postJson(app, "/ingest", events, tenants.a.key)).status).toBe(200);
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  /** A 4xx must carry the contract's error; anything else must be a 200. */
  async function expectAnswered(res: Response): Promise<any> {
    const body = res.headers.get("content-type")?.includes("json") ? await res.json() : undefined;
    if (res.status !== 200) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof body?.error?.code).toBe("string");
    }
    return body;
  }

  async function expectIdle() {
    expect(handle.store.poolStats()).toEqual({ inUse: 0, waiting: 0 });
    expect((await app.request("/health/ready")).status).toBe(200);
  }

  test("/query with hostile q, where, groupBy field and total: 200 or 400; totals add up", async () => {
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(searchBody, async (body) => {
        const res = await postJson(app, "/query", body, tenants.a.key);
        const json = await expectAnswered(res);
        if (res.status !== 200) return expect(res.status).toBe(400);
        ok++;
        if (json.pagination) expect(json.data.length).toBeLessThanOrEqual(json.pagination.limit);
        else expect(json.total).toBe(json.data.reduce((sum: number, row: any) => sum + row.count, 0));
      }),
      { numRuns: RUNS, seed: 2027 },
    );
    expect(ok).toBeGreaterThan(RUNS / 20);
    await expectIdle();
  }, 120_000);

  test("GET /traces/{traceId}: hostile ids and limits, tampered cursors: 200 or 400", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileText, fc.constantFrom(TRACE, TRACE.toUpperCase())), fc.option(fc.oneof(fc.integer({ min: -2, max: 2000 }), hostileText), { nil: undefined }), async (id, limit) => {
        const query = limit === undefined ? "" : `?limit=${inUrl(String(limit))}`;
        const res = await app.request(`/traces/${inUrl(id)}${query}`, { headers: { "x-api-key": tenants.a.key } });
        await expectAnswered(res);
        expect([200, 400, 404]).toContain(res.status);
      }),
      { numRuns: RUNS, seed: 11 },
    );
    const first = (await (await app.request(`/traces/${TRACE}?limit=2`, { headers: { "x-api-key": tenants.a.key } })).json()) as any;
    expect(first.nextCursor).toBeString();
    await fc.assert(
      fc.asyncProperty(tamper(first.nextCursor), async (forged) => {
        const res = await app.request(`/traces/${TRACE}?cursor=${encodeURIComponent(forged)}`, { headers: { "x-api-key": tenants.a.key } });
        const json = await expectAnswered(res);
        if (res.status === 200) expect(json.data.length).toBeLessThanOrEqual(2);
        else expect(res.status).toBe(400);
      }),
      { numRuns: RUNS, seed: 12 },
    );
    await expectIdle();
  }, 120_000);

  test("GET /tail with hostile filters, tokens and Last-Event-ID: a stream or a 4xx, never a 5xx", async () => {
    const param = fc.option(fc.oneof(hostileText, fc.constantFrom("svc-1", "log", "event", '[{"field":"level","op":"eq","value":"error"}]', "[]", "{}", "null")), { nil: undefined });
    let streams = 0;
    await fc.assert(
      fc.asyncProperty(param, param, param, param, param, fc.option(fc.oneof(hostileText, fc.constantFrom("0-0/0", "1796169617734-0/0", "99999999999999999999-0/0")), { nil: undefined }), async (serviceName, eventType, q, where, token, lastEventId) => {
        const search = Object.entries({ serviceName, eventType, q, where, token })
          .flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${inUrl(value)}`]))
          .join("&");
        const headers: Record<string, string> = { "x-api-key": tenants.a.key };
        // A header carries bytes, without NUL or line breaks; anything else is the client's own error.
        if (lastEventId !== undefined && /^[\u0001-\u0009\u000b\u000c\u000e-\u00ff]*$/.test(lastEventId)) headers["last-event-id"] = lastEventId;
        const res = await app.request(`/tail?${search}`, { headers });
        if (res.status === 200) {
          streams++;
          expect(res.headers.get("content-type")).toContain("text/event-stream");
          await res.body?.cancel();
          return;
        }
        await expectAnswered(res);
      }),
      { numRuns: RUNS, seed: 13 },
    );
    expect(streams).toBeGreaterThan(0);
    // Cancelled streams give their connections back (a resume reads from the database).
    await Bun.sleep(100);
    await expectIdle();
  }, 120_000);

  test("POST /delete and GET /usage with hostile windows: 200 or 400, and nothing deleted outside the window", async () => {
    const instant = fc.oneof(
      fc.integer({ min: -72 * HOUR, max: HOUR }).map((offset) => new Date(Date.now() + offset).toISOString()),
      fc.constantFrom("0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "+275760-09-13T00:00:00.000Z", "garbage", "", "2026-02-30T00:00:00Z"),
      hostileText,
    );
    await fc.assert(
      fc.asyncProperty(fc.option(instant, { nil: undefined }), fc.option(instant, { nil: undefined }), async (startTime, endTime) => {
        const search = new URLSearchParams();
        if (startTime !== undefined) search.set("startTime", startTime);
        if (endTime !== undefined) search.set("endTime", endTime);
        const usage = await app.request(`/usage?${search}`, { headers: { "x-api-key": tenants.b.key } });
        await expectAnswered(usage);
        expect([200, 400]).toContain(usage.status);
        // Tenant b has no events: whatever window is accepted, nothing is there to delete.
        const deleted = await postJson(app, "/delete", { startTime, endTime, serviceName: "svc-1" }, tenants.b.key);
        const json = await expectAnswered(deleted);
        if (deleted.status === 200) expect(json).toEqual({ deleted: 0 });
        else expect(deleted.status).toBe(400);
      }),
      { numRuns: RUNS, seed: 14 },
    );
    const [row] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events_all WHERE tenant_id = ${tenants.a.tenant}`;
    expect(row?.n).toBe(120);
    await expectIdle();
  }, 120_000);
});
