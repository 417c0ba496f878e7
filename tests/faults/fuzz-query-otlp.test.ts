/**
 * Fuzzing the doors beyond /ingest with fast-check, through app.request() on
 * the real PostgreSQL store: generated /query bodies, real cursors tampered
 * with (mutated, truncated, re-encoded), and OTLP bodies in both encodings.
 *
 * Proves: never a 5xx and never a hang; answers keep their invariants; a
 * 4xx on OTLP stores nothing; and afterwards the pool is idle and the store
 * ready, so nothing was left holding a connection.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ExportLogsServiceRequest, ExportTraceServiceRequest } from "../../src/otlp/schema.ts";
import { buildApp, freshTenants, makeEvent, openPostgresTestStore, postJson, serviceUrl, type StoreHandle, type TestApp } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
const HOUR = 3_600_000;

const validInstant = fc.integer({ min: -2 * 24 * HOUR, max: HOUR }).map((offset) => new Date(Date.now() + offset).toISOString());
const instant = fc.oneof(
  validInstant,
  fc.constantFrom(
    "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00",
    "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z", "garbage", "", "2026-01-01T00:00:00\ud800Z", "+275760-09-13T00:00:00.000Z",
  ),
  fc.string({ maxLength: 30 }),
);
const anyJson = fc.jsonValue({ maxDepth: 2 });
const field = <T,>(valid: fc.Arbitrary<T>) => fc.option(fc.oneof({ weight: 4, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson }), { nil: undefined });

/** Bodies a client might send: every field valid or absent (some still refused, e.g. start after end). */
const validBody = fc.record(
  {
    startTime: validInstant,
    endTime: validInstant,
    eventType: fc.constantFrom("log", "metric", "trace"),
    serviceName: fc.constantFrom("svc-0", "svc-1", "svc-9"),
    page: fc.integer({ min: 1, max: 30 }),
    limit: fc.integer({ min: 1, max: 1000 }),
    groupBy: fc.constantFrom("service", "eventType"),
    interval: fc.constantFrom("1m", "5m", "1h", "1d"),
  },
  { requiredKeys: [] },
);
const mixedBody = fc.record(
  {
    startTime: field(instant),
    endTime: field(instant),
    eventType: field(fc.constantFrom("log", "metric", "trace", "span", "")),
    serviceName: field(fc.oneof(fc.constantFrom("svc-0", "svc-1", "a\u0000b", "\udc00", "", "x".repeat(129)), fc.string({ maxLength: 10 }))),
    page: field(fc.oneof(fc.integer({ min: -5, max: 30 }), fc.constantFrom(1e20, 1.5, 1_000_000, 1_000_001))),
    limit: field(fc.oneof(fc.integer({ min: -1, max: 1001 }), fc.constantFrom(1e9, 2.5))),
    groupBy: field(fc.constantFrom("service", "eventType", "tenant")),
    interval: field(fc.constantFrom("1m", "5m", "1h", "1d", "2m")),
  },
  { requiredKeys: [] },
);
const queryBody = fc.oneof(validBody, mixedBody);

/** What a tamperer can do to a real cursor. */
function tamper(cursor: string): fc.Arbitrary<string> {
  const state = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  const keys = [...Object.keys(state), "after.timestamp", "after.eventId"];
  return fc.oneof(
    fc.integer({ min: 0, max: cursor.length - 1 }).map((at) => cursor.slice(0, at)),
    fc.tuple(fc.integer({ min: 0, max: cursor.length - 1 }), fc.constantFrom(..."AZaz09-_+/=!\u0000")).map(([at, ch]) => cursor.slice(0, at) + ch + cursor.slice(at + 1)),
    fc.constant(Buffer.from(JSON.stringify(state)).toString("base64")),
    fc.tuple(fc.constantFrom(...keys), anyJson).map(([key, value]) => {
      const copy = structuredClone(state);
      if (key.startsWith("after.")) copy.after = { ...copy.after, [key.slice(6)]: value };
      else copy[key] = value;
      return Buffer.from(JSON.stringify(copy)).toString("base64url");
    }),
  );
}

