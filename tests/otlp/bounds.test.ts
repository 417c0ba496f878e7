/**
 * OTLP exports are bounded like /ingest batches: records are counted before
 * conversion (MAX_BATCH, 413), the events an export becomes have a byte
 * budget (413), resource and scope copies are capped, content ids hash what
 * was received, deep values are trimmed alike over protobuf and JSON, and
 * every failure, auth and rate limit included, is a google.rpc.Status in the
 * request's encoding. Through app.request() on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import {
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  ExportTraceServiceRequest,
  ExportTraceServiceResponse,
  RpcStatus,
} from "../../src/otlp/schema.ts";
import { buildApp, freshTenants, openPostgresTestStore, serviceUrl, type StoreHandle } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const nowNanos = () => String(BigInt(Date.now() - 1000) * 1_000_000n);
const hex = (n: number, length: number) => n.toString(16).padStart(length, "0");
const kv = (key: string, value: unknown) => ({ key, value });
const str = (stringValue: string) => ({ stringValue });

function spans(count: number, extra: Record<string, unknown> = {}) {
  return Array.from({ length: count }, (_, i) => ({
    traceId: hex(i + 1, 32),
    spanId: hex(i + 1, 16),
    name: `span ${i}`,
    startTimeUnixNano: nowNanos(),
    endTimeUnixNano: nowNanos(),
    ...extra,
  }));
}

function traces(spanList: unknown[], resourceAttributes: unknown[] = [kv("service.name", str("checkout"))]) {
  return { resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ scope: { name: "s" }, spans: spanList }] }] };
}

function logs(records: unknown[]) {
  return { resourceLogs: [{ resource: { attributes: [kv("service.name", str("api"))] }, scopeLogs: [{ scope: { name: "s" }, logRecords: records }] }] };
}

/** The same request as protobuf (ids as bytes) or as OTLP/JSON (ids as hex). */
function encode(type: typeof ExportTraceServiceRequest, request: unknown, encoding: "protobuf" | "json"): Uint8Array {
  if (encoding === "json") return new TextEncoder().encode(JSON.stringify(request));
  const withBytes = JSON.parse(JSON.stringify(request), (key, value) =>
    (key === "traceId" || key === "spanId") && typeof value === "string" ? Buffer.from(value, "hex") : value,
  );
  return type.encode(type.fromObject(withBytes)).finish();
}

const CONTENT_TYPE = { protobuf: "application/x-protobuf", json: "application/json" } as const;

