/**
 * The ingest and query contract, run through app.request() against a real
 * store. contract.postgres.test.ts and contract.embedded.test.ts run it on
 * PostgreSQL and on the embedded PGlite store.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import {
  buildApp,
  freshTenants,
  makeEvent,
  postGzip,
  postJson,
  wideWindow,
  HOUR,
  type StoreHandle,
  type Tenants,
  type TestApp,
} from "./harness";

async function storedRows(handle: StoreHandle, tenant: string) {
  return handle.sql<{ event_id: string; payload: unknown; ts: Date }[]>`
    SELECT event_id, payload, ts FROM events WHERE tenant_id = ${tenant} ORDER BY event_id`;
}

async function storedCount(handle: StoreHandle, tenant: string) {
  const [row] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant}`;
  return row!.n;
}

export function runContractSuite(label: string, open: () => Promise<StoreHandle>) {
  describe(`contract on ${label}`, () => {
    let handle: StoreHandle;
    let tenants: Tenants;
    let app: TestApp;

    // Generous: the embedded store's first start (initdb in WebAssembly) is slow on a busy machine.
    beforeAll(async () => {
      handle = await open();
    }, 120_000);
    afterAll(async () => {
      await handle?.cleanup();
    });

    // Each test gets tenants of its own, so tests share the store but never rows.
    function fresh(env?: Record<string, string>) {
      tenants = freshTenants();
      app = buildApp(handle.store, tenants, { env });
      return { app, a: tenants.a, b: tenants.b };
    }

    describe("request ids and auth", () => {
      test("a valid incoming X-Request-Id is echoed on success and in error bodies", async () => {
        const { app, a } = fresh();
        const ok = await app.request("/health", { headers: { "x-request-id": "trace-1.2:3_x-y" } });
        expect(ok.headers.get("x-request-id")).toBe("trace-1.2:3_x-y");

        const denied = await postJson(app, "/ingest", makeEvent(1), undefined, { "x-request-id": "abc-123" });
        expect(denied.status).toBe(401);
        expect(denied.headers.get("x-request-id")).toBe("abc-123");
        expect(await denied.json()).toEqual({
          error: { code: "unauthorized", message: expect.any(String) },
          requestId: "abc-123",
        });
        expect(a.key).toBeString();
      });

      test("a malformed or too long X-Request-Id is replaced by a generated one", async () => {
        const { app } = fresh();
        for (const bad of ["has space", "x".repeat(129), "semi;colon", ""]) {
          const res = await app.request("/nope", { headers: { "x-request-id": bad } });
          const id = res.headers.get("x-request-id")!;
          expect(id).not.toBe(bad);
          expect(id).toMatch(/^[0-9a-f-]{36}$/);
          expect(((await res.json()) as { requestId: string }).requestId).toBe(id);
        }
        const longest = "a".repeat(128);
        const res = await app.request("/health", { headers: { "x-request-id": longest } });
        expect(res.headers.get("x-request-id")).toBe(longest);
      });

      test("missing and unknown keys get 401 unauthorized on every protected route", async () => {
        const { app } = fresh();
        for (const path of ["/ingest", "/query"]) {
          for (const key of [undefined, "not-a-key", "test-key-tenant-a "]) {
            const res = await postJson(app, path, {}, key);
            expect(res.status).toBe(401);
            const body = (await res.json()) as { error: { code: string } };
            expect(body.error.code).toBe("unauthorized");
          }
        }
      });

      test("health, docs and the OpenAPI document are open", async () => {
        const { app } = fresh();
        expect((await app.request("/health")).status).toBe(200);
        expect(await (await app.request("/health")).json()).toEqual({ status: "ok" });
        const ready = await app.request("/health/ready");
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ status: "ok", checks: { postgres: "ok", redis: "disabled" } });
        const docs = await app.request("/api/docs");
        expect(docs.status).toBe(200);
        expect(await docs.text()).toContain("swagger");
      });

      test("the OpenAPI document describes every route, its errors and the API key scheme", async () => {
        const { app } = fresh();
        const res = await app.request("/api/openapi.json");
        expect(res.status).toBe(200);
        const spec = (await res.json()) as any;
        expect(spec.openapi).toBe("3.1.0");
        expect(spec.components.securitySchemes.ApiKeyAuth).toEqual(
          expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-Key" }),
        );
        for (const [path, method] of [["/ingest", "post"], ["/query", "post"], ["/health", "get"], ["/health/ready", "get"]] as const) {
          expect(spec.paths[path]?.[method]).toBeDefined();
        }
        const ingest = spec.paths["/ingest"].post;
        expect(ingest.security).toEqual([{ ApiKeyAuth: [] }]);
        expect(Object.keys(ingest.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "413", "415", "429", "503"]));
        expect(spec.components.schemas.Event.required).toEqual(
          expect.arrayContaining(["eventId", "eventType", "serviceName", "timestamp"]),
        );
        expect(spec.components.schemas.Event.properties.eventType.$ref ?? spec.components.schemas.Event.properties.eventType.enum).toBeDefined();
        // Generated clients compile the patterns: each must be a plain regex its own example matches.
        const patterns: { pattern: string; example?: string }[] = [];
        JSON.stringify(spec, (_key, value) => {
          if (value && typeof value === "object" && typeof value.pattern === "string") patterns.push(value);
          return value;
        });
        expect(patterns.length).toBeGreaterThan(0);
        for (const { pattern, example } of patterns) {
          const regex = new RegExp(pattern);
          if (example) expect(regex.test(example)).toBe(true);
        }
      });

      test("unknown routes answer 404 in the error format", async () => {
        const { app, a } = fresh();
        const res = await app.request("/nothing-here", { headers: { "x-api-key": a.key } });
        expect(res.status).toBe(404);
        expect(((await res.json()) as any).error.code).toBe("not_found");
      });
    });

    describe("ingest", () => {
      test("one event: 200 with counts, stored exactly as sent", async () => {
        const { app, a } = fresh();
        const event = makeEvent(1, { payload: { user: { id: 7, tags: ["x", "y"] }, ok: true, n: null, f: 1.5 } });
        const res = await postJson(app, "/ingest", event, a.key);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ ingested: 1, duplicates: 0, message: "Events ingested successfully" });
        const rows = await storedRows(handle, a.tenant);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.event_id).toBe(event.eventId);
        expect(rows[0]!.payload).toEqual(event.payload);
        expect(rows[0]!.ts.toISOString()).toBe(event.timestamp);
      });

      test("payload is optional and defaults to {}", async () => {
        const { app, a } = fresh();
        const { payload: _, ...event } = makeEvent(2);
        expect((await postJson(app, "/ingest", event, a.key)).status).toBe(200);
        expect((await storedRows(handle, a.tenant))[0]!.payload).toEqual({});
      });

      test("duplicates within a request: the first occurrence wins", async () => {
        const { app, a } = fresh();
        const first = makeEvent(1, { payload: { version: "first" } });
        const second = makeEvent(1, { payload: { version: "second" } });
        const res = await postJson(app, "/ingest", [first, makeEvent(2), second], a.key);
        expect(await res.json()).toMatchObject({ ingested: 2, duplicates: 1 });
        const rows = await storedRows(handle, a.tenant);
        expect(rows.map((r) => r.event_id)).toEqual([makeEvent(1).eventId, makeEvent(2).eventId]);
        expect(rows[0]!.payload).toEqual({ version: "first" });
      });

      test("duplicates across requests are counted, not stored again", async () => {
        const { app, a } = fresh();
        const batch = [1, 2, 3].map((i) => makeEvent(i));
        expect(await (await postJson(app, "/ingest", batch, a.key)).json()).toMatchObject({ ingested: 3, duplicates: 0 });
        const again = [...batch, makeEvent(4)];
        expect(await (await postJson(app, "/ingest", again, a.key)).json()).toMatchObject({ ingested: 1, duplicates: 3 });
        expect(await storedCount(handle, a.tenant)).toBe(4);
      });

      test("NDJSON bodies, with blank lines and CRLF", async () => {
        const { app, a } = fresh();
        const lines = [1, 2, 3].map((i) => JSON.stringify(makeEvent(i))).join("\r\n") + "\n\n";
        const res = await postJson(app, "/ingest", lines, a.key, { "content-type": "application/x-ndjson" });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ ingested: 3, duplicates: 0 });
        expect(await storedCount(handle, a.tenant)).toBe(3);
      });

      test("gzip bodies, JSON and NDJSON", async () => {
        const { app, a } = fresh();
        const json = await postGzip(app, "/ingest", JSON.stringify([makeEvent(1), makeEvent(2)]), a.key);
        expect(json.status).toBe(200);
        expect(await json.json()).toMatchObject({ ingested: 2 });
        const ndjson = await postGzip(app, "/ingest", [3, 4].map((i) => JSON.stringify(makeEvent(i))).join("\n"), a.key, "application/x-ndjson");
        expect(ndjson.status).toBe(200);
        expect(await ndjson.json()).toMatchObject({ ingested: 2 });
        expect(await storedCount(handle, a.tenant)).toBe(4);
      });

      test("a gzip bomb is refused with 413 without inflating it in memory", async () => {
        const { app, a } = fresh();
        // 64 MiB of spaces inside a JSON string compresses to ~64 KiB.
        const bomb = gzipSync(Buffer.concat([Buffer.from('{"eventId":"'), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from('"}')]));
        expect(bomb.byteLength).toBeLessThan(200 * 1024);
        Bun.gc(true);
        const before = process.memoryUsage().rss;
        const res = await app.request("/ingest", {
          method: "POST",
          headers: { "content-type": "application/json", "content-encoding": "gzip", "x-api-key": a.key },
          body: bomb,
        });
        const grown = process.memoryUsage().rss - before;
        expect(res.status).toBe(413);
        expect(((await res.json()) as any).error.code).toBe("payload_too_large");
        expect(grown).toBeLessThan(48 * 1024 * 1024);
        expect(await storedCount(handle, a.tenant)).toBe(0);
      });

      test("corrupt gzip is 400 invalid_json; unknown encodings and content types are 415", async () => {
        const { app, a } = fresh();
        const corrupt = await app.request("/ingest", {
          method: "POST",
          headers: { "content-type": "application/json", "content-encoding": "gzip", "x-api-key": a.key },
          body: "definitely not gzip",
        });
        expect(corrupt.status).toBe(400);
        expect(((await corrupt.json()) as any).error.code).toBe("invalid_json");

        const br = await postJson(app, "/ingest", makeEvent(1), a.key, { "content-encoding": "br" });
        expect(br.status).toBe(415);
        expect(((await br.json()) as any).error.code).toBe("unsupported_media_type");

        const xml = await postJson(app, "/ingest", "<event/>", a.key, { "content-type": "application/xml" });
        expect(xml.status).toBe(415);
        expect(((await xml.json()) as any).error.code).toBe("unsupported_media_type");
        expect(await storedCount(handle, a.tenant)).toBe(0);
      });

      test("bodies over MAX_BODY_BYTES are 413 payload_too_large, plain or gzip", async () => {
        const { app, a } = fresh({ MAX_BODY_BYTES: "4096" });
        const big = [makeEvent(1, { payload: { blob: "x".repeat(5000) } })];
        const plain = await postJson(app, "/ingest", big, a.key);
        expect(plain.status).toBe(413);
        expect(((await plain.json()) as any).error.code).toBe("payload_too_large");
        const zipped = await postGzip(app, "/ingest", JSON.stringify(big), a.key);
        expect(zipped.status).toBe(413);
        expect(await storedCount(handle, a.tenant)).toBe(0);
      });

      test("more than MAX_BATCH events is 413 batch_too_large", async () => {
        const { app, a } = fresh({ MAX_BATCH: "5" });
        const res = await postJson(app, "/ingest", [1, 2, 3, 4, 5, 6].map((i) => makeEvent(i)), a.key);
        expect(res.status).toBe(413);
        expect(((await res.json()) as any).error.code).toBe("batch_too_large");
        expect(await storedCount(handle, a.tenant)).toBe(0);
        expect((await postJson(app, "/ingest", [1, 2, 3, 4, 5].map((i) => makeEvent(i)), a.key)).status).toBe(200);
      });

      test("malformed JSON and invalid UTF-8 are 400 invalid_json", async () => {
        const { app, a } = fresh();
        for (const body of ['{"eventId": "x",', "", "[1,2", new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d])]) {
          const res = await postJson(app, "/ingest", body, a.key);
          expect(res.status).toBe(400);
          const json = (await res.json()) as any;
          expect(json.error.code).toBe("invalid_json");
          expect(json.error.message).toBeString();
        }
        const ndjson = await postJson(app, "/ingest", `${JSON.stringify(makeEvent(1))}\n{oops`, a.key, { "content-type": "application/x-ndjson" });
        expect(ndjson.status).toBe(400);
        expect(((await ndjson.json()) as any).error.message).toContain("line 2");
        expect(await storedCount(handle, a.tenant)).toBe(0);
      });

      test("an empty array and non-object bodies are 400 validation_failed", async () => {
        const { app, a } = fresh();
        for (const body of ["[]", "42", '"text"', "null", "[1]"]) {
          const res = await postJson(app, "/ingest", body, a.key);
          expect(res.status).toBe(400);
          expect(((await res.json()) as any).error.code).toBe("validation_failed");
        }
      });

      const invalidCases: [string, Record<string, unknown>, string][] = [
        ["missing eventId", { eventId: undefined }, "eventId"],
        ["empty eventId", { eventId: "" }, "eventId"],
        ["eventId over 128", { eventId: "x".repeat(129) }, "eventId"],
        ["eventId not a string", { eventId: 12 }, "eventId"],
        ["unknown eventType", { eventType: "span" }, "eventType"],
        ["missing serviceName", { serviceName: undefined }, "serviceName"],
        ["serviceName over 128", { serviceName: "s".repeat(129) }, "serviceName"],
        ["NUL in serviceName", { serviceName: "a\u0000b" }, "serviceName"],
        ["lone surrogate in eventId", { eventId: "a\ud800b" }, "eventId"],
        ["missing timestamp", { timestamp: undefined }, "timestamp"],
        ["timestamp without offset", { timestamp: "2026-01-01T00:00:00" }, "timestamp"],
        ["timestamp not a date", { timestamp: "yesterday" }, "timestamp"],
        ["impossible date", { timestamp: "2026-02-30T00:00:00Z" }, "timestamp"],
        ["past the end of the day", { timestamp: "2026-01-01T24:00:00.0001Z" }, "timestamp"],
        ["timestamp before 1970", { timestamp: "1969-12-31T23:59:59Z" }, "timestamp"],
        ["timestamp over 24 h ahead", { timestamp: new Date(Date.now() + 25 * HOUR).toISOString() }, "timestamp"],
        ["payload an array", { payload: [1, 2] }, "payload"],
        ["payload a string", { payload: "text" }, "payload"],
        ["NUL in a payload string", { payload: { a: "x\u0000y" } }, "payload.a"],
        ["NUL in a payload key", { payload: { "k\u0000": 1 } }, "payload.k\u0000"],
        ["lone surrogate in payload", { payload: { a: ["ok", "\udc00"] } }, "payload.a.1"],
        ["payload over 64 KiB", { payload: { blob: "x".repeat(64 * 1024) } }, "payload"],
        ["payload nested 33 deep", { payload: nest(32) }, "payload"],
      ];
      for (const [name, override, path] of invalidCases) {
        test(`400 validation_failed, nothing stored: ${name}`, async () => {
          const { app, a } = fresh();
          const bad = makeEvent(5, override);
          const res = await postJson(app, "/ingest", [makeEvent(1), makeEvent(2), bad], a.key);
          expect(res.status).toBe(400);
          const body = (await res.json()) as any;
          expect(body.error.code).toBe("validation_failed");
          expect(body.error.details[0]).toEqual({ index: 2, path: expect.stringContaining(path), message: expect.any(String) });
          expect(await storedCount(handle, a.tenant)).toBe(0);
        });
      }

      test("timestamps at the edges of the window are accepted; offsets are normalised to UTC", async () => {
        const { app, a } = fresh();
        const events = [
          makeEvent(1, { timestamp: "1970-01-01T00:00:00Z" }),
          makeEvent(2, { timestamp: new Date(Date.now() + 23 * HOUR).toISOString() }),
          makeEvent(3, { timestamp: "2026-03-04T05:06:07.891+02:00" }),
        ];
        expect((await postJson(app, "/ingest", events, a.key)).status).toBe(200);
        const rows = await storedRows(handle, a.tenant);
        expect(rows[2]!.ts.toISOString()).toBe("2026-03-04T03:06:07.891Z");
      });

      test("payload nested exactly 32 deep is accepted; 100 000 deep is refused fast", async () => {
        const { app, a } = fresh();
        expect((await postJson(app, "/ingest", makeEvent(1, { payload: nest(31) }), a.key)).status).toBe(200);
        const deep = `[${JSON.stringify(makeEvent(2)).slice(0, -1)},"payload":${"[".repeat(100_000)}${"]".repeat(100_000)}}]`;
        const started = performance.now();
        const res = await postJson(app, "/ingest", deep, a.key);
        expect(res.status).toBe(400);
        expect(performance.now() - started).toBeLessThan(500);
        expect(((await res.json()) as any).error.details[0].index).toBe(0);
      });

      test("non-finite numbers (1e400) are refused", async () => {
        const { app, a } = fresh();
        const text = JSON.stringify(makeEvent(1)).replace('"i":1', '"i":1e400');
        const res = await postJson(app, "/ingest", text, a.key);
        expect(res.status).toBe(400);
        expect(((await res.json()) as any).error.details[0].path).toBe("payload.i");
      });

      test("unicode payloads and SQL-looking strings round-trip exactly", async () => {
        const { app, a } = fresh();
        const payload = {
          emoji: "👩‍💻🚀 ok",
          rtl: "שלום עולם",
          cjk: "日本語のテキスト",
          combining: "e\u0301",
          escapes: "quote \" backslash \\ newline \n tab \t",
          sql: "'; DROP TABLE events; --",
          like: "100% _match_ \\",
          "key with 'quotes'": "{\"a\":1}",
          ["__proto__"]: { polluted: true }, // computed key: an own property, as JSON.parse makes it
          nested: [{ "ünïcödé": ["\u2028", "\u00a0"] }],
          big: 12345678901234,
          small: -0.000123,
        };
        const event = makeEvent(1, { eventId: "id-'\"; DROP TABLE events;--", serviceName: "svc ☃ O'Brien", payload });
        const sent = JSON.stringify(event);
        expect((await postJson(app, "/ingest", sent, a.key)).status).toBe(200);
        const res = await postJson(app, "/query", wideWindow(), a.key);
        const body = JSON.parse(await res.text()); // JSON.parse keeps "__proto__" as an own key
        expect(body.data).toHaveLength(1);
        const back = body.data[0];
        expect(back.eventId).toBe(event.eventId);
        expect(back.serviceName).toBe("svc ☃ O'Brien");
        expect(back.payload).toEqual(JSON.parse(sent).payload);
        expect(Object.prototype.hasOwnProperty.call(back.payload, "__proto__")).toBe(true);
        expect(({} as any).polluted).toBeUndefined();
        expect(await storedCount(handle, a.tenant)).toBe(1);
      });

      test("a 10 000-event batch is stored in one request", async () => {
        const { app, a } = fresh();
        const batch = Array.from({ length: 10_000 }, (_, i) => makeEvent(i));
        const res = await postJson(app, "/ingest", batch, a.key);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ ingested: 10_000, duplicates: 0 });
        expect(await storedCount(handle, a.tenant)).toBe(10_000);
      });

      test("20 concurrent overlapping batches over a shared id pool: no error, exact counts", async () => {
        const { app, a } = fresh();
        const pool = 500;
        const batches = Array.from({ length: 20 }, (_, b) =>
          Array.from({ length: 100 }, (_, i) => makeEvent((b * 37 + i * 13) % pool)),
        );
        const results = await Promise.all(batches.map((batch) => postJson(app, "/ingest", batch, a.key)));
        expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
        const bodies = (await Promise.all(results.map((r) => r.json()))) as { ingested: number; duplicates: number }[];
        const distinct = new Set(batches.flat().map((e) => e.eventId)).size;
        expect(bodies.reduce((s, b) => s + b.ingested, 0)).toBe(distinct);
        expect(bodies.reduce((s, b) => s + b.ingested + b.duplicates, 0)).toBe(2000);
        expect(await storedCount(handle, a.tenant)).toBe(distinct);
      });

      test("concurrent single-event requests share transactions yet get exact counts of their own", async () => {
        const { app, a, b } = fresh();
        // 150 requests: ids 0..99 once each for tenant A, ids 0..49 a second time, and 30 for tenant B.
        const requests = [
          ...Array.from({ length: 100 }, (_, i) => [a.key, makeEvent(i)] as const),
          ...Array.from({ length: 50 }, (_, i) => [a.key, makeEvent(i)] as const),
          ...Array.from({ length: 30 }, (_, i) => [b.key, makeEvent(i)] as const),
        ];
        const responses = await Promise.all(requests.map(([key, event]) => postJson(app, "/ingest", event, key)));
        expect(responses.every((r) => r.status === 200)).toBe(true);
        const bodies = (await Promise.all(responses.map((r) => r.json()))) as { ingested: number; duplicates: number }[];
        expect(bodies.every((x) => x.ingested + x.duplicates === 1)).toBe(true);
        const ingestedA = bodies.slice(0, 150).reduce((s, x) => s + x.ingested, 0);
        expect(ingestedA).toBe(100);
        // Each id of 0..49 was ingested by exactly one of its two requests.
        for (let i = 0; i < 50; i++) expect(bodies[i]!.ingested + bodies[100 + i]!.ingested).toBe(1);
        expect(bodies.slice(150).every((x) => x.ingested === 1)).toBe(true);
        expect(await storedCount(handle, a.tenant)).toBe(100);
        expect(await storedCount(handle, b.tenant)).toBe(30);
      });

      test("a tenant named in the body is ignored: the key decides", async () => {
        const { app, a, b } = fresh();
        const event = { ...makeEvent(1), tenantId: b.tenant, tenant: b.tenant };
        expect((await postJson(app, "/ingest", event, a.key)).status).toBe(200);
        expect(await storedCount(handle, a.tenant)).toBe(1);
        expect(await storedCount(handle, b.tenant)).toBe(0);
      });
    });

    describe("tenant isolation", () => {
      test("results, counts, group counts and dedup are per tenant", async () => {
        const { app, a, b } = fresh();
        const shared = [1, 2, 3].map((i) => makeEvent(i));
        expect(await (await postJson(app, "/ingest", shared, a.key)).json()).toMatchObject({ ingested: 3, duplicates: 0 });
        // Same ids for tenant B are new events, not duplicates of A's.
        expect(await (await postJson(app, "/ingest", [...shared, makeEvent(4)], b.key)).json()).toMatchObject({ ingested: 4, duplicates: 0 });

        const listA = (await (await postJson(app, "/query", wideWindow(), a.key)).json()) as any;
        expect(listA.pagination.total).toBe(3);
        expect(listA.data.map((e: any) => e.eventId).sort()).toEqual(shared.map((e) => e.eventId).sort());

        const groupsB = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "eventType" }, b.key)).json()) as any;
        expect(groupsB.total).toBe(4);
        const filtered = (await (await postJson(app, "/query", { ...wideWindow(), serviceName: "svc-0" }, a.key)).json()) as any;
        expect(filtered.data.every((e: any) => e.serviceName === "svc-0")).toBe(true);
      });
    });

    describe("query", () => {
      async function seed(app: TestApp, key: string, count: number) {
        const events = Array.from({ length: count }, (_, i) => makeEvent(i));
        expect((await postJson(app, "/ingest", events, key)).status).toBe(200);
        return events;
      }

      test("newest first, events as sent plus receivedAt", async () => {
        const { app, a } = fresh();
        const events = await seed(app, a.key, 5);
        const res = await postJson(app, "/query", wideWindow(), a.key);
        expect(res.status).toBe(200);
        const body = (await res.json()) as any;
        expect(body.data.map((e: any) => e.eventId)).toEqual(events.map((e) => e.eventId)); // i=0 is newest
        const first = body.data[0];
        expect(first).toEqual({ ...events[0], receivedAt: expect.any(String) });
        expect(Date.parse(first.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
      });

      test("ties on timestamp are ordered by eventId descending", async () => {
        const { app, a } = fresh();
        const ts = new Date(Date.now() - HOUR).toISOString();
        await postJson(app, "/ingest", ["b", "c", "a"].map((id) => makeEvent(1, { eventId: id, timestamp: ts })), a.key);
        const body = (await (await postJson(app, "/query", wideWindow(), a.key)).json()) as any;
        expect(body.data.map((e: any) => e.eventId)).toEqual(["c", "b", "a"]);
      });

      test("the window is inclusive at both ends", async () => {
        const { app, a } = fresh();
        const events = await seed(app, a.key, 10);
        const window = { startTime: events[7]!.timestamp, endTime: events[2]!.timestamp };
        const body = (await (await postJson(app, "/query", window, a.key)).json()) as any;
        expect(body.data.map((e: any) => e.eventId)).toEqual(events.slice(2, 8).map((e) => e.eventId));
        expect(body.pagination.total).toBe(6);
      });

      test("default window is the last 24 hours", async () => {
        const { app, a } = fresh();
        await postJson(app, "/ingest", [
          makeEvent(1, { timestamp: new Date(Date.now() - HOUR).toISOString() }),
          makeEvent(2, { timestamp: new Date(Date.now() - 25 * HOUR).toISOString() }),
        ], a.key);
        const body = (await (await postJson(app, "/query", {}, a.key)).json()) as any;
        expect(body.data.map((e: any) => e.eventId)).toEqual([makeEvent(1).eventId]);
      });

      test("filters by eventType and serviceName", async () => {
        const { app, a } = fresh();
        const events = await seed(app, a.key, 24);
        const body = (await (await postJson(app, "/query", { ...wideWindow(), eventType: "metric", serviceName: "svc-1" }, a.key)).json()) as any;
        const expected = events.filter((e) => e.eventType === "metric" && e.serviceName === "svc-1");
        expect(expected.length).toBeGreaterThan(0);
        expect(body.data.map((e: any) => e.eventId)).toEqual(expected.map((e) => e.eventId));
        expect(body.pagination.total).toBe(expected.length);
      });

      test("pagination math on first, middle, last and past-the-end pages", async () => {
        const { app, a } = fresh();
        const events = await seed(app, a.key, 25);
        const page = async (n: number) =>
          (await (await postJson(app, "/query", { ...wideWindow(), page: n, limit: 10 }, a.key)).json()) as any;

        const first = await page(1);
        expect(first.pagination).toEqual({ page: 1, limit: 10, total: 25, totalPages: 3, hasNext: true, hasPrev: false });
        expect(first.data.map((e: any) => e.eventId)).toEqual(events.slice(0, 10).map((e) => e.eventId));
        const middle = await page(2);
        expect(middle.pagination).toEqual({ page: 2, limit: 10, total: 25, totalPages: 3, hasNext: true, hasPrev: true });
        expect(middle.data.map((e: any) => e.eventId)).toEqual(events.slice(10, 20).map((e) => e.eventId));
        const last = await page(3);
        expect(last.pagination).toEqual({ page: 3, limit: 10, total: 25, totalPages: 3, hasNext: false, hasPrev: true });
        expect(last.data).toHaveLength(5);
        expect(last.nextCursor).toBeNull();
        const past = await page(4);
        expect(past.data).toEqual([]);
        expect(past.pagination).toMatchObject({ page: 4, total: 25, totalPages: 3, hasNext: false, hasPrev: true });
      });

      test("deep pages (found through the count tables) equal a plain walk of the window", async () => {
        const { app, a } = fresh();
        // 5000 events over ~50 hours, several per minute, with filters that cut across them.
        const base = Math.floor(Date.now() / HOUR) * HOUR - 50 * HOUR;
        const events = Array.from({ length: 5000 }, (_, i) =>
          makeEvent(i, { timestamp: new Date(base + ((i * 104_729) % (50 * HOUR))).toISOString() }),
        );
        for (let i = 0; i < events.length; i += 2500) {
          expect((await postJson(app, "/ingest", events.slice(i, i + 2500), a.key)).status).toBe(200);
        }
        const newestFirst = (list: typeof events) =>
          [...list].sort((x, y) => y.timestamp.localeCompare(x.timestamp) || (y.eventId < x.eventId ? -1 : 1));
        const windows = [
          { startTime: new Date(base - HOUR).toISOString(), endTime: new Date(base + 51 * HOUR).toISOString() },
          { startTime: new Date(base + 90_500).toISOString(), endTime: new Date(base + 40 * HOUR + 12_345).toISOString() },
        ];
        for (const window of windows) {
          for (const filter of [{}, { eventType: "log" }, { serviceName: "svc-2" }]) {
            const expected = newestFirst(
              events.filter((e) =>
                e.timestamp >= window.startTime && e.timestamp <= window.endTime &&
                (!("eventType" in filter) || e.eventType === filter.eventType) &&
                (!("serviceName" in filter) || e.serviceName === filter.serviceName),
              ),
            ).map((e) => e.eventId);
            for (const page of [1, 21, 45, 70, 100]) {
              const body = (await (await postJson(app, "/query", { ...window, ...filter, page, limit: 50 }, a.key)).json()) as any;
              expect(body.data.map((e: any) => e.eventId)).toEqual(expected.slice((page - 1) * 50, page * 50));
              expect(body.pagination.total).toBe(expected.length);
            }
          }
        }
      }, 60_000);

      test("nothing matching: totalPages 0", async () => {
        const { app, a } = fresh();
        const body = (await (await postJson(app, "/query", wideWindow(), a.key)).json()) as any;
        expect(body).toEqual({
          data: [],
          pagination: { page: 1, limit: 100, total: 0, totalPages: 0, hasNext: false, hasPrev: false },
          nextCursor: null,
        });
      });

      test("cursor pagination walks every event once, stable while ingest continues", async () => {
        const { app, a } = fresh();
        const events = await seed(app, a.key, 23);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const body = (await (await postJson(app, "/query", cursor ? { cursor } : { ...wideWindow(), limit: 5 }, a.key)).json()) as any;
          seen.push(...body.data.map((e: any) => e.eventId));
          cursor = body.nextCursor ?? undefined;
          pages++;
          // New events arriving mid-walk, newer than anything seen, do not shift the pages.
          if (pages === 2) await postJson(app, "/ingest", [makeEvent(9000, { timestamp: new Date(Date.now() - 60_000).toISOString() })], a.key);
          expect(body.pagination.page).toBe(pages);
        } while (cursor);
        expect(seen).toEqual(events.map((e) => e.eventId));
        expect(pages).toBe(5);
      });

      test("a cursor with different filters, a garbled cursor, or a cursor with groupBy is 400", async () => {
        const { app, a } = fresh();
        await seed(app, a.key, 10);
        const body = (await (await postJson(app, "/query", { ...wideWindow(), limit: 3 }, a.key)).json()) as any;
        for (const request of [
          { cursor: body.nextCursor, eventType: "log" },
          { cursor: "bm90IGEgY3Vyc29y" },
          { cursor: body.nextCursor, groupBy: "service" },
        ]) {
          const res = await postJson(app, "/query", request, a.key);
          expect(res.status).toBe(400);
          expect(((await res.json()) as any).error.code).toBe("validation_failed");
        }
      });

      test("groupBy service and eventType: counts, sorted by count", async () => {
        const { app, a } = fresh();
        const events = await seed(app, a.key, 30);
        const byType = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "eventType" }, a.key)).json()) as any;
        expect(byType).toEqual({ data: expect.any(Array), total: 30 });
        expect(new Map(byType.data.map((r: any) => [r.key, r.count]))).toEqual(new Map([["log", 10], ["metric", 10], ["trace", 10]]));

        await postJson(app, "/ingest", [100, 101, 102].map((i) => makeEvent(i, { serviceName: "svc-1" })), a.key);
        const byService = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "service" }, a.key)).json()) as any;
        expect(byService.data[0]).toEqual({ key: "svc-1", count: events.filter((e) => e.serviceName === "svc-1").length + 3 });
        const counts = byService.data.map((r: any) => r.count);
        expect(counts).toEqual([...counts].sort((x: number, y: number) => y - x));
        expect(byService.total).toBe(33);
      });

      describe("counts from the per-minute and per-hour tables", () => {
        // Events spread over ~3 days at odd seconds, so windows cut minutes and hours.
        const spread = (count: number) => {
          const base = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 24 * HOUR;
          return Array.from({ length: count }, (_, i) =>
            makeEvent(i, { timestamp: new Date(base + ((i * 7_919_113) % (3 * 24 * HOUR)) + (i % 997)).toISOString() }),
          );
        };

        test("totals, group counts and buckets equal a brute-force count for arbitrary windows", async () => {
          const { app, a } = fresh();
          const events = spread(3000);
          expect((await postJson(app, "/ingest", events, a.key)).status).toBe(200);
          // Duplicates must not inflate the counts.
          expect(await (await postJson(app, "/ingest", events.slice(0, 500), a.key)).json()).toMatchObject({ duplicates: 500 });

          const times = events.map((e) => Date.parse(e.timestamp));
          const lo = Math.min(...times), hi = Math.max(...times);
          let seed = 7;
          const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
          for (let round = 0; round < 12; round++) {
            const x = lo + rnd() * (hi - lo), y = lo + rnd() * (hi - lo);
            const start = Math.floor(Math.min(x, y)), end = round === 0 ? times[5]! : Math.floor(Math.max(x, y));
            const from = round === 0 ? times[5]! : start; // a window of one instant
            const inWindow = events.filter((e) => { const t = Date.parse(e.timestamp); return t >= from && t <= end; });
            const window = { startTime: new Date(from).toISOString(), endTime: new Date(end).toISOString() };

            const page = (await (await postJson(app, "/query", { ...window, limit: 1 }, a.key)).json()) as any;
            expect(page.pagination.total).toBe(inWindow.length);

            const groups = (await (await postJson(app, "/query", { ...window, groupBy: "service" }, a.key)).json()) as any;
            const expected = new Map<string, number>();
            for (const e of inWindow) expected.set(e.serviceName, (expected.get(e.serviceName) ?? 0) + 1);
            expect(new Map(groups.data.map((r: any) => [r.key, r.count]))).toEqual(expected);

            const filtered = (await (await postJson(app, "/query", { ...window, eventType: "trace", limit: 1 }, a.key)).json()) as any;
            expect(filtered.pagination.total).toBe(inWindow.filter((e) => e.eventType === "trace").length);

            for (const interval of ["1m", "5m", "1h", "1d"] as const) {
              const width = { "1m": 60_000, "5m": 300_000, "1h": HOUR, "1d": 24 * HOUR }[interval];
              const buckets = (await (await postJson(app, "/query", { ...window, interval }, a.key)).json()) as any;
              const want = new Map<string, number>();
              for (const e of inWindow) {
                const b = new Date(Math.floor(Date.parse(e.timestamp) / width) * width).toISOString();
                want.set(b, (want.get(b) ?? 0) + 1);
              }
              expect(buckets.interval).toBe(interval);
              expect(buckets.total).toBe(inWindow.length);
              expect(new Map(buckets.data.map((r: any) => [r.bucket, r.count]))).toEqual(want);
            }
          }
        });

        test("buckets per key, ascending by bucket", async () => {
          const { app, a } = fresh();
          const base = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
          const events = [
            makeEvent(1, { timestamp: new Date(base + 10_000).toISOString(), eventType: "log" }),
            makeEvent(2, { timestamp: new Date(base + 20_000).toISOString(), eventType: "log" }),
            makeEvent(3, { timestamp: new Date(base + 30_000).toISOString(), eventType: "metric" }),
            makeEvent(4, { timestamp: new Date(base + HOUR + 5).toISOString(), eventType: "trace" }),
          ];
          await postJson(app, "/ingest", events, a.key);
          const window = { startTime: new Date(base).toISOString(), endTime: new Date(base + 2 * HOUR).toISOString() };
          const body = (await (await postJson(app, "/query", { ...window, interval: "1h", groupBy: "eventType" }, a.key)).json()) as any;
          expect(body).toEqual({
            interval: "1h",
            total: 4,
            data: [
              { bucket: new Date(base).toISOString(), key: "log", count: 2 },
              { bucket: new Date(base).toISOString(), key: "metric", count: 1 },
              { bucket: new Date(base + HOUR).toISOString(), key: "trace", count: 1 },
            ],
          });
          const tooMany = await postJson(app, "/query", { startTime: "2020-01-01T00:00:00Z", endTime: "2026-01-01T00:00:00Z", interval: "1m" }, a.key);
          expect(tooMany.status).toBe(400);
        });
      });

      test("invalid queries are 400 validation_failed", async () => {
        const { app, a } = fresh();
        const bad = [
          { startTime: new Date().toISOString(), endTime: new Date(Date.now() - HOUR).toISOString() },
          { eventType: "span" },
          { limit: 1001 },
          { limit: 0 },
          { page: 0 },
          { page: 1.5 },
          { groupBy: "tenant" },
          { interval: "2m" },
          { startTime: "not a date" },
          { endTime: "2026-02-30T00:00:00Z" },
          { endTime: "2026-01-01T24:00:00.0001Z" },
        ];
        for (const body of bad) {
          const res = await postJson(app, "/query", body, a.key);
          expect(res.status).toBe(400);
          const json = (await res.json()) as any;
          expect(json.error.code).toBe("validation_failed");
          expect(json.error.details.length).toBeGreaterThan(0);
        }
        const malformed = await postJson(app, "/query", "{nope", a.key);
        expect(malformed.status).toBe(400);
        expect(((await malformed.json()) as any).error.code).toBe("invalid_json");
      });
    });

  });
}

function nest(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) value = { n: value };
  return value;
}
