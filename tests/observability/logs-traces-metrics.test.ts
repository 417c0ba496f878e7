/**
 * What operators see: one log line per request (never a key), spans for each
 * request with database and limiter children, and Prometheus counters that move.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { bodyBudgetFromConfig } from "../../src/http/body-budget";
import { createMetrics } from "../../src/observability/metrics";
import { createTracerProvider } from "../../src/observability/tracer-provider";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import {
  apiKeysEnv,
  freshTenants,
  makeEvent,
  openEmbeddedTestStore,
  openPostgresTestStore,
  postJson,
  serviceUrl,
  testConfig,
  wideWindow,
  type StoreHandle,
} from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

function captureLogs(level = "debug") {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l)) };
}

describe("logs, traces and metrics", () => {
  let handle: StoreHandle;
  beforeAll(async () => {
    handle = databaseUrl ? await openPostgresTestStore(databaseUrl) : await openEmbeddedTestStore();
  }, 120_000);
  afterAll(async () => handle?.cleanup());

  function setup(options: { tracing?: boolean; env?: Record<string, string>; limit?: number } = {}) {
    const tenants = freshTenants();
    const config = testConfig({ ...apiKeysEnv(tenants), LOG_LEVEL: "debug", ...options.env });
    const logs = captureLogs();
    const spans = new InMemorySpanExporter();
    const provider = options.tracing ? createTracerProvider(config, [new SimpleSpanProcessor(spans)]) : undefined;
    const bodyBudget = bodyBudgetFromConfig(config);
    const metrics = createMetrics({ poolStats: () => handle.store.poolStats(), bodyBudgetStats: () => bodyBudget.stats, defaultMetrics: true });
    const app = createApp({
      bodyBudget,
      config,
      store: handle.store,
      limiter: createMemoryRateLimiter({ limit: options.limit ?? 1000, windowMs: 60_000 }),
      logger: logs.logger,
      metrics,
      tracer: provider?.getTracer("test"),
    });
    return { app, tenants, logs, spans, metrics };
  }

  test("one line per request with requestId, tenant, method, route, status, duration and counts; no key ever", async () => {
    const { app, tenants, logs } = setup();
    await postJson(app, "/ingest", [makeEvent(1), makeEvent(1)], tenants.a.key, { "x-request-id": "log-1" });
    await postJson(app, "/query", wideWindow(), tenants.b.key);
    await postJson(app, "/query", {}, "a-wrong-key-value");
    await app.request("/health");

    const requests = logs.records().filter((r) => r.msg === "request");
    expect(requests).toHaveLength(4);
    expect(requests[0]).toMatchObject({
      requestId: "log-1",
      tenant: tenants.a.tenant,
      method: "POST",
      route: "/ingest",
      status: 200,
      ingested: 1,
      duplicates: 1,
      durationMs: expect.any(Number),
    });
    expect(requests[1]).toMatchObject({ tenant: tenants.b.tenant, route: "/query", status: 200 });
    expect(requests[2]).toMatchObject({ route: "/query", status: 401 });
    expect(requests[2].tenant).toBeUndefined();

    const output = logs.lines.join("");
    for (const secret of [tenants.a.key, tenants.b.key, "a-wrong-key-value"]) expect(output).not.toContain(secret);
  });

  test("objects that carry keys or headers are redacted", () => {
    const { logger, lines } = captureLogs();
    logger.info({ apiKey: "k-123", headers: { "x-api-key": "k-456", authorization: "Bearer t-789" }, config: { API_KEYS: "k-000:t" } }, "careless");
    const output = lines.join("");
    for (const secret of ["k-123", "k-456", "t-789", "k-000"]) expect(output).not.toContain(secret);
    expect(output).toContain("[redacted]");
  });

  test("a server span per request named METHOD /route, honouring traceparent, with limiter and database children", async () => {
    const { app, tenants, spans, logs } = setup({ tracing: true });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await postJson(app, "/ingest", makeEvent(1), tenants.a.key, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(res.status).toBe(200);
    const finished = spans.getFinishedSpans();
    const server = finished.find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.name).toBe("POST /ingest");
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(server.attributes["http.response.status_code"]).toBe(200);
    const children = finished.filter((s) => s.parentSpanContext?.spanId === server.spanContext().spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(["ratelimit.check", "db.ingest"]));

    const line = logs.records().find((r) => r.msg === "request");
    expect(line.traceId).toBe(traceId);
  });

  test("5xx responses mark the server span as an error", async () => {
    const { tenants, spans } = setup({ tracing: true });
    // A store whose read fails with an unexpected error (a bug, not an outage).
    const broken = createApp({
      config: testConfig({ ...apiKeysEnv(tenants) }),
      store: { ...handle.store, findEvents: () => Promise.reject(new Error("boom")) },
      limiter: createMemoryRateLimiter({ limit: 10, windowMs: 1000 }),
      logger: createLogger({ level: "silent" }),
      tracer: createTracerProvider(testConfig(), [new SimpleSpanProcessor(spans)]).getTracer("t"),
    });
    const res = await postJson(broken, "/query", {}, tenants.a.key);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "internal_error", message: "Internal server error" }, requestId: expect.any(String) });
    const server = spans.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
  });

  test("without a tracer nothing is traced and nothing breaks", async () => {
    const { app, tenants, spans } = setup({ tracing: false });
    expect((await postJson(app, "/ingest", makeEvent(1), tenants.a.key)).status).toBe(200);
    expect(spans.getFinishedSpans()).toHaveLength(0);
  });

  test("/metrics: request, event, duplicate and rate-limit counters move; pool and memory gauges are there", async () => {
    const { app, tenants } = setup({ limit: 3 });
    await postJson(app, "/ingest", [makeEvent(1), makeEvent(2), makeEvent(2)], tenants.a.key);
    await postJson(app, "/ingest", [makeEvent(1)], tenants.a.key);
    await postJson(app, "/query", {}, tenants.a.key);
    expect((await postJson(app, "/query", {}, tenants.a.key)).status).toBe(429);

    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const t = tenants.a.tenant;
    expect(text).toContain(`tv_events_ingested_total{tenant="${t}"} 2`);
    expect(text).toContain(`tv_events_duplicates_total{tenant="${t}"} 2`);
    expect(text).toContain(`tv_rate_limited_total{tenant="${t}"} 1`);
    expect(text).toContain(`tv_http_requests_total{method="POST",route="/ingest",status="200"} 2`);
    expect(text).toContain(`tv_http_requests_total{method="POST",route="/query",status="429"} 1`);
    expect(text).toMatch(/tv_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/ingest"\} \d+/);
    expect(text).toContain("tv_db_pool_in_use 0");
    expect(text).toContain("tv_db_pool_waiting 0");
    expect(text).toContain("tv_rate_limiter_fallbacks_total 0");
    expect(text).toContain("tv_body_budget_bytes_in_use 0");
    expect(text).toContain("tv_body_budget_waiting 0");
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  test("METRICS_TOKEN guards /metrics when set", async () => {
    const { app } = setup({ env: { METRICS_TOKEN: "s3cret-token" } });
    expect((await app.request("/metrics")).status).toBe(401);
    expect((await app.request("/metrics", { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    expect((await app.request("/metrics", { headers: { authorization: "Bearer s3cret-token" } })).status).toBe(200);
  });
});
