/**
 * Fault: the service process dies (SIGKILL) in the middle of 50 concurrent
 * 1000-event batches. PostgreSQL keeps running (the shared one, in a schema of
 * our own: killing the service never touches the database).
 *
 * Proves: every acknowledged (200) request is stored exactly once; every
 * request is all-or-nothing (0 or 1000 of its events); the per-minute and
 * per-hour counts agree with the rows (same transaction); and clients that
 * re-send what was not acknowledged converge on exactly 50 000 rows, with
 * what had already been committed reported as duplicates.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { makeEvent, random, serviceUrl } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

const BATCHES = 50;
const PER_BATCH = 1000;

type Outcome = { status: number; body: any; error?: string };

describe.skipIf(!databaseUrl)("fault: service killed with SIGKILL mid-ingest", () => {
  const schema = `tv_fault_crash_${random()}`;
  const admin = postgres(databaseUrl ?? "", { max: 2, onnotice: () => {} });
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop("SIGKILL");
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  test("acknowledged batches survive exactly once, the rest are all-or-nothing, re-sending converges on 50 000", async () => {
    const tenant = `crash-${random()}`;
    const env = {
      DATABASE_URL: databaseUrl!,
      DB_SCHEMA: schema,
      API_KEYS: `crash-key:${tenant}`,
      LOG_LEVEL: "warn",
      RATE_LIMIT_MAX_REQUESTS: "100000",
    };
    server = await startServer(env);

    const batches = Array.from({ length: BATCHES }, (_, b) =>
      Array.from({ length: PER_BATCH }, (_, i) => makeEvent(b * PER_BATCH + i, { payload: { batch: b, i } })),
    );
    const bodies = batches.map((batch) => JSON.stringify(batch));
    const send = (url: string, body: string): Promise<Outcome> =>
      fetch(`${url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "crash-key" },
        body,
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (res) => ({ status: res.status, body: await res.json().catch(() => null) }))
        .catch((error: Error) => ({ status: 0, body: null, error: error.message }));

    // Kill once KILL_AFTER batches are acknowledged: by then others are
    // committed but unanswered, in flight inside a transaction, or not yet read.
    const KILL_AFTER = 20;
    let ackCount = 0;
    let enoughAcks!: () => void;
    const acked = new Promise<void>((resolve) => (enoughAcks = resolve));
    const victim = server;
    const inflight = bodies.map((body) =>
      send(victim.url, body).then((outcome) => {
        if (outcome.status === 200 && ++ackCount === KILL_AFTER) enoughAcks();
        return outcome;
      }),
    );
    await Promise.race([acked, Bun.sleep(20_000)]);
    victim.proc.kill("SIGKILL");
    expect(await victim.proc.exited).not.toBe(0);
    const results = await Promise.all(inflight);

    const statuses = results.map((r) => r.status);
    const ackedIdx = statuses.flatMap((s, i) => (s === 200 ? [i] : []));
    const unackedIdx = statuses.flatMap((s, i) => (s !== 200 ? [i] : []));
    // Only 200 (committed before the kill) or a broken connection (0); never a 5xx.
    expect(statuses.filter((s) => s !== 200 && s !== 0), "statuses other than 200 / connection lost").toEqual([]);
    expect(ackedIdx.length, "the kill happens after KILL_AFTER acknowledgements").toBeGreaterThanOrEqual(KILL_AFTER);
    expect(unackedIdx.length, "the kill must interrupt some requests to prove anything").toBeGreaterThan(0);
    for (const i of ackedIdx) expect(results[i]!.body).toMatchObject({ ingested: PER_BATCH, duplicates: 0 });

    // What survived, per batch (ids encode the batch: evt-NNNNNN, NNNNNN = b*1000+i).
    const stored = async () => {
      const rows = await admin<{ batch: number; n: number; distinct_ids: number }[]>`
        SELECT (payload->>'batch')::int AS batch, count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids
        FROM ${admin(schema)}.events WHERE tenant_id = ${tenant} GROUP BY 1`;
      const perBatch = new Array<number>(BATCHES).fill(0);
      for (const row of rows) {
        expect(row.n, `batch ${row.batch}: every event id stored once`).toBe(row.distinct_ids);
        perBatch[row.batch] = row.n;
      }
      return perBatch;
    };
    const countTables = async () => {
      const [m] = await admin<{ n: number }[]>`SELECT coalesce(sum(count), 0)::int AS n FROM ${admin(schema)}.event_counts_minute WHERE tenant_id = ${tenant}`;
      const [h] = await admin<{ n: number }[]>`SELECT coalesce(sum(count), 0)::int AS n FROM ${admin(schema)}.event_counts_hour WHERE tenant_id = ${tenant}`;
      return { minute: m!.n, hour: h!.n };
    };

    const afterCrash = await stored();
    for (const [b, n] of afterCrash.entries()) {
      expect([0, PER_BATCH], `batch ${b} is all or nothing after the crash (got ${n})`).toContain(n);
    }
    for (const i of ackedIdx) expect(afterCrash[i], `acknowledged batch ${i} is stored`).toBe(PER_BATCH);
    const totalAfterCrash = afterCrash.reduce((a, b) => a + b, 0);
    expect(await countTables(), "counts tables match the rows (same transaction)").toEqual({ minute: totalAfterCrash, hour: totalAfterCrash });

    // Restart on the same schema, and re-send what was not acknowledged.
    server = await startServer(env);
    const restarted = server;
    const resent = await Promise.all(unackedIdx.map((i) => send(restarted.url, bodies[i]!)));
    for (const [k, i] of unackedIdx.entries()) {
      const r = resent[k]!;
      expect(r.status, `re-sent batch ${i}: ${JSON.stringify(r.body ?? r.error)}`).toBe(200);
      expect(r.body.ingested + r.body.duplicates, `re-sent batch ${i}: ingested + duplicates`).toBe(PER_BATCH);
      // Committed before the crash but never acknowledged: all duplicates now.
      expect(r.body.duplicates, `re-sent batch ${i}: duplicates = what was already committed`).toBe(afterCrash[i]);
    }

    const final = await stored();
    expect(final, "every batch complete after re-sending").toEqual(new Array(BATCHES).fill(PER_BATCH));
    const [total] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM ${admin(schema)}.events WHERE tenant_id = ${tenant}`;
    expect(total!.n).toBe(BATCHES * PER_BATCH);
    expect(await countTables()).toEqual({ minute: BATCHES * PER_BATCH, hour: BATCHES * PER_BATCH });
    console.log(`[crash] acknowledged before kill: ${ackedIdx.length}, committed but unacknowledged: ${unackedIdx.filter((i) => afterCrash[i] === PER_BATCH).length}, lost (not committed): ${unackedIdx.filter((i) => afterCrash[i] === 0).length}`);
  }, 90_000);
});