describe.skipIf(!databaseUrl)("OTLP bounds", () => {
  let handle: StoreHandle;
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  function setup(env: Record<string, string> = {}, limit = 1_000_000) {
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants, { env, limiter: createMemoryRateLimiter({ limit, windowMs: 60_000 }) });
    /** `key` "" sends none. */
    const post = (signal: string, body: Uint8Array, encoding: "protobuf" | "json", key = tenants.a.key) =>
      app.request(`/v1/${signal}`, {
        method: "POST",
        headers: { "content-type": CONTENT_TYPE[encoding], ...(key ? { "x-api-key": key } : {}) },
        body: body as Uint8Array<ArrayBuffer>,
      });
    const stored = async () =>
      handle.sql<{ event_id: string; payload: any; payload_size: number }[]>`
        SELECT event_id, payload, payload_size FROM events WHERE tenant_id = ${tenants.a.tenant} ORDER BY event_id`;
    return { app, tenants, post, stored };
  }

  async function status(res: Response, encoding: "protobuf" | "json") {
    expect(res.headers.get("content-type")).toBe(CONTENT_TYPE[encoding]);
    expect(res.headers.get("x-request-id")).toBeString();
    if (encoding === "json") return (await res.json()) as { code: number; message: string };
    return RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await res.arrayBuffer()))) as { code: number; message: string };
  }

  /** The answer's partial_success, as OTLP/JSON names it ({} when there is none). */
  async function partialSuccess(res: Response, encoding: "protobuf" | "json", type: typeof ExportTraceServiceResponse) {
    expect(res.status).toBe(200);
    const answer: any =
      encoding === "json" ? await res.json() : type.toObject(type.decode(new Uint8Array(await res.arrayBuffer())), { longs: String });
    return answer.partialSuccess ?? {};
  }

  for (const encoding of ["protobuf", "json"] as const) {
    test(`${encoding}: more records than MAX_BATCH is 413, counted before conversion; nothing stored`, async () => {
      const { post, stored } = setup({ MAX_BATCH: "50" });
      const res = await post("traces", encode(ExportTraceServiceRequest, traces(spans(51)), encoding), encoding);
      expect(res.status).toBe(413);
      expect(await status(res, encoding)).toMatchObject({ code: 3, message: expect.stringContaining("at most 50 records") });
      expect(await stored()).toHaveLength(0);

      // Metrics count data points, not metrics.
      const points = Array.from({ length: 51 }, (_, i) => ({ timeUnixNano: nowNanos(), asInt: i }));
      const metrics = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "m", gauge: { dataPoints: points } }] }] }] };
      const big = await post("metrics", encode(ExportMetricsServiceRequest as never, metrics, encoding), encoding);
      expect(big.status).toBe(413);
      expect((await post("traces", encode(ExportTraceServiceRequest, traces(spans(50)), encoding), encoding)).status).toBe(200);
      expect(await stored()).toHaveLength(50);
    });

    test(`${encoding}: a big resource is capped in each copy; an export over its byte budget is 413`, async () => {
      const { post, stored } = setup({ MAX_BODY_BYTES: String(256 * 1024) });
      const resource = [kv("service.name", str("checkout")), ...Array.from({ length: 50 }, (_, i) => kv(`big.${i}`, str("r".repeat(1000))))];
      const ok = await post("traces", encode(ExportTraceServiceRequest, traces(spans(10), resource), encoding), encoding);
      expect(ok.status).toBe(200);
      const rows = await stored();
      expect(rows).toHaveLength(10);
      for (const row of rows) {
        expect(row.payload_size).toBeLessThanOrEqual(9 * 1024);
        expect(row.payload.resource.attributes["service.name"]).toBe("checkout");
        expect(row.payload.resource.truncated.droppedAttributes).toBeGreaterThan(40);
        expect(row.payload.resource.truncated.droppedKeys).toHaveLength(20);
      }
      // 100 copies of an 8 KiB resource take more than twice the 256 KiB body limit.
      const tooBig = await post("traces", encode(ExportTraceServiceRequest, traces(spans(100), resource), encoding), encoding);
      expect(tooBig.status).toBe(413);
      expect((await status(tooBig, encoding)).message).toContain("once stored");
      expect(await stored()).toHaveLength(10);
    });
  }

  test("a resource of 24,000 tiny attributes is trimmed in one pass, and a long scope to its cap", async () => {
    const { post, stored } = setup();
    const resource = [kv("service.name", str("checkout")), ...Array.from({ length: 24_000 }, (_, i) => kv(`k${i}`, str("v")))];
    const request = traces(spans(2), resource);
    (request.resourceSpans[0]!.scopeSpans[0]!.scope as Record<string, unknown>) = { name: "n".repeat(3000), version: "v".repeat(3000) };
    const started = performance.now();
    const res = await post("traces", encode(ExportTraceServiceRequest, request, "protobuf"), "protobuf");
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
    const [row] = await stored();
    expect(JSON.stringify(row!.payload.resource).length).toBeLessThanOrEqual(8 * 1024);
    expect(JSON.stringify(row!.payload.scope).length).toBeLessThanOrEqual(2 * 1024);
    expect(row!.payload.resource.truncated.droppedAttributes).toBeGreaterThan(23_000);
  });

  for (const encoding of ["protobuf", "json"] as const) {
    test(`${encoding}: a span, log record, data point, resource or scope of more than 50,000 values is refused undecoded, alone`, async () => {
      const { post, stored } = setup();
      // 25,001 attributes are 50,002 values (a KeyValue and an AnyValue each); 24,999 fit.
      const attributes = (n: number) => Array.from({ length: n }, (_, i) => kv(`a${i}`, str("v")));
      const list = [...spans(2), { ...spans(3)[2]!, attributes: attributes(25_001) }, { ...spans(4)[3]!, attributes: attributes(24_999) }];
      const res = await post("traces", encode(ExportTraceServiceRequest, traces(list), encoding), encoding);
      expect(res.status).toBe(200);
      const answer = await partialSuccess(res, encoding, ExportTraceServiceResponse);
      expect(answer).toEqual({ rejectedSpans: "1", errorMessage: "rejected: record holds more than 50000 values (1)" });
      expect((await stored()).map((r) => r.event_id)).toEqual([1, 2, 4].map((i) => `${hex(i, 32)}-${hex(i, 16)}`));

      // Each data point has its own budget; a metric with one point over it is refused with all its points.
      const point = (n: number) => ({ timeUnixNano: nowNanos(), asInt: 1, attributes: attributes(n) });
      const metrics = (points: unknown[]) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "m", gauge: { dataPoints: points } }] }] }] });
      const many = await post("metrics", encode(ExportMetricsServiceRequest as never, metrics([point(20_000), point(20_000), point(20_000)]), encoding), encoding);
      expect(await partialSuccess(many, encoding, ExportMetricsServiceResponse)).toEqual({});
      const over = await post("metrics", encode(ExportMetricsServiceRequest as never, metrics([point(1), point(25_001)]), encoding), encoding);
      expect(await partialSuccess(over, encoding, ExportMetricsServiceResponse)).toMatchObject({ rejectedDataPoints: "2" });

      // A resource or scope is copied into every record: over the budget, all its records are refused.
      const bigResource = [kv("service.name", str("other")), ...attributes(25_001)];
      const request = { resourceSpans: [...traces(spans(6).slice(5), bigResource).resourceSpans, ...traces(spans(7).slice(6)).resourceSpans] };
      (request.resourceSpans[1]!.scopeSpans[0]! as any).scope = { name: "s", attributes: attributes(25_001) };
      request.resourceSpans.push(...traces(spans(8).slice(7)).resourceSpans);
      const refused = await post("traces", encode(ExportTraceServiceRequest, request, encoding), encoding);
      expect(await partialSuccess(refused, encoding, ExportTraceServiceResponse)).toEqual({
        rejectedSpans: "2",
        errorMessage: "rejected: resource holds more than 50000 values (1); scope holds more than 50000 values (1)",
      });
      const ids = (await stored()).map((r) => r.event_id).filter((id) => id.length === 49);
      expect(ids).toContain(`${hex(8, 32)}-${hex(8, 16)}`);
      expect(ids).not.toContain(`${hex(6, 32)}-${hex(6, 16)}`);
      expect(ids).not.toContain(`${hex(7, 32)}-${hex(7, 16)}`);
    }, 60_000);
  }

  test("log records differing only past the trimming point keep their own ids; sent again, they are duplicates", async () => {
    const { post, stored } = setup();
    const time = nowNanos();
    const record = (tail: string) => ({ timeUnixNano: time, body: str(`${"x".repeat(70_000)}${tail}`) });
    const body = encode(ExportLogsServiceRequest as never, logs([record("a"), record("b")]), "protobuf");
    expect((await post("logs", body, "protobuf")).status).toBe(200);
    expect((await post("logs", body, "protobuf")).status).toBe(200);
    const rows = await stored();
    expect(rows).toHaveLength(2);
    expect(rows[0]!.payload.truncated).toBeDefined();
    expect(rows[0]!.event_id).not.toBe(rows[1]!.event_id);
  });

  test("a body nested 33 deep is trimmed the same over protobuf and JSON: one event, then a duplicate", async () => {
    const { post, stored } = setup();
    let body: unknown = str("leaf");
    for (let i = 0; i < 33; i++) body = { kvlistValue: { values: [kv(`level${i}`, body)] } };
    const request = logs([{ timeUnixNano: nowNanos(), body }]);
    const viaProtobuf = await post("logs", encode(ExportLogsServiceRequest as never, request, "protobuf"), "protobuf");
    expect(viaProtobuf.status).toBe(200);
    const viaJson = await post("logs", encode(ExportLogsServiceRequest as never, request, "json"), "json");
    expect(viaJson.status).toBe(200);
    const rows = await stored();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0]!.payload.body)).toContain("[value nested too deeply]");
  });

  test("401, 404, 415 and 429 are google.rpc.Status in the request's encoding, keeping their headers", async () => {
    const { post, tenants } = setup({}, 1);
    const body = encode(ExportTraceServiceRequest, traces(spans(1)), "protobuf");
    const unauthorized = await post("traces", body, "protobuf", "wrong-key");
    expect(unauthorized.status).toBe(401);
    expect(await status(unauthorized, "protobuf")).toMatchObject({ code: 16 });
    const jsonUnauthorized = await post("traces", encode(ExportTraceServiceRequest, traces(spans(1)), "json"), "json", "");
    expect(jsonUnauthorized.status).toBe(401);
    expect(await status(jsonUnauthorized, "json")).toMatchObject({ code: 16, message: expect.stringContaining("X-API-Key") });

    expect((await post("traces", body, "protobuf")).status).toBe(200);
    const limited = await post("traces", body, "protobuf");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await status(limited, "protobuf")).toMatchObject({ code: 8 });

    const xml = await buildApp(handle.store, tenants).request("/v1/traces", {
      method: "POST",
      headers: { "content-type": "text/xml", "x-api-key": tenants.a.key },
      body: "<x/>",
    });
    expect(xml.status).toBe(415);
    expect(await status(xml, "json")).toMatchObject({ code: 3 });
    const unknown = await setup().post("spans", body, "protobuf");
    expect(unknown.status).toBe(404);
    expect(await status(unknown, "protobuf")).toMatchObject({ code: 5 });
  });
});
