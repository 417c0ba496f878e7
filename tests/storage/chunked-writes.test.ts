/**
 * A batch whose payloads exceed WRITE_CHUNK_BYTES is written in several
 * statements of one transaction, then counted once. It must behave exactly
 * like a one-statement write: all or nothing, duplicates exact across
 * chunks, counts equal to the rows, and no deadlock between concurrent
 * overlapping batches.
 */
import { expect, test } from "bun:test";
import { WRITE_CHUNK_BYTES } from "../../src/storage/write-sql";
import { buildApp, freshTenants, makeEvent, postJson, wideWindow } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

const PAYLOAD = "p".repeat(1000);
const event = (i: number) => makeEvent(i, { payload: { i, text: PAYLOAD } });

describeOnStores("chunked writes", (suite) => {
  async function rowsAndCounts(tenant: string) {
    const [rows] = await suite.handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant}`;
    const [minutes] = await suite.handle.sql<{ n: number }[]>`SELECT coalesce(sum(count), 0)::int AS n FROM event_counts_minute WHERE tenant_id = ${tenant}`;
    const [hours] = await suite.handle.sql<{ n: number }[]>`SELECT coalesce(sum(count), 0)::int AS n FROM event_counts_hour WHERE tenant_id = ${tenant}`;
    return { rows: rows!.n, minutes: minutes!.n, hours: hours!.n };
  }

  test("several chunks: duplicates exact across them, counts equal the rows, one answer", async () => {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    const batch = Array.from({ length: 2500 }, (_, i) => event(i));
    expect(batch.length * (PAYLOAD.length + 20)).toBeGreaterThan(2 * WRITE_CHUNK_BYTES);
    expect((await postJson(app, "/ingest", batch.slice(0, 300), tenants.a.key)).status).toBe(200);
    // 300 already stored, 2200 new, and 50 repeated inside the request.
    const res = await postJson(app, "/ingest", [...batch, ...batch.slice(1000, 1050)], tenants.a.key);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ingested: 2200, duplicates: 350 });
    expect(await rowsAndCounts(tenants.a.tenant)).toEqual({ rows: 2500, minutes: 2500, hours: 2500 });
    const total = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "service" }, tenants.a.key)).json()) as any;
    expect(total.total).toBe(2500);
  });

  test("a chunk that fails rolls back the chunks before it", async () => {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    // Validation keeps such rows out of /ingest, so the batch goes straight
    // to the store, its last row (in the last chunk) refused by the table.
    const batch = Array.from({ length: 2500 }, (_, i) => event(i));
    const events = batch.map((e, i) => ({
      eventId: e.eventId,
      eventType: (i === 2499 ? "span" : e.eventType) as "log",
      serviceName: e.serviceName,
      timestamp: e.timestamp,
      payloadJson: JSON.stringify(e.payload),
      payloadBytes: JSON.stringify(e.payload).length,
      searchText: e.eventId,
      traceId: null,
    }));
    await expect(suite.handle.store.ingest(tenants.a.tenant, events)).rejects.toThrow();
    expect(await rowsAndCounts(tenants.a.tenant)).toEqual({ rows: 0, minutes: 0, hours: 0 });
    expect(suite.handle.store.poolStats()).toEqual({ inUse: 0, waiting: 0 });
    expect((await postJson(app, "/ingest", batch, tenants.a.key)).status).toBe(200);
  });

  test("concurrent overlapping chunked batches: no deadlock, exact counts", async () => {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    const pool = 3000;
    const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 1500 }, (_, i) => event((b * 397 + i * 7) % pool)));
    const answers = await Promise.all(batches.map((batch) => postJson(app, "/ingest", batch, tenants.a.key)));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { ingested: number; duplicates: number }[];
    const distinct = new Set(batches.flat().map((e) => e.eventId)).size;
    expect(bodies.reduce((sum, b) => sum + b.ingested, 0)).toBe(distinct);
    expect(await rowsAndCounts(tenants.a.tenant)).toEqual({ rows: distinct, minutes: distinct, hours: distinct });
  }, 60_000);
});
