/**
 * Graceful shutdown of the real server process: readiness turns 503 at once,
 * in-flight requests finish and get their responses, and the process exits 0.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { makeEvent, random, serviceUrl } from "../support/harness";
import { startServer } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

describe.skipIf(!databaseUrl)("graceful shutdown", () => {
  const schema = `tv_shutdown_${random()}`;
  const admin = postgres(databaseUrl ?? "", { max: 1, onnotice: () => {} });
  afterAll(async () => {
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  test("SIGTERM during 20 concurrent ingests: every request answered, every 200 stored, exit code 0", async () => {
    const tenant = `shutdown-${random()}`;
    const server = await startServer({
      DATABASE_URL: databaseUrl!,
      DB_SCHEMA: schema,
      API_KEYS: `sd-key:${tenant}`,
      SHUTDOWN_DELAY_MS: "400",
    });
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 1000 }, (_, i) => makeEvent(b * 1000 + i)));
    const bodies = batches.map((batch) => JSON.stringify(batch));
    const inflight = bodies.map((body) =>
      fetch(`${server.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "sd-key" }, body })
        .then(async (res) => ({ status: res.status, body: (await res.json()) as any }))
        .catch((error: Error) => ({ status: 0, body: error.message })),
    );
    await Bun.sleep(30);
    server.proc.kill("SIGTERM");
    await Bun.sleep(100);
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).checks.shutdown).toBe("draining");

    const results = await Promise.all(inflight);
    expect(await server.proc.exited).toBe(0);
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);

    for (const [index, result] of results.entries()) {
      const ids = batches[index]!.map((e) => e.eventId);
      const [row] = await admin<{ n: number }[]>`
        SELECT count(*)::int AS n FROM ${admin(schema)}.events WHERE tenant_id = ${tenant} AND event_id IN ${admin(ids)}`;
      expect(row!.n).toBe(result.body.ingested);
    }
    const log = server.output();
    expect(log).toContain("shutting down");
    expect(log).toContain("shutdown complete");
  }, 60_000);

  test("a tail client that stopped reading does not hold the drain, and an ingest still in flight is answered before its stream is cut; exit 0", async () => {
    const tenant = `stalled-${random()}`;
    const server = await startServer({ DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, API_KEYS: `st-key:${tenant}`, SHUTDOWN_TIMEOUT_MS: "20000" });
    // A client that reads the stream's first bytes, then nothing more, its connection left open.
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: { data(s) { s.pause?.(); }, open() {} },
    });
    socket.write(`GET /tail HTTP/1.1\r\nHost: localhost\r\nX-API-Key: st-key\r\n\r\n`);
    await Bun.sleep(300);
    // Far more than the socket buffers hold, all queued for that tail.
    for (let b = 0; b < 6; b++) {
      const events = Array.from({ length: 2000 }, (_, i) => makeEvent(b * 2000 + i, { payload: { pad: "y".repeat(1500) } }));
      const res = await fetch(`${server.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "st-key" }, body: JSON.stringify(events) });
      expect(res.status).toBe(200);
    }
    // An ingest in flight, held by a lock on the usage table past the moment the tail is cut.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const locking = admin.begin(async (tx) => {
      await tx.unsafe(`LOCK TABLE "${schema}".tenant_usage IN ACCESS EXCLUSIVE MODE`);
      await released;
    });
    await Bun.sleep(100);
    const late = makeEvent(99_999);
    const inflight = fetch(`${server.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "st-key" }, body: JSON.stringify([late]) })
      .then(async (res) => ({ status: res.status, body: (await res.json()) as any }))
      .catch((error: Error) => ({ status: 0, body: error.message }));
    await Bun.sleep(200);
    const started = Date.now();
    server.proc.kill("SIGTERM");
    await Bun.sleep(4000);
    release();
    await locking;
    expect(await inflight).toMatchObject({ status: 200, body: { ingested: 1 } });
    expect(await server.proc.exited).toBe(0);
    // Well before the 20 s hard deadline: the ingest answered, then the unread stream was cut.
    expect(Date.now() - started).toBeLessThan(10_000);
    const [stored] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM ${admin(schema)}.events WHERE tenant_id = ${tenant} AND event_id = ${late.eventId}`;
    expect(stored!.n).toBe(1);
    expect(server.output()).toContain("closing connections whose clients stopped reading");
    expect(server.output()).toContain("shutdown complete");
    socket.end();
  }, 60_000);
});
