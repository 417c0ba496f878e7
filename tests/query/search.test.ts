/**
 * Search inside events, case by case: what q, where and field groupBy
 * promise, what they refuse, deep pages, totals, and GET /traces/{traceId}.
 * search-random.test.ts compares random searches with a brute force.
 */
import { describe, expect, test } from "bun:test";
import { HOUR, makeEvent, postJson, wideWindow, type TestApp } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

async function ingest(app: TestApp, key: string, events: unknown[]) {
  for (let i = 0; i < events.length; i += 1000) {
    const res = await postJson(app, "/ingest", events.slice(i, i + 1000), key);
    expect(res.status).toBe(200);
  }
}

async function ids(app: TestApp, key: string, request: Record<string, unknown>): Promise<string[]> {
  const res = await postJson(app, "/query", { ...wideWindow(), limit: 1000, ...request }, key);
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  expect(body.pagination.total).toBe(body.data.length);
  return body.data.map((e: any) => e.eventId).sort();
}

function withPayloads(payloads: Record<string, unknown>[]) {
  return payloads.map((payload, i) => makeEvent(i, { eventId: `p-${i}`, payload }));
}

describeOnStores("search", (suite) => {
  describe("q: free text", () => {
    test("terms are ANDed, case-insensitive substrings of any string value or the eventId; every character is literal", async () => {
      const { app, a, b } = suite.fresh();
      await ingest(app, a.key, withPayloads([
        { msg: "Payment TIMEOUT after 30s" },
        { msg: "payment declined", detail: { reason: "card timeout" } },
        { msg: "50% off", tags: ["promo", "a_b"] },
        { msg: "5000 off", tags: ["promo", "axb"] },
        { msg: "path C:\\temp\\x", note: "star* here" },
        { msg: "no match", code: 504, flag: true },
        { msg: "Straße ÉCOLE 日本語" },
      ]));
      await ingest(app, b.key, withPayloads([{ msg: "payment timeout in the other tenant" }]));

      expect(await ids(app, a.key, { q: "timeout" })).toEqual(["p-0", "p-1"]);
      expect(await ids(app, a.key, { q: "PAYMENT timeout" })).toEqual(["p-0", "p-1"]);
      expect(await ids(app, a.key, { q: "payment declined" })).toEqual(["p-1"]);
      // A quoted phrase is one term: "payment declined" must be one string's substring.
      expect(await ids(app, a.key, { q: '"timeout after"' })).toEqual(["p-0"]);
      expect(await ids(app, a.key, { q: '"card payment"' })).toEqual([]);
      expect(await ids(app, a.key, { q: "50%" })).toEqual(["p-2"]);
      expect(await ids(app, a.key, { q: "%" })).toEqual(["p-2"]);
      expect(await ids(app, a.key, { q: "a_b" })).toEqual(["p-2"]);
      expect(await ids(app, a.key, { q: "\\temp" })).toEqual(["p-4"]);
      expect(await ids(app, a.key, { q: "star*" })).toEqual(["p-4"]);
      expect(await ids(app, a.key, { q: "*" })).toEqual(["p-4"]);
      // Numbers, booleans and keys are not text.
      expect(await ids(app, a.key, { q: "504" })).toEqual([]);
      expect(await ids(app, a.key, { q: "true" })).toEqual([]);
      expect(await ids(app, a.key, { q: "reason" })).toEqual([]);
      expect(await ids(app, a.key, { q: "école straße" })).toEqual(["p-6"]);
      expect(await ids(app, a.key, { q: "日本" })).toEqual(["p-6"]);
      // The eventId is searched too; a term never spans two values.
      expect(await ids(app, a.key, { q: "P-3" })).toEqual(["p-3"]);
      expect(await ids(app, a.key, { q: '"promo a_b"' })).toEqual([]);
      expect(await ids(app, a.key, { q: "   " })).toHaveLength(7);
    });
  });

  describe("where: field conditions", () => {
    test("eq compares JSON scalars exactly; neq, in, exists, ranges and contains as documented", async () => {
      const { app, a } = suite.fresh();
      await ingest(app, a.key, withPayloads([
        { http: { status: 500, route: "/api/checkout" }, level: "error", ms: 12.5 },
        { http: { status: "500", route: "/api/cart" }, level: "ERROR", ms: 250 },
        { http: { status: 200, route: "/health" }, level: null },
        { level: "warn", tags: ["a", "b"], items: [{ sku: "x" }, { sku: "y" }] },
        { nothing: true, items: [{ sku: "z" }] },
      ]));
      const where = async (...conditions: unknown[]) => ids(app, a.key, { where: conditions });

      expect(await where({ field: "http.status", op: "eq", value: 500 })).toEqual(["p-0"]);
      expect(await where({ field: "http.status", op: "eq", value: "500" })).toEqual(["p-1"]);
      expect(await where({ field: "http.status", op: "neq", value: 500 })).toEqual(["p-1", "p-2", "p-3", "p-4"]);
      expect(await where({ field: "http.status", op: "in", value: [200, "500"] })).toEqual(["p-1", "p-2"]);
      expect(await where({ field: "level", op: "exists" })).toEqual(["p-0", "p-1", "p-2", "p-3"]);
      expect(await where({ field: "level", op: "eq", value: null })).toEqual(["p-2"]);
      expect(await where({ field: "level", op: "eq", value: "error" })).toEqual(["p-0"]);
      expect(await where({ field: "level", op: "contains", value: "RRO" })).toEqual(["p-0", "p-1"]);
      // Numbers compare with numbers and strings with strings, never across.
      expect(await where({ field: "http.status", op: "gte", value: 300 })).toEqual(["p-0"]);
      expect(await where({ field: "http.status", op: "gt", value: "3" })).toEqual(["p-1"]);
      expect(await where({ field: "ms", op: "lt", value: 100 })).toEqual(["p-0"]);
      expect(await where({ field: "http.route", op: "lte", value: "/api/cart" })).toEqual(["p-1"]);
      // Arrays on the path match when any element does.
      expect(await where({ field: "tags", op: "eq", value: "b" })).toEqual(["p-3"]);
      expect(await where({ field: "items.sku", op: "eq", value: "y" })).toEqual(["p-3"]);
      expect(await where({ field: "items.sku", op: "in", value: ["x", "z"] })).toEqual(["p-3", "p-4"]);
      // Conditions are ANDed, and compose with q.
      expect(await where({ field: "level", op: "exists" }, { field: "ms", op: "gt", value: 100 })).toEqual(["p-1"]);
      expect(await ids(app, a.key, { q: "checkout", where: [{ field: "level", op: "eq", value: "error" }] })).toEqual(["p-0"]);
      // A key with characters jsonpath would read as syntax is still a key.
      expect(await where({ field: "a\"b$.@*", op: "exists" })).toEqual([]);
    });

    test("a dot inside a key is written \\. (OpenTelemetry attribute names), in conditions and in groupBy", async () => {
      const { app, a } = suite.fresh();
      await ingest(app, a.key, withPayloads([
        { attributes: { "http.route": "/api/cart", http: { route: "/nested" } } },
        { attributes: { "http.route": "/api/pay" } },
        { attributes: { "a\\b": 1 } },
      ]));
      expect(await ids(app, a.key, { where: [{ field: "attributes.http\\.route", op: "eq", value: "/api/cart" }] })).toEqual(["p-0"]);
      expect(await ids(app, a.key, { where: [{ field: "attributes.http.route", op: "exists" }] })).toEqual(["p-0"]);
      expect(await ids(app, a.key, { where: [{ field: "attributes.a\\\\b", op: "eq", value: 1 }] })).toEqual(["p-2"]);
      const groups = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "field:attributes.http\\.route" }, a.key)).json()) as any;
      expect(groups.data).toEqual([{ key: null, count: 1 }, { key: "/api/cart", count: 1 }, { key: "/api/pay", count: 1 }]);
      const bad = await postJson(app, "/query", { ...wideWindow(), where: [{ field: "a\\b", op: "exists" }] }, a.key);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as any).error.details[0]).toMatchObject({ path: "where.0.field", message: expect.stringContaining("backslash") });
    });

    test("level conditions stay exact when levels that are arrays or objects share the window", async () => {
      const { app, a } = suite.fresh();
      // Counted under no level value, yet ["error", "warn"] matches level = "error".
      await ingest(app, a.key, withPayloads([{ level: "error" }, { level: ["error", "warn"] }, { level: { v: "error" } }, { level: "warn" }]));
      const res = await postJson(app, "/query", { ...wideWindow(), where: [{ field: "level", op: "eq", value: "error" }], groupBy: "eventType" }, a.key);
      expect(((await res.json()) as any).total).toBe(2);
      expect(await ids(app, a.key, { where: [{ field: "level", op: "in", value: ["warn"] }] })).toEqual(["p-1", "p-3"]);
    });
  });

  describe("groupBy field", () => {
    test("counts per value as JSON scalars, null for none, the top 100 and an other entry adding up to total", async () => {
      const { app, a } = suite.fresh();
      const payloads = [
        ...Array.from({ length: 150 }, (_, i) => ({ user: i % 120, level: i % 3 === 0 ? "error" : 3 })),
        { level: true },
        { level: { nested: 1 } },
        { other: 1 },
        { level: 1.0 },
      ];
      await ingest(app, a.key, withPayloads(payloads));
      const groups = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "field:level" }, a.key)).json()) as any;
      expect(groups).toEqual({
        data: [
          { key: 3, count: 100 },
          { key: "error", count: 50 },
          { key: null, count: 2 },
          { key: 1, count: 1 },
          { key: true, count: 1 },
        ],
        total: 154,
      });
      const users = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "field:user" }, a.key)).json()) as any;
      expect(users.total).toBe(154);
      expect(users.data).toHaveLength(101);
      // 4 events have no user (null), 30 users have 2 events, 90 have 1: 69 of those make the top 100.
      expect(users.data[0]).toEqual({ key: null, count: 4 });
      expect(users.data.slice(1, 100).map((d: any) => d.count)).toEqual([...Array(30).fill(2), ...Array(69).fill(1)]);
      expect(users.data.at(-1)).toEqual({ key: null, other: true, count: 21 });
      expect(users.data.reduce((s: number, d: any) => s + d.count, 0)).toBe(154);
    });

    test("with interval: a series per value", async () => {
      const { app, a } = suite.fresh();
      const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
      await ingest(app, a.key, [
        makeEvent(1, { timestamp: new Date(base + 10_000).toISOString(), payload: { level: "error" } }),
        makeEvent(2, { timestamp: new Date(base + 20_000).toISOString(), payload: { level: "error" } }),
        makeEvent(3, { timestamp: new Date(base + 70_000).toISOString(), payload: { level: "info" } }),
      ]);
      const window = { startTime: new Date(base).toISOString(), endTime: new Date(base + HOUR).toISOString() };
      const res = await postJson(app, "/query", { ...window, groupBy: "field:level", interval: "1m" }, a.key);
      expect(await res.json()).toEqual({
        interval: "1m",
        data: [
          { bucket: new Date(base).toISOString(), key: "error", count: 2 },
          { bucket: new Date(base + 60_000).toISOString(), key: "info", count: 1 },
        ],
        total: 3,
      });
    });
  });

  describe("pages, cursors and totals", () => {
    test("deep pages of a level condition (count tables) and of free text (rows) equal a plain filter", async () => {
      const { app, a } = suite.fresh();
      const base = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
      const events = Array.from({ length: 6000 }, (_, i) =>
        makeEvent(i, {
          timestamp: new Date(base + ((i * 104_729) % (28 * HOUR))).toISOString(),
          payload: { level: ["error", "info", "warn"][i % 3], msg: i % 2 ? "odd one" : "even one" },
        }),
      );
      await ingest(app, a.key, events);
      const newestFirst = (list: typeof events) =>
        list.sort((x, y) => y.timestamp.localeCompare(x.timestamp) || (y.eventId < x.eventId ? -1 : 1)).map((e) => e.eventId);
      const cases = [
        { request: { where: [{ field: "level", op: "in", value: ["error", "warn"] }] }, expected: newestFirst(events.filter((_, i) => i % 3 !== 1)) },
        { request: { q: "odd" }, expected: newestFirst(events.filter((_, i) => i % 2 === 1)) },
      ];
      for (const { request, expected } of cases) {
        for (const page of [1, 45, 60, 79]) {
          const res = await postJson(app, "/query", { ...wideWindow(), ...request, page, limit: 50 }, a.key);
          const body = (await res.json()) as any;
          expect(body.data.map((e: any) => e.eventId)).toEqual(expected.slice((page - 1) * 50, page * 50));
          expect(body.pagination.total).toBe(expected.length);
        }
      }
    }, 60_000);

    test("free text resolved once serves the page and its total as the unresolved filter does", async () => {
      const { app, a, b } = suite.fresh();
      // 3 events say "needle", 2,100 say "haystack": the newest 2,000 hold no needle, so it is rare.
      await ingest(app, a.key, withPayloads(Array.from({ length: 2103 }, (_, i) => ({ msg: i < 3 ? "a needle" : "haystack" }))));
      await ingest(app, b.key, withPayloads([{ msg: "a needle" }]));
      const store = suite.handle.store;
      const window = { startTime: new Date(wideWindow().startTime), endTime: new Date(wideWindow().endTime) };
      const page = { page: 1, limit: 10 };
      for (const [word, expected] of [["needle", 3], ["haystack", 2100]] as const) {
        const filter = { tenantId: a.tenant, ...window, terms: [word] };
        const resolved = await store.resolveSearch(filter);
        if (word === "needle") expect(resolved.keys?.ids.sort()).toEqual(["p-0", "p-1", "p-2"]);
        else expect(resolved).toMatchObject({ terms: ["haystack"], termsCommon: true });
        expect(await store.countEvents(resolved)).toBe(expected);
        expect(await store.countEvents(filter)).toBe(expected);
        expect(await store.findEvents(resolved, page)).toEqual(await store.findEvents(filter, page));
        expect(await store.resolveSearch(resolved)).toBe(resolved);
      }
    }, 60_000);

    test("total: none skips the count, and a cursor keeps q, where and total", async () => {
      const { app, a } = suite.fresh();
      await ingest(app, a.key, withPayloads(Array.from({ length: 12 }, (_, i) => ({ msg: i % 2 ? "hit" : "miss", n: i }))));
      const first = { ...wideWindow(), q: "hit", where: [{ field: "n", op: "gte", value: 3 }], total: "none", limit: 2 };
      let body = (await (await postJson(app, "/query", first, a.key)).json()) as any;
      expect(body.pagination).toMatchObject({ total: null, totalPages: null, hasNext: true });
      const seen = body.data.map((e: any) => e.payload.n);
      while (body.nextCursor) {
        body = (await (await postJson(app, "/query", { cursor: body.nextCursor }, a.key)).json()) as any;
        expect(body.pagination.total).toBe(null);
        seen.push(...body.data.map((e: any) => e.payload.n));
      }
      expect(seen.sort((x: number, y: number) => x - y)).toEqual([3, 5, 7, 9, 11]);

      const cursor = ((await (await postJson(app, "/query", { ...first, total: "exact" }, a.key)).json()) as any).nextCursor;
      for (const [field, value] of [["q", "miss"], ["where", []], ["total", "none"]] as const) {
        const res = await postJson(app, "/query", { cursor, [field]: value }, a.key);
        expect(res.status).toBe(400);
        expect(((await res.json()) as any).error.details).toEqual([{ path: field, message: expect.stringContaining("cursor") }]);
      }
    });
  });

  test("bad search input is 400 validation_failed naming the field", async () => {
    const { app, a } = suite.fresh();
    const cases: [Record<string, unknown>, string][] = [
      [{ where: [{ field: "a", op: "like", value: "x" }] }, "where.0.op"],
      [{ where: [{ field: "a", op: "eq", value: { x: 1 } }] }, "where.0.value"],
      [{ where: [{ field: "a", op: "in", value: 1 }] }, "where.0.value"],
      [{ where: [{ field: "a", op: "in", value: Array(101).fill(1) }] }, "where.0.value"],
      [{ where: [{ field: "a", op: "exists", value: 1 }] }, "where.0"],
      [{ where: [{ field: "a", op: "gt", value: true }] }, "where.0.value"],
      [{ where: [{ field: "", op: "exists" }] }, "where.0.field"],
      [{ where: [{ field: "a..b", op: "exists" }] }, "where.0.field"],
      [{ where: [{ field: Array(17).fill("k").join("."), op: "exists" }] }, "where.0.field"],
      [{ where: [{ field: "a\u0000", op: "exists" }] }, "where.0.field"],
      [{ where: [{ field: "a", op: "eq", value: "\ud800" }] }, "where.0.value"],
      [{ where: Array(11).fill({ field: "a", op: "exists" }) }, "where"],
      [{ q: "x".repeat(513) }, "q"],
      [{ q: "a\u0000b" }, "q"],
      [{ q: "\udc00" }, "q"],
      [{ groupBy: "field:" }, "groupBy"],
      [{ groupBy: "level" }, "groupBy"],
      [{ total: "some" }, "total"],
    ];
    for (const [request, path] of cases) {
      const res = await postJson(app, "/query", { ...wideWindow(), ...request }, a.key);
      expect(res.status).toBe(400);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.details.map((d: any) => d.path)).toContain(path);
    }
  });

  describe("GET /traces/{traceId}", () => {
    const TRACE = "4BF92F3577B34DA6A3CE929D0E0E4736";
    const lower = TRACE.toLowerCase();

    function otlpSpans(startMs: number) {
      const span = (i: number) => ({
        traceId: lower,
        spanId: `00f067aa0ba902b${i}`,
        name: `span ${i}`,
        kind: 2,
        startTimeUnixNano: String(BigInt(startMs + i * 1000) * 1_000_000n),
        endTimeUnixNano: String(BigInt(startMs + i * 1000 + 500) * 1_000_000n),
      });
      return {
        resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] }, scopeSpans: [{ spans: [span(1), span(2)] }] }],
      };
    }

    function otlpLogs(startMs: number) {
      return {
        resourceLogs: [{
          resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] },
          scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(startMs) * 1_000_000n), severityText: "ERROR", body: { stringValue: "card declined" }, traceId: lower, spanId: "00f067aa0ba902b1" }] }],
        }],
      };
    }

    async function getTrace(app: TestApp, key: string, path: string) {
      const res = await app.request(path, { headers: { "x-api-key": key } });
      return { status: res.status, body: (await res.json()) as any };
    }

    test("OTLP spans and logs and /ingest events with traceId or trace_id, oldest first, case-insensitive, per tenant", async () => {
      const { app, a, b } = suite.fresh();
      const start = Date.now() - 20 * 60_000;
      expect((await postJson(app, "/v1/traces", otlpSpans(start), a.key)).status).toBe(200);
      expect((await postJson(app, "/v1/logs", otlpLogs(start + 1500), a.key)).status).toBe(200);
      await ingest(app, a.key, [
        makeEvent(1, { eventId: "ingest-upper", timestamp: new Date(start - 60_000).toISOString(), payload: { traceId: TRACE } }),
        makeEvent(2, { eventId: "ingest-snake", timestamp: new Date(start + 5000).toISOString(), payload: { trace_id: lower } }),
        makeEvent(3, { eventId: "nested-only", timestamp: new Date(start).toISOString(), payload: { ctx: { traceId: lower } } }),
        makeEvent(4, { eventId: "other-trace", timestamp: new Date(start).toISOString(), payload: { traceId: "ffff" } }),
      ]);
      await ingest(app, b.key, [makeEvent(5, { eventId: "tenant-b", payload: { traceId: lower } })]);

      const { status, body } = await getTrace(app, a.key, `/traces/${TRACE}`);
      expect(status).toBe(200);
      expect(body.traceId).toBe(lower);
      expect(body.nextCursor).toBe(null);
      const kinds = body.data.map((e: any) => [e.eventType, e.timestamp]);
      expect(kinds).toEqual([
        ["log", new Date(start - 60_000).toISOString()].map((v, i) => (i === 0 ? expect.any(String) : v)),
        ["trace", new Date(start + 1000).toISOString()],
        ["log", new Date(start + 1500).toISOString()],
        ["trace", new Date(start + 2000).toISOString()],
        [expect.any(String), new Date(start + 5000).toISOString()],
      ]);
      expect(body.data[0].eventId).toBe("ingest-upper");
      expect(body.data[2].payload).toMatchObject({ body: "card declined" });
      expect(body.data.at(-1).eventId).toBe("ingest-snake");

      // Pages by cursor, two at a time.
      const walked: string[] = [];
      let page = await getTrace(app, a.key, `/traces/${lower}?limit=2`);
      for (;;) {
        expect(page.status).toBe(200);
        walked.push(...page.body.data.map((e: any) => e.eventId));
        if (!page.body.nextCursor) break;
        page = await getTrace(app, a.key, `/traces/${lower}?cursor=${page.body.nextCursor}`);
      }
      expect(walked).toEqual(body.data.map((e: any) => e.eventId));

      expect((await getTrace(app, b.key, `/traces/${lower}`)).body.data.map((e: any) => e.eventId)).toEqual(["tenant-b"]);
      expect(await getTrace(app, a.key, "/traces/0000")).toEqual({ status: 200, body: { traceId: "0000", data: [], nextCursor: null } });
    });

    test("bad trace requests are 400, and a cursor serves only its trace and tenant", async () => {
      const { app, a, b } = suite.fresh();
      await ingest(app, a.key, [1, 2, 3].map((i) => makeEvent(i, { payload: { traceId: "abc" } })));
      const { body } = await getTrace(app, a.key, "/traces/abc?limit=1");
      const cursor = body.nextCursor as string;
      expect(typeof cursor).toBe("string");
      const cases: [TestApp, string, string, string][] = [
        [app, a.key, `/traces/${"a".repeat(129)}`, "traceId"],
        [app, a.key, "/traces/abc?limit=0", "limit"],
        [app, a.key, "/traces/abc?limit=x", "limit"],
        [app, a.key, `/traces/abd?cursor=${cursor}`, "cursor"],
        [app, b.key, `/traces/abc?cursor=${cursor}`, "cursor"],
        [app, a.key, `/traces/abc?cursor=${cursor}&limit=5`, "limit"],
        [app, a.key, "/traces/abc?cursor=!!", "cursor"],
      ];
      for (const [target, key, path, field] of cases) {
        const res = await getTrace(target, key, path);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("validation_failed");
        expect(res.body.error.details.map((d: any) => d.path)).toContain(field);
      }
      expect((await app.request("/traces/abc")).status).toBe(401);
    });
  });
}, { productionLike: true });
