/**
 * Tracing end to end: a real server with ENABLE_TRACING=true exports its own
 * spans over OTLP/HTTP (the standard OTEL_* variables) — here to its own
 * /v1/traces, so the spans can be found through /query.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { random, serviceUrl } from "../support/harness";
import { freePort, startServer, type ServerProcess } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

describe.skipIf(!databaseUrl)("trace export over OTLP/HTTP", () => {
  const schema = `tv_traces_${random()}`;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    // Its own OTLP endpoint is gone once it stops: the final flush gives up after a bounded wait.
    expect(await server?.stop("SIGTERM")).toBe(0);
    const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  }, 30_000);

  test("request spans reach the OTLP endpoint with their trace id, route names and children", async () => {
    const port = freePort();
    const key = `trace-key-${random()}`;
    server = await startServer({
      PORT: String(port),
      DATABASE_URL: databaseUrl!,
      DB_SCHEMA: schema,
      API_KEYS: `${key}:traces-${random()}`,
      ENABLE_TRACING: "true",
      OTEL_SERVICE_NAME: "vault-under-test",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${key}`,
      OTEL_BSP_SCHEDULE_DELAY: "200",
    });
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await fetch(`${server.url}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: "{}",
    });
    expect(res.status).toBe(200);

    // The batch processor exports within ~200 ms; the export itself is traced too.
    let spans: any[] = [];
    for (let attempt = 0; attempt < 50 && !spans.some((s) => s.payload.name === "POST /query"); attempt++) {
      await Bun.sleep(200);
      const found = await fetch(`${server.url}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key },
        body: JSON.stringify({ serviceName: "vault-under-test", eventType: "trace", limit: 1000 }),
      });
      spans = ((await found.json()) as any).data;
    }
    const request = spans.filter((s) => s.payload.traceId === traceId);
    const server_ = request.find((s) => s.payload.name === "POST /query");
    expect(server_).toBeDefined();
    expect(server_.payload.parentSpanId).toBe("b7ad6b7169203331");
    const children = request.filter((s) => s.payload.parentSpanId === server_.payload.spanId).map((s) => s.payload.name);
    expect(children).toEqual(expect.arrayContaining(["ratelimit.check", "db.query.events", "db.query.count"]));
    expect(server!.output()).toContain(`"traceId":"${traceId}"`);
  }, 30_000);
});
