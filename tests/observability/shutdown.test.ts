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
});
