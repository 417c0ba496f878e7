/**
 * POST /delete and GET /usage on PostgreSQL and the embedded store: a delete
 * takes exactly the caller's matching events, in bounded batches, with
 * totals exact afterwards and one audit line; usage equals what was
 * ingested, refused as duplicates and rate-limited, per UTC day.
 */
import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createLogger } from "../../src/observability/logger";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import { DELETE_BATCH } from "../../src/storage/lifecycle";
import { createUsageRecorder } from "../../src/storage/usage-recorder";
import { buildApp, freshTenants, HOUR, makeEvent, postJson, wideWindow } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

describeOnStores("delete and usage", (suite) => {
  test("/delete takes exactly the caller's matching events, over several batches; counts follow; one audit line", async () => {
    const lines: any[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants, { logger: createLogger({ level: "info", destination: sink as never }) });
    const base = Date.now() - 10 * HOUR;
    const events = Array.from({ length: 2 * DELETE_BATCH + 2000 }, (_, i) => makeEvent(i, { timestamp: new Date(base + (i % 600) * 60_000).toISOString() }));
    for (let i = 0; i < events.length; i += 5000) expect((await postJson(app, "/ingest", events.slice(i, i + 5000), tenants.a.key)).status).toBe(200);
    expect((await postJson(app, "/ingest", events.slice(0, 300), tenants.b.key)).status).toBe(200);

    const window = { startTime: new Date(base + 60 * 60_000).toISOString(), endTime: new Date(base + 480 * 60_000).toISOString() };
    const matching = events.filter((e) => e.timestamp >= window.startTime && e.timestamp <= window.endTime);
    const one = await postJson(app, "/delete", { ...window, serviceName: "svc-1" }, tenants.a.key);
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ deleted: matching.filter((e) => e.serviceName === "svc-1").length });
    const all = await postJson(app, "/delete", window, tenants.a.key);
    const rest = matching.filter((e) => e.serviceName !== "svc-1").length;
    expect(rest).toBeGreaterThan(DELETE_BATCH); // more than one batch
    expect(await all.json()).toEqual({ deleted: rest });

    const left = events.length - matching.length;
    const list = (await (await postJson(app, "/query", { ...wideWindow(), limit: 1 }, tenants.a.key)).json()) as any;
    expect(list.pagination.total).toBe(left);
    const inWindow = (await (await postJson(app, "/query", { ...window, groupBy: "eventType" }, tenants.a.key)).json()) as any;
    expect(inWindow.total).toBe(0);
    const [row] = await suite.handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events_all WHERE tenant_id = ${tenants.a.tenant}`;
    expect(row!.n).toBe(left);
    // Tenant b's events in the same window are untouched.
    const other = (await (await postJson(app, "/query", { ...wideWindow(), limit: 1 }, tenants.b.key)).json()) as any;
    expect(other.pagination.total).toBe(300);

    const audit = lines.filter((l) => l.msg === "events deleted");
    expect(audit).toHaveLength(2);
    expect(audit[1]).toMatchObject({ tenant: tenants.a.tenant, ...window, deleted: rest, keyFingerprint: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(JSON.stringify(audit)).not.toContain(tenants.a.key);
  }, 60_000);

  test("/delete refuses a bad window and needs both ends", async () => {
    const { app, a } = suite.fresh();
    for (const body of [{}, { startTime: new Date().toISOString() }, { startTime: new Date().toISOString(), endTime: new Date(Date.now() - HOUR).toISOString() }]) {
      const res = await postJson(app, "/delete", body, a.key);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe("validation_failed");
    }
  });

  test("/usage: events, duplicates and bytes as ingested, rate-limited requests, per UTC day", async () => {
    const tenants = freshTenants();
    const recorder = createUsageRecorder(suite.handle.store, createLogger({ level: "silent" }), 60_000);
    const app = buildApp(suite.handle.store, tenants, { usage: recorder, limiter: createMemoryRateLimiter({ limit: 5, windowMs: 60_000 }) });
    const events = Array.from({ length: 40 }, (_, i) => makeEvent(i, { payload: { i, text: "é".repeat(i) } }));
    expect(await (await postJson(app, "/ingest", events, tenants.a.key)).json()).toMatchObject({ ingested: 40 });
    expect(await (await postJson(app, "/ingest", events.slice(0, 15), tenants.a.key)).json()).toMatchObject({ duplicates: 15 });
    // Single events share group commits: usage is exact through them too.
    const singles = await Promise.all([100, 101, 102].map((i) => postJson(app, "/ingest", makeEvent(i), tenants.a.key)));
    expect(singles.every((r) => r.status === 200)).toBe(true);
    const refused = await Promise.all([1, 2, 3].map(() => postJson(app, "/ingest", makeEvent(200), tenants.a.key)));
    expect(refused.map((r) => r.status)).toEqual([429, 429, 429]);
    await recorder.close();

    const bytes = [...events, ...[100, 101, 102].map((i) => makeEvent(i))].reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e.payload)), 0);
    const res = await (await buildApp(suite.handle.store, tenants).request("/usage", { headers: { "x-api-key": tenants.a.key } })).json();
    const today = new Date().toISOString().slice(0, 10);
    const expected = { events: 43, duplicates: 15, bytes, rateLimited: 3 };
    expect(res).toEqual({ data: [{ day: today, ...expected }], total: expected });
    // Another tenant sees none of it.
    const other = await (await buildApp(suite.handle.store, tenants).request("/usage", { headers: { "x-api-key": tenants.b.key } })).json();
    expect(other).toEqual({ data: [], total: { events: 0, duplicates: 0, bytes: 0, rateLimited: 0 } });
  });
});
