/**
 * GET /tail through app.request(): what a client of the stream sees, on
 * both stores, with the tail log in this process and in Redis. The
 * multi-replica behaviour is in replicas.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { buildApp, makeEvent, postJson, serviceUrl, type TestApp } from "../support/harness";
import { SseReader } from "../support/sse";
import { deleteTailKeys } from "../support/tail-keys";
import { describeOnStores, type StoreSuite } from "../support/store-suite";
import { Redis } from "ioredis";
import { createLiveTail, type LiveTail } from "../../src/tail/live-tail";

const redisUrl = serviceUrl("TEST_REDIS_URL");
const logs: { label: string; make: (options?: { maxEntryBytes?: number }) => LiveTail }[] = [
  { label: "a log in this process", make: (o) => createLiveTail({ replayBatches: 1000, ...o }) },
  ...(redisUrl ? [{ label: "the Redis log", make: (o?: { maxEntryBytes?: number }) => createLiveTail({ redisUrl, replayBatches: 1000, ...o }) }] : []),
];
if (!redisUrl) console.log("tail tests: TEST_REDIS_URL not set, the Redis log is not tested here");

const made: LiveTail[] = [];
const tenantsSeen = new Set<string>();
afterAll(async () => {
  for (const tail of made) await tail.close();
  if (redisUrl) await deleteTailKeys(redisUrl, tenantsSeen);
});

function tailApp(suite: StoreSuite, make: (typeof logs)[number]["make"], env: Record<string, string> = {}, options: { maxEntryBytes?: number } = {}) {
  const tail = make(options);
  made.push(tail);
  const { a, b } = suite.fresh();
  tenantsSeen.add(a.tenant).add(b.tenant);
  const app = buildApp(suite.handle.store, { a, b }, { env, tail });
  return { app, a, b, tail };
}

async function openTail(app: TestApp, key: string, query = "", headers: Record<string, string> = {}) {
  const res = await app.request(`/tail${query}`, { headers: { "x-api-key": key, ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  const reader = new SseReader(res);
  const opened = await reader.next();
  expect(opened?.comments).toContain("open");
  return reader;
}

async function ingest(app: TestApp, key: string, events: unknown[]) {
  const res = await postJson(app, "/ingest", events, key);
  expect(res.status).toBe(200);
}

// Fixed timestamps: the same event sent twice is a duplicate.
const BASE = Date.now() - 60_000;
const event = (i: number, payload: Record<string, unknown>) => makeEvent(i, { eventId: `t-${i}`, timestamp: new Date(BASE - i).toISOString(), payload });

for (const log of logs) {
  describeOnStores(`live tail with ${log.label}`, (suite) => {
    test("delivers each committed event matching the filters once, with an id, and nothing of other tenants", async () => {
      const { app, a, b } = tailApp(suite, log.make);
      const where = encodeURIComponent(JSON.stringify([{ field: "level", op: "in", value: ["error", "warn"] }]));
      const reader = await openTail(app, a.key, `?serviceName=svc-1&q=disk&where=${where}`);
      await ingest(app, b.key, [event(1, { level: "error", msg: "disk full" })]);
      await ingest(app, a.key, [
        event(1, { level: "error", msg: "disk full" }), // svc-1: matches
        event(2, { level: "error", msg: "disk full" }), // svc-2
        event(5, { level: "info", msg: "disk full" }), // svc-1, info
        event(9, { level: "warn", msg: "Disk slow" }), // svc-1: matches
        event(13, { level: "warn", msg: "cpu" }), // svc-1, no term
      ]);
      await ingest(app, a.key, [event(1, { level: "error", msg: "disk full" })]); // a duplicate: not delivered again
      await ingest(app, a.key, [event(17, { level: "error", msg: "disk again" })]);
      const messages = await reader.collect(3);
      await reader.close();
      expect(messages.map((m) => JSON.parse(m.data!).eventId)).toEqual(["t-1", "t-9", "t-17"]);
      expect(messages.every((m) => /^\d+-\d+\/\d+$/.test(m.id!))).toBe(true);
      expect(new Set(messages.map((m) => m.id)).size).toBe(3);
      const first = JSON.parse(messages[0]!.data!);
      // As /query returns it.
      const stored = (await (await postJson(app, "/query", { startTime: new Date(Date.now() - 3_600_000).toISOString(), serviceName: "svc-1", q: "again" }, a.key)).json()) as any;
      expect(JSON.parse(messages[2]!.data!)).toEqual(stored.data[0]);
      expect(first).toMatchObject({ eventType: "metric", serviceName: "svc-1", payload: { level: "error", msg: "disk full" } });
    });

    test("Last-Event-ID resumes after the last event read: no gap, no repeat", async () => {
      const { app, a } = tailApp(suite, log.make);
      const first = await openTail(app, a.key);
      await ingest(app, a.key, [1, 2, 3].map((i) => event(i, {})));
      await ingest(app, a.key, [4, 5].map((i) => event(i, {})));
      const read = await first.collect(2);
      await first.close();
      await ingest(app, a.key, [6, 7].map((i) => event(i, {})));
      const resumed = await openTail(app, a.key, "", { "last-event-id": read.at(-1)!.id! });
      const rest = await resumed.collect(5);
      await resumed.close();
      expect([...read, ...rest].map((m) => JSON.parse(m.data!).eventId)).toEqual(["t-1", "t-2", "t-3", "t-4", "t-5", "t-6", "t-7"]);
      // The query parameter does the same for a new EventSource.
      const again = await openTail(app, a.key, `?lastEventId=${encodeURIComponent(rest[2]!.id!)}`);
      expect((await again.collect(2)).map((m) => JSON.parse(m.data!).eventId)).toEqual(["t-6", "t-7"]);
      await again.close();
    });

    test("resuming while ingest goes on: what is read back and what arrives live overlap, each event still comes once", async () => {
      const { app, a } = tailApp(suite, log.make);
      const first = await openTail(app, a.key);
      await ingest(app, a.key, [event(0, {})]);
      const [start] = await first.collect(1);
      await first.close();
      const batches = Array.from({ length: 30 }, (_, b) => Array.from({ length: 5 }, (_, i) => event(1 + b * 5 + i, {})));
      const sending = (async () => {
        for (const batch of batches) await ingest(app, a.key, batch);
      })();
      await Bun.sleep(5);
      const resumed = await openTail(app, a.key, "", { "last-event-id": start!.id! });
      await sending;
      const got = (await resumed.collect(150, 10_000)).map((m) => JSON.parse(m.data!).eventId);
      expect(await resumed.next(300)).toBeUndefined();
      await resumed.close();
      expect(got).toEqual(batches.flat().map((e) => e.eventId));
    });

    test("a batch too large for the log travels as keys and is read back from the database", async () => {
      const { app, a } = tailApp(suite, log.make, {}, { maxEntryBytes: 200 });
      const reader = await openTail(app, a.key);
      await ingest(app, a.key, [1, 2, 3, 4].map((i) => event(i, { text: "x".repeat(100) })));
      const messages = await reader.collect(4);
      await reader.close();
      expect(messages.map((m) => JSON.parse(m.data!).eventId).sort()).toEqual(["t-1", "t-2", "t-3", "t-4"]);
      expect(JSON.parse(messages[0]!.data!).payload.text).toBe("x".repeat(100));
    });

    test("a slow client gets a dropped notice with the count, then the stream goes on", async () => {
      const { app, a } = tailApp(suite, log.make, { TAIL_QUEUE_EVENTS: "10" });
      const reader = await openTail(app, a.key);
      await ingest(app, a.key, Array.from({ length: 25 }, (_, i) => event(i, {})));
      await Bun.sleep(200);
      await ingest(app, a.key, [event(100, {})]);
      const messages = await reader.collect(12);
      await reader.close();
      expect(messages.slice(0, 10).every((m) => m.event === undefined)).toBe(true);
      expect(messages[10]!.event).toBe("dropped");
      expect(JSON.parse(messages[10]!.data!)).toMatchObject({ count: 15 });
      expect(JSON.parse(messages[11]!.data!).eventId).toBe("t-100");
    });

    test("an idle stream carries heartbeat comments", async () => {
      const { app, a } = tailApp(suite, log.make, { TAIL_HEARTBEAT_S: "1" });
      const reader = await openTail(app, a.key);
      const beat = await reader.next(3000);
      await reader.close();
      expect(beat?.comments[0]).toStartWith("heartbeat");
      expect(beat?.data).toBeUndefined();
    });

    test("tokens for EventSource; the key never in a URL; bad input is 400", async () => {
      const { app, a, b } = tailApp(suite, log.make);
      const issued = await app.request("/tail/token", { method: "POST", headers: { "x-api-key": a.key } });
      expect(issued.status).toBe(200);
      const { token, expiresAt } = (await issued.json()) as { token: string; expiresAt: string };
      expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
      const res = await app.request(`/tail?token=${token}`);
      expect(res.status).toBe(200);
      const reader = new SseReader(res);
      await reader.next();
      await ingest(app, b.key, [event(1, {})]);
      await ingest(app, a.key, [event(2, {})]);
      expect((await reader.collect(1)).map((m) => JSON.parse(m.data!).eventId)).toEqual(["t-2"]);
      await reader.close();

      expect((await app.request("/tail?token=not-a-token")).status).toBe(401);
      expect((await app.request(`/tail?token=${"t".repeat(5000)}`)).status).toBe(401);
      expect((await app.request(`/tail?apiKey=${a.key}`)).status).toBe(401);
      expect((await app.request(`/tail?x-api-key=${a.key}`)).status).toBe(401);
      expect((await app.request("/tail/token", { method: "POST" })).status).toBe(401);
      for (const [query, path] of [
        ["?where=not-json", "where"],
        [`?where=${encodeURIComponent('[{"field":"a","op":"like"}]')}`, "where.0.op"],
        ["?eventType=span", "eventType"],
        ["?lastEventId=12", "lastEventId"],
        // Past an unsigned 64-bit number (Redis would refuse it), and a time in the future (would skip every live entry).
        ["?lastEventId=99999999999999999999-0/0", "lastEventId"],
        ["?lastEventId=1-99999999999999999999/0", "lastEventId"],
        [`?lastEventId=${Date.now() + 3_600_000}-0/0`, "lastEventId"],
        [`?where=${"[".repeat(40)}${"]".repeat(40)}`, "where"],
      ] as const) {
        const bad = await app.request(`/tail${query}`, { headers: { "x-api-key": a.key } });
        expect(bad.status).toBe(400);
        expect(((await bad.json()) as any).error.details.map((d: any) => d.path)).toContain(path);
      }
    });

    test("a tenant has at most TAIL_MAX_PER_TENANT tails open; closing one frees its place", async () => {
      const { app, a, b } = tailApp(suite, log.make, { TAIL_MAX_PER_TENANT: "2" });
      const one = await openTail(app, a.key);
      const two = await openTail(app, a.key);
      const refused = await app.request("/tail", { headers: { "x-api-key": a.key } });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as any).error.code).toBe("too_many_tails");
      const other = await openTail(app, b.key);
      await one.close();
      await Bun.sleep(100);
      const three = await openTail(app, a.key);
      for (const reader of [two, other, three]) await reader.close();
    });

    test("ending every tail (shutdown) sends an end message with the reason", async () => {
      const { app, a, tail } = tailApp(suite, log.make);
      const reader = await openTail(app, a.key);
      tail.endAll("the server is shutting down; reconnect to resume");
      const [end] = await reader.collect(1);
      expect(end?.event).toBe("end");
      expect(JSON.parse(end!.data!).reason).toContain("shutting down");
      expect(await reader.next(1000)).toBeUndefined();
    });
  });
}

if (redisUrl) {
  describeOnStores("live tail resumed after the tenant had no tail (the Redis log)", (suite) => {
    test("events committed while no tail was open are not kept, and the resumed tail is told so; then it goes on", async () => {
      const first = tailApp(suite, logs[1]!.make);
      const reader = await openTail(first.app, first.a.key);
      await ingest(first.app, first.a.key, [event(1, {})]);
      const [read] = await reader.collect(1);
      await reader.close();
      // The live mark lapses (60 s after the last tail closed; here at once).
      const redis = new Redis(redisUrl);
      await redis.del(`tv:tail:{${first.a.tenant}}:live`);
      await redis.quit();
      // Another replica ingests meanwhile (started now: it has no cached answer from when the tail was open).
      const second = createLiveTail({ redisUrl, replayBatches: 1000 });
      made.push(second);
      const other = buildApp(suite.handle.store, { a: first.a, b: first.b }, { tail: second });
      await ingest(other, first.a.key, [event(2, {})]);
      await second.publisher.flush();

      const resumed = await openTail(first.app, first.a.key, "", { "last-event-id": read!.id! });
      const [gap] = await resumed.collect(1);
      expect(gap?.event).toBe("dropped");
      expect(JSON.parse(gap!.data!)).toEqual({ count: null, reason: expect.stringContaining("no open tail") });
      await ingest(other, first.a.key, [event(3, {})]);
      const [next] = await resumed.collect(1);
      expect(JSON.parse(next!.data!).eventId).toBe("t-3");
      await resumed.close();
    });
  });
}

describe("live tail without a log", () => {
  test("is 503 when the app has none", async () => {
    const { openEmbeddedTestStore } = await import("../support/harness");
    const handle = await openEmbeddedTestStore();
    try {
      const tenants = { a: { key: "k-a", tenant: "t-a" }, b: { key: "k-b", tenant: "t-b" } };
      const app = buildApp(handle.store, tenants, { tail: undefined });
      const res = await app.request("/tail", { headers: { "x-api-key": "k-a" } });
      expect(res.status).toBe(503);
    } finally {
      await handle.cleanup();
    }
  }, 60_000);
});
