/**
 * Live tail across three real server processes sharing PostgreSQL and
 * Redis: tails on each replica, ingest through all three at once. Every tail
 * gets exactly the matching events once, each replica's in commit order; a
 * tail cut off resumes on another replica with nothing lost; and when Redis
 * goes, tails end with a reason instead of hanging.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { freePort } from "../support/server-process";
import { makeEvent, random, serviceUrl } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";
import { SseReader, type SseMessage } from "../support/sse";
import { deleteTailKeys } from "../support/tail-keys";
import { ThrowawayRedis } from "../ratelimit/throwaway-redis";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const redisUrl = serviceUrl("TEST_REDIS_URL");
if (!databaseUrl || !redisUrl) console.log("tail replica tests skipped: TEST_DATABASE_URL and TEST_REDIS_URL are both needed");

const servers: ServerProcess[] = [];
const schemas: string[] = [];
const tenants: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGTERM")));
  if (redisUrl) await deleteTailKeys(redisUrl, tenants);
  const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
  for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end();
}, 60_000);

async function openTail(server: ServerProcess, key: string, query = "", headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/tail${query}`, { headers: { "x-api-key": key, ...headers } });
  expect(res.status).toBe(200);
  const reader = new SseReader(res);
  expect((await reader.next())?.comments).toContain("open");
  return reader;
}

function ingest(server: ServerProcess, key: string, events: unknown[]) {
  return fetch(`${server.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": key }, body: JSON.stringify(events) });
}

const ids = (messages: SseMessage[]) => messages.filter((m) => m.event === undefined).map((m) => JSON.parse(m.data!).eventId as string);

/** `sequence` holds `expected` in the same relative order. */
function inOrder(sequence: string[], expected: string[]) {
  const position = new Map(sequence.map((id, i) => [id, i]));
  return expected.every((id, i) => i === 0 || position.get(id)! > position.get(expected[i - 1]!)!);
}

describe.skipIf(!databaseUrl || !redisUrl)("live tail across replicas", () => {
  test("tails on every replica get each matching event once, each replica's in commit order; a cut tail resumes on another", async () => {
    const schema = `tv_tail_${random()}`;
    schemas.push(schema);
    const tenant = `tail-${random()}`;
    tenants.push(tenant);
    const env = { DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, REDIS_URL: redisUrl!, API_KEYS: `key-${tenant}:${tenant}`, LOG_LEVEL: "warn", RATE_LIMIT_MAX_REQUESTS: "100000" };
    const key = `key-${tenant}`;
    const first = await startServer(env);
    const replicas = [first, ...(await Promise.all([startServer(env), startServer(env)]))];
    servers.push(...replicas);

    const errors = encodeURIComponent(JSON.stringify([{ field: "level", op: "eq", value: "error" }]));
    const all = await Promise.all(replicas.map((r) => openTail(r, key)));
    const onlyErrors = await Promise.all(replicas.map((r) => openTail(r, key, `?where=${errors}`)));

    // Three clients, one per replica, 10 sequential batches of 20 each.
    const base = Date.now() - 60_000;
    const sent: string[][] = [[], [], []];
    const levels = new Map<string, string>();
    await Promise.all(
      replicas.map(async (replica, r) => {
        for (let batch = 0; batch < 10; batch++) {
          const events = Array.from({ length: 20 }, (_, i) => {
            const n = r * 1000 + batch * 20 + i;
            const level = n % 3 === 0 ? "error" : "info";
            levels.set(`r${n}`, level);
            return makeEvent(n, { eventId: `r${n}`, timestamp: new Date(base + n).toISOString(), payload: { level } });
          });
          const res = await ingest(replica, key, events);
          expect(res.status).toBe(200);
          sent[r]!.push(...events.map((e) => e.eventId));
        }
      }),
    );
    const everything = sent.flat();
    const errorIds = everything.filter((id) => levels.get(id) === "error");

    // Cut the first tail after it has read 100 events and resume on another replica.
    const head = await all[0]!.collect(100, 15_000);
    await all[0]!.close();
    const resumed = await openTail(replicas[2]!, key, "", { "last-event-id": head.at(-1)!.id! });
    const rest = await resumed.collect(everything.length - 100, 15_000);
    const streams = [[...head, ...rest], ...(await Promise.all(all.slice(1).map((t) => t.collect(everything.length, 15_000))))];
    const filtered = await Promise.all(onlyErrors.map((t) => t.collect(errorIds.length, 15_000)));

    for (const stream of streams) {
      const got = ids(stream);
      expect(got.length).toBe(everything.length);
      expect(new Set(got)).toEqual(new Set(everything));
      for (const fromReplica of sent) expect(inOrder(got, fromReplica)).toBe(true);
    }
    for (const stream of filtered) {
      const got = ids(stream);
      expect(got.length).toBe(errorIds.length);
      expect(new Set(got)).toEqual(new Set(errorIds));
      for (const fromReplica of sent) expect(inOrder(got, fromReplica.filter((id) => levels.get(id) === "error"))).toBe(true);
    }
    // Nothing more arrives: each event came once.
    for (const tail of [resumed, ...all.slice(1), ...onlyErrors]) {
      const extra = await tail.next(300);
      expect(extra?.data).toBeUndefined();
      await tail.close();
    }
  }, 90_000);

  test.skipIf(!ThrowawayRedis.isAvailable())("when Redis goes, tails end with a reason and new ones get 503; ingest goes on; tails work again once it is back", async () => {
    const redis = new ThrowawayRedis(freePort());
    await redis.start();
    const schema = `tv_tail_${random()}`;
    schemas.push(schema);
    const tenant = `tail-${random()}`;
    const key = `key-${tenant}`;
    const server = await startServer({ DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, REDIS_URL: redis.url, API_KEYS: `${key}:${tenant}`, LOG_LEVEL: "warn" });
    servers.push(server);
    try {
      const tail = await openTail(server, key);
      await redis.kill();
      const started = Date.now();
      const [end] = await tail.collect(1, 15_000);
      expect(end?.event).toBe("end");
      expect(JSON.parse(end!.data!).reason).toContain("unavailable");
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await tail.next(500)).toBeUndefined();

      const refused = await fetch(`${server.url}/tail`, { headers: { "x-api-key": key }, signal: AbortSignal.timeout(15_000) });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as any).error.code).toBe("service_unavailable");
      expect((await ingest(server, key, [makeEvent(1, { eventId: "while-down" })])).status).toBe(200);

      await redis.start();
      let again: SseReader | undefined;
      for (let attempt = 0; attempt < 50 && !again; attempt++) {
        const res = await fetch(`${server.url}/tail`, { headers: { "x-api-key": key } });
        if (res.status === 200) again = new SseReader(res);
        else await Bun.sleep(200);
      }
      expect(again).toBeDefined();
      await again!.next();
      expect((await ingest(server, key, [makeEvent(2, { eventId: "after" })])).status).toBe(200);
      expect(ids(await again!.collect(1, 10_000))).toEqual(["after"]);
      await again!.close();
    } finally {
      await redis.kill();
    }
  }, 90_000);
});