describe.skipIf(!databaseUrl)("fuzz: /query bodies, tampered cursors and OTLP bodies on PostgreSQL", () => {
  let handle: StoreHandle;
  let app: TestApp;
  const tenants = freshTenants();
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
    app = buildApp(handle.store, tenants);
    const events = Array.from({ length: 300 }, (_, i) => makeEvent(i, { timestamp: new Date(Date.now() - (i * 7 * 60_000) % (40 * HOUR)).toISOString() }));
    expect((await postJson(app, "/ingest", events, tenants.a.key)).status).toBe(200);
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  async function expectIdle() {
    expect(handle.store.poolStats()).toEqual({ inUse: 0, waiting: 0 });
    expect((await app.request("/health/ready")).status).toBe(200);
  }

  test("generated /query bodies: 200 or 400 only; list answers keep their invariants", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(queryBody, async (body) => {
        const res = await postJson(app, "/query", body, tenants.a.key);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const json = (await res.json()) as any;
        if (res.status !== 200) {
          expect(res.status).toBe(400);
          expect(json.error.code).toBe("validation_failed");
          return;
        }
        if (json.pagination) {
          const { total, limit, totalPages } = json.pagination;
          expect(totalPages).toBe(Math.ceil(total / limit));
          expect(json.data.length).toBeLessThanOrEqual(limit);
        } else {
          expect(json.total).toBe(json.data.reduce((sum: number, row: any) => sum + row.count, 0));
        }
      }),
      { numRuns: RUNS, seed: 2026 },
    );
    console.log(`[fuzz-query] ${RUNS} bodies: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(", ")}`);
    expect(statuses.get(200)).toBeGreaterThan(RUNS / 10);
    await expectIdle();
  }, 120_000);

  test("tampered cursors: 200 for the untouched meaning, else 400; never more than a page", async () => {
    const first = (await (await postJson(app, "/query", { startTime: new Date(Date.now() - 48 * HOUR).toISOString(), limit: 7 }, tenants.a.key)).json()) as any;
    const cursor = first.nextCursor as string;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(tamper(cursor), async (forged) => {
        const res = await postJson(app, "/query", { cursor: forged }, tenants.a.key);
        const json = (await res.json()) as any;
        if (res.status === 200) expect(json.data.length).toBeLessThanOrEqual(1000);
        else {
          refused++;
          expect([res.status, json.error.code]).toEqual([400, "validation_failed"]);
        }
      }),
      { numRuns: RUNS, seed: 7 },
    );
    expect(refused).toBeGreaterThan(RUNS / 2);
    await expectIdle();
  }, 120_000);

  const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.record({ stringValue: fc.string({ maxLength: 20 }) }),
      fc.record({ intValue: fc.oneof(fc.integer(), fc.constantFrom("9223372036854775807", "-1", "x")) }),
      fc.record({ doubleValue: fc.oneof(fc.double(), fc.constantFrom("NaN", "Infinity", 5e-324, 1e308)) }),
      fc.record({ boolValue: fc.oneof(fc.boolean(), fc.constant("yes")) }),
      fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string({ maxLength: 5 }), value: tie("value") }), { maxLength: 3 }) }) }),
      fc.record({ arrayValue: fc.record({ values: fc.array(tie("value"), { maxLength: 3 }) }) }),
      anyJson,
    ),
  })).value;
  const hexId = (bytes: number) => fc.oneof(fc.constantFrom("0".repeat(bytes * 2), "zz", ""), fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex")));
  const nanos = fc.oneof(fc.constant(String(BigInt(Date.now()) * 1_000_000n)), fc.constantFrom("0", "-1", "x", "99999999999999999999999"), fc.integer({ min: 0 }));
  const span = fc.record({ traceId: hexId(16), spanId: hexId(8), name: fc.string({ maxLength: 10 }), startTimeUnixNano: nanos, endTimeUnixNano: nanos, attributes: fc.array(fc.record({ key: fc.string({ maxLength: 5 }), value: anyValue }), { maxLength: 3 }) }, { requiredKeys: [] });
  const logRecord = fc.record({ timeUnixNano: nanos, severityNumber: fc.oneof(fc.integer({ min: -1, max: 30 }), fc.constant("SEVERITY_NUMBER_WARN")), body: anyValue, traceId: hexId(16) }, { requiredKeys: [] });
  const resource = fc.record({ attributes: fc.array(fc.record({ key: fc.constantFrom("service.name", "host"), value: anyValue }), { maxLength: 2 }) });
  const otlpRequest = fc.oneof(
    fc.record({ signal: fc.constant("traces"), body: fc.record({ resourceSpans: fc.array(fc.record({ resource, scopeSpans: fc.array(fc.record({ spans: fc.array(span, { maxLength: 4 }) }), { maxLength: 2 }) }), { maxLength: 2 }) }) }),
    fc.record({ signal: fc.constant("logs"), body: fc.record({ resourceLogs: fc.array(fc.record({ resource, scopeLogs: fc.array(fc.record({ logRecords: fc.array(logRecord, { maxLength: 4 }) }), { maxLength: 2 }) }), { maxLength: 2 }) }) }),
    fc.record({ signal: fc.constantFrom("traces", "logs", "metrics"), body: anyJson }),
  );

  test("generated OTLP bodies, JSON and protobuf: never 5xx, a 4xx stores nothing", async () => {
    const statuses = new Map<number, number>();
    let tenant = freshTenants();
    let otlpApp = buildApp(handle.store, tenant);
    await fc.assert(
      fc.asyncProperty(otlpRequest, fc.constantFrom("json", "protobuf", "mangled"), async ({ signal, body }, encoding) => {
        let bytes: Uint8Array;
        if (encoding === "json") bytes = new TextEncoder().encode(JSON.stringify(body));
        else {
          const type = signal === "logs" ? ExportLogsServiceRequest : ExportTraceServiceRequest;
          try {
            bytes = type.encode(type.fromObject(body as object)).finish();
          } catch {
            bytes = new TextEncoder().encode(JSON.stringify(body)); // not representable: send the JSON as protobuf
          }
          if (encoding === "mangled" && bytes.length > 0) bytes = bytes.subarray(0, Math.max(1, bytes.length - 3));
        }
        const res = await otlpApp.request(`/v1/${signal}`, {
          method: "POST",
          headers: { "content-type": encoding === "json" ? "application/json" : "application/x-protobuf", "x-api-key": tenant.a.key },
          body: bytes as Uint8Array<ArrayBuffer>,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          const [row] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant.a.tenant}`;
          expect(row!.n).toBe(0);
        } else {
          // A fresh tenant for the next run, so "stored nothing" can be checked.
          tenant = freshTenants();
          otlpApp = buildApp(handle.store, tenant);
        }
      }),
      { numRuns: RUNS, seed: 99 },
    );
    console.log(`[fuzz-otlp] ${RUNS} bodies: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(", ")}`);
    expect(statuses.get(200)).toBeGreaterThan(RUNS / 10);
    expect(statuses.get(400)).toBeGreaterThan(RUNS / 20);
    await expectIdle();
  }, 120_000);

  test("protobuf records around the value budget, tampered byte by byte: never 5xx, a 4xx stores nothing", async () => {
    // Records of 100 KB or more are counted on the wire before they are decoded (otlp/value-budget.ts):
    // one span just within the budget, one just over, under a resource just within it.
    const attributes = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `a${i}`, value: { stringValue: "v" } }));
    const span = (i: number, n: number) => ({
      traceId: Buffer.alloc(16, i), spanId: Buffer.alloc(8, i), name: "s",
      startTimeUnixNano: String(BigInt(Date.now() - 1000) * 1_000_000n), attributes: attributes(n),
    });
    const request = { resourceSpans: [{ resource: { attributes: attributes(24_000) }, scopeSpans: [{ spans: [span(1, 24_999), span(2, 25_001)] }] }] };
    const body = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
    const tampered = fc.oneof(
      fc.integer({ min: 1, max: body.length - 1 }).map((at) => body.subarray(0, at)),
      fc.tuple(fc.integer({ min: 0, max: body.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const copy = Uint8Array.from(body); // a copy: the encoder's Buffer slices are views
        copy[at] = byte;
        return copy;
      }),
      // Inside a string value: the structure holds, the text does not (invalid UTF-8 included).
      fc.tuple(fc.integer({ min: 0, max: body.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([from, byte]) => {
        const copy = Uint8Array.from(body); // a copy: the encoder's Buffer slices are views
        const at = copy.indexOf(0x76, from); // "v"
        if (at !== -1) copy[at] = byte;
        return copy;
      }),
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(tampered, async (bytes) => {
        const tenant = freshTenants();
        const res = await buildApp(handle.store, tenant).request("/v1/traces", {
          method: "POST",
          headers: { "content-type": "application/x-protobuf", "x-api-key": tenant.a.key },
          body: bytes as Uint8Array<ArrayBuffer>,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
        const [row] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant.a.tenant}`;
        if (res.status >= 400) expect(row!.n).toBe(0);
        else expect(row!.n).toBeLessThanOrEqual(2);
      }),
      { numRuns: 60, seed: 7 },
    );
    console.log(`[fuzz-otlp-budget] 60 bodies: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(", ")}`);
    await expectIdle();
  }, 120_000);
});
