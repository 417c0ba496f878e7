/**
 * Three real server processes sharing one Redis and one PostgreSQL: a
 * tenant's limit is one limit, whichever replica answers.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { random, serviceUrl } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const redisUrl = serviceUrl("TEST_REDIS_URL");

describe.skipIf(!databaseUrl || !redisUrl)("limits across replicas", () => {
  const schema = `tv_replicas_${random()}`;
  const servers: ServerProcess[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop("SIGTERM")));
    const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  test("300 concurrent requests over 3 replicas: exactly 100 succeed, 200 get 429; another tenant is unaffected", async () => {
    const id = random();
    const env = {
      DATABASE_URL: databaseUrl!,
      DB_SCHEMA: schema,
      REDIS_URL: redisUrl!,
      RATE_LIMIT_MAX_REQUESTS: "100",
      RATE_LIMIT_WINDOW_MS: "60000",
      // This test is about one shared limit. Three servers and the client on
      // two cores can delay a Redis reply past the default 100 ms budget, and
      // a timed-out check is answered in-process (see the outage tests).
      RATE_LIMIT_TIMEOUT_MS: "2000",
      API_KEYS: `busy-${id}:busy-${id},calm-${id}:calm-${id},warm-${id}:warm-${id}`,
      LOG_LEVEL: "warn",
    };
    // The first replica migrates; the others start once the schema exists.
    servers.push(await startServer(env));
    servers.push(...(await Promise.all([startServer(env), startServer(env)])));

    const send = (i: number, key: string) =>
      fetch(`${servers[i % 3]!.url}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key },
        body: "{}",
      }).then((r) => r.status);

    // Warm up: open each replica's database pool and compile the hot paths,
    // so the measured burst is about limits, not cold starts.
    await Promise.all(Array.from({ length: 60 }, (_, i) => send(i, `warm-${id}`)));

    const busy = await Promise.all(Array.from({ length: 300 }, (_, i) => send(i, `busy-${id}`)));
    const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((t, s) => ({ ...t, [s]: (t[s] ?? 0) + 1 }), {});
    expect(tally(busy)).toEqual({ 200: 100, 429: 200 });

    const calm = await Promise.all(Array.from({ length: 100 }, (_, i) => send(i, `calm-${id}`)));
    expect(tally(calm)).toEqual({ 200: 100 });

    // No replica answered from its in-process fallback.
    const metrics = await Promise.all(servers.map((s) => fetch(`${s.url}/metrics`).then((r) => r.text())));
    for (const text of metrics) expect(text).toMatch(/tv_rate_limiter_fallbacks_total 0\b/);
  }, 60_000);
});
