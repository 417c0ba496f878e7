/**
 * The /ingest contract, through app.request() on PostgreSQL and on the
 * embedded store: formats, limits, validation, idempotency and concurrency,
 * each checked against what is stored.
 */
import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { HOUR, makeEvent, postGzip, postJson, wideWindow } from "../support/harness";
import { describeOnStores, storedCount, storedRows } from "../support/store-suite";

describeOnStores("ingest contract", (suite) => {
  describe("ingest", () => {
    test("one event: 200 with counts, stored exactly as sent", async () => {
      const { app, a } = suite.fresh();
      const event = makeEvent(1, { payload: { user: { id: 7, tags: ["x", "y"] }, ok: true, n: null, f: 1.5 } });
      const res = await postJson(app, "/ingest", event, a.key);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ingested: 1, duplicates: 0, message: "Events ingested successfully" });
      const rows = await storedRows(suite.handle, a.tenant);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.event_id).toBe(event.eventId);
      expect(rows[0]!.payload).toEqual(event.payload);
      expect(rows[0]!.ts.toISOString()).toBe(event.timestamp);
    });

    test("payload is optional and defaults to {}", async () => {
      const { app, a } = suite.fresh();
      const { payload: _, ...event } = makeEvent(2);
      expect((await postJson(app, "/ingest", event, a.key)).status).toBe(200);
      expect((await storedRows(suite.handle, a.tenant))[0]!.payload).toEqual({});
    });

    test("duplicates within a request: the first occurrence wins", async () => {
      const { app, a } = suite.fresh();
      const first = makeEvent(1, { payload: { version: "first" } });
      const second = makeEvent(1, { payload: { version: "second" } });
      const res = await postJson(app, "/ingest", [first, makeEvent(2), second], a.key);
      expect(await res.json()).toMatchObject({ ingested: 2, duplicates: 1 });
      const rows = await storedRows(suite.handle, a.tenant);
      expect(rows.map((r) => r.event_id)).toEqual([makeEvent(1).eventId, makeEvent(2).eventId]);
      expect(rows[0]!.payload).toEqual({ version: "first" });
    });

    test("duplicates across requests are counted, not stored again", async () => {
      const { app, a } = suite.fresh();
      const batch = [1, 2, 3].map((i) => makeEvent(i));
      expect(await (await postJson(app, "/ingest", batch, a.key)).json()).toMatchObject({ ingested: 3, duplicates: 0 });
      const again = [...batch, makeEvent(4)];
      expect(await (await postJson(app, "/ingest", again, a.key)).json()).toMatchObject({ ingested: 1, duplicates: 3 });
      expect(await storedCount(suite.handle, a.tenant)).toBe(4);
    });

    test("NDJSON bodies, with blank lines and CRLF", async () => {
      const { app, a } = suite.fresh();
      const lines = [1, 2, 3].map((i) => JSON.stringify(makeEvent(i))).join("\r\n") + "\n\n";
      const res = await postJson(app, "/ingest", lines, a.key, { "content-type": "application/x-ndjson" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ingested: 3, duplicates: 0 });
      expect(await storedCount(suite.handle, a.tenant)).toBe(3);
    });

    test("gzip bodies, JSON and NDJSON", async () => {
      const { app, a } = suite.fresh();
      const json = await postGzip(app, "/ingest", JSON.stringify([makeEvent(1), makeEvent(2)]), a.key);
      expect(json.status).toBe(200);
      expect(await json.json()).toMatchObject({ ingested: 2 });
      const ndjson = await postGzip(app, "/ingest", [3, 4].map((i) => JSON.stringify(makeEvent(i))).join("\n"), a.key, "application/x-ndjson");
      expect(ndjson.status).toBe(200);
      expect(await ndjson.json()).toMatchObject({ ingested: 2 });
      expect(await storedCount(suite.handle, a.tenant)).toBe(4);
    });

    test("a gzip bomb is refused with 413 without inflating it in memory", async () => {
      const { app, a } = suite.fresh();
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
      expect(await storedCount(suite.handle, a.tenant)).toBe(0);
    });

    test("corrupt gzip is 400 invalid_json; unknown encodings and content types are 415", async () => {
      const { app, a } = suite.fresh();
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
      expect(await storedCount(suite.handle, a.tenant)).toBe(0);
    });

    test("bodies over MAX_BODY_BYTES are 413 payload_too_large, plain or gzip", async () => {
      const { app, a } = suite.fresh({ MAX_BODY_BYTES: "4096" });
      const big = [makeEvent(1, { payload: { blob: "x".repeat(5000) } })];
      const plain = await postJson(app, "/ingest", big, a.key);
      expect(plain.status).toBe(413);
      expect(((await plain.json()) as any).error.code).toBe("payload_too_large");
      const zipped = await postGzip(app, "/ingest", JSON.stringify(big), a.key);
      expect(zipped.status).toBe(413);
      expect(await storedCount(suite.handle, a.tenant)).toBe(0);
    });

    test("more than MAX_BATCH events is 413 batch_too_large", async () => {
      const { app, a } = suite.fresh({ MAX_BATCH: "5" });
      const res = await postJson(app, "/ingest", [1, 2, 3, 4, 5, 6].map((i) => makeEvent(i)), a.key);
      expect(res.status).toBe(413);
      expect(((await res.json()) as any).error.code).toBe("batch_too_large");
      expect(await storedCount(suite.handle, a.tenant)).toBe(0);
      expect((await postJson(app, "/ingest", [1, 2, 3, 4, 5].map((i) => makeEvent(i)), a.key)).status).toBe(200);
    });

    test("malformed JSON and invalid UTF-8 are 400 invalid_json", async () => {
      const { app, a } = suite.fresh();
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
      expect(await storedCount(suite.handle, a.tenant)).toBe(0);
    });

    test("an empty array and non-object bodies are 400 validation_failed", async () => {
      const { app, a } = suite.fresh();
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
      // Keys of B-tree indexes (count tables, trace index), which hold 2704 bytes at most; random, so not compressible.
      ["level over 256 characters", { payload: { level: randomText(257) } }, "payload.level"],
      ["traceId over 128 characters", { payload: { traceId: randomText(3000) } }, "payload.traceId"],
      ["trace_id over 128 characters", { payload: { trace_id: randomText(129) } }, "payload.traceId"],
      ["traceId over 128 characters once lowercased", { payload: { traceId: "İ".repeat(65) } }, "payload.traceId"],
    ];
    for (const [name, override, path] of invalidCases) {
      test(`400 validation_failed, nothing stored: ${name}`, async () => {
        const { app, a } = suite.fresh();
        const bad = makeEvent(5, override);
        const res = await postJson(app, "/ingest", [makeEvent(1), makeEvent(2), bad], a.key);
        expect(res.status).toBe(400);
        const body = (await res.json()) as any;
        expect(body.error.code).toBe("validation_failed");
        expect(body.error.details[0]).toEqual({ index: 2, path: expect.stringContaining(path), message: expect.any(String) });
        expect(await storedCount(suite.handle, a.tenant)).toBe(0);
      });
    }

    test("timestamps at the edges of the window are accepted; offsets are normalised to UTC", async () => {
      const { app, a } = suite.fresh();
      const events = [
        makeEvent(1, { timestamp: "1970-01-01T00:00:00Z" }),
        makeEvent(2, { timestamp: new Date(Date.now() + 23 * HOUR).toISOString() }),
        makeEvent(3, { timestamp: "2026-03-04T05:06:07.891+02:00" }),
      ];
      expect((await postJson(app, "/ingest", events, a.key)).status).toBe(200);
      const rows = await storedRows(suite.handle, a.tenant);
      expect(rows[2]!.ts.toISOString()).toBe("2026-03-04T03:06:07.891Z");
    });

    test("24:00:00 is the next midnight: stored as that, answered 200, alone, shared or in a chunked batch", async () => {
      const { app, a } = suite.fresh();
      const midnight = (day: number) => ({ sent: `2026-11-${day}T24:00:00.000Z`, stored: `2026-11-${day + 1}T00:00:00.000Z` });
      // Small requests share transactions (group commit): the others must not pay for this one.
      const shared = await Promise.all([
        postJson(app, "/ingest", makeEvent(1, { timestamp: midnight(20).sent }), a.key),
        ...[2, 3, 4].map((i) => postJson(app, "/ingest", makeEvent(i), a.key)),
      ]);
      for (const res of shared) expect(await res.json()).toMatchObject({ ingested: 1, duplicates: 0 });
      // Over 1 MiB of payloads: written in chunks of one transaction.
      const big = Array.from({ length: 20 }, (_, i) =>
        makeEvent(10 + i, { ...(i === 7 ? { timestamp: midnight(21).sent } : {}), payload: { blob: randomText(60_000) } }));
      const chunked = await postJson(app, "/ingest", big, a.key);
      expect(chunked.status).toBe(200);
      expect(await chunked.json()).toMatchObject({ ingested: 20, duplicates: 0 });
      const rows = await storedRows(suite.handle, a.tenant);
      expect(rows.find((r) => r.event_id === makeEvent(1).eventId)!.ts.toISOString()).toBe(midnight(20).stored);
      expect(rows.find((r) => r.event_id === makeEvent(17).eventId)!.ts.toISOString()).toBe(midnight(21).stored);
      expect(rows).toHaveLength(24);
      // Sent again, either form is the same event.
      const again = await postJson(app, "/ingest", [makeEvent(1, { timestamp: midnight(20).stored })], a.key);
      expect(await again.json()).toMatchObject({ ingested: 0, duplicates: 1 });
    });

    test("payload nested exactly 32 deep is accepted; 100 000 deep is refused fast", async () => {
      const { app, a } = suite.fresh();
      expect((await postJson(app, "/ingest", makeEvent(1, { payload: nest(31) }), a.key)).status).toBe(200);
      const deep = `[${JSON.stringify(makeEvent(2)).slice(0, -1)},"payload":${"[".repeat(100_000)}${"]".repeat(100_000)}}]`;
      const started = performance.now();
      const res = await postJson(app, "/ingest", deep, a.key);
      expect(res.status).toBe(400);
      expect(performance.now() - started).toBeLessThan(500);
      expect(((await res.json()) as any).error.details[0].index).toBe(0);
    });

    test("non-finite numbers (1e400) are refused", async () => {
      const { app, a } = suite.fresh();
      const text = JSON.stringify(makeEvent(1)).replace('"i":1', '"i":1e400');
      const res = await postJson(app, "/ingest", text, a.key);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.details[0].path).toBe("payload.i");
    });

    test("unicode payloads and SQL-looking strings round-trip exactly", async () => {
      const { app, a } = suite.fresh();
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
      expect(await storedCount(suite.handle, a.tenant)).toBe(1);
    });

    test("a 10 000-event batch is stored in one request", async () => {
      const { app, a } = suite.fresh();
      const batch = Array.from({ length: 10_000 }, (_, i) => makeEvent(i));
      const res = await postJson(app, "/ingest", batch, a.key);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ingested: 10_000, duplicates: 0 });
      expect(await storedCount(suite.handle, a.tenant)).toBe(10_000);
    });

    test("20 concurrent overlapping batches over a shared id pool: no error, exact counts", async () => {
      const { app, a } = suite.fresh();
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
      expect(await storedCount(suite.handle, a.tenant)).toBe(distinct);
    });

    test("concurrent single-event requests share transactions yet get exact counts of their own", async () => {
      const { app, a, b } = suite.fresh();
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
      expect(await storedCount(suite.handle, a.tenant)).toBe(100);
      expect(await storedCount(suite.handle, b.tenant)).toBe(30);
    });

    test("a tenant named in the body is ignored: the key decides", async () => {
      const { app, a, b } = suite.fresh();
      const event = { ...makeEvent(1), tenantId: b.tenant, tenant: b.tenant };
      expect((await postJson(app, "/ingest", event, a.key)).status).toBe(200);
      expect(await storedCount(suite.handle, a.tenant)).toBe(1);
      expect(await storedCount(suite.handle, b.tenant)).toBe(0);
    });
  });
}, { productionLike: true });

function nest(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) value = { n: value };
  return value;
}

/** Text that does not compress (PostgreSQL compresses long index keys before their size is checked). */
function randomText(length: number): string {
  let text = "";
  while (text.length < length) text += crypto.randomUUID().replaceAll("-", "");
  return text.slice(0, length);
}
