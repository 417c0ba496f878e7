import { expect, test } from "bun:test";
import { GroupCommitter } from "../../src/storage/group-commit";
import { identity } from "../../src/storage/write-sql";
import type { NewEvent } from "../../src/events/event-types";

const event = (id: string): NewEvent => ({
  eventId: id,
  eventType: "log",
  serviceName: "svc",
  timestamp: "2026-01-01T00:00:00.000Z",
  payloadJson: "{}",
  payloadBytes: 2,
  searchText: id,
  traceId: null,
});

/** The commit time every fake write reports. */
const AT = new Date("2026-01-01T00:00:01.000Z");

/** What a request resolves with: its counts, and the identities it inserted. */
const result = (ingested: number, duplicates: number, ...ids: string[]) => ({
  ingested,
  duplicates,
  committed: { identities: new Set(ids.map((id) => identity(id, event(id).timestamp))), receivedAt: AT },
});

/** A writer over an in-memory id set, recording each group it was given. */
function recordingWriter(delayMs = 5) {
  const stored = new Set<string>();
  const groups: { tenant: string; ids: string[] }[] = [];
  let running = 0;
  let maxRunning = 0;
  const write = async (tenant: string, unique: NewEvent[]) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    groups.push({ tenant, ids: unique.map((e) => e.eventId) });
    await Bun.sleep(delayMs);
    const inserted = unique.filter((e) => !stored.has(`${tenant}/${e.eventId}`));
    inserted.forEach((e) => stored.add(`${tenant}/${e.eventId}`));
    running--;
    return { identities: inserted.map((e) => identity(e.eventId, e.timestamp)), receivedAt: AT };
  };
  return { write, groups, stored, maxRunning: () => maxRunning };
}

test("requests waiting together share one write, each with exact counts", async () => {
  const writer = recordingWriter();
  const committer = new GroupCommitter(writer.write, { maxInFlight: 1, maxGroupEvents: 1000, maxQueueWaitMs: 1000, maxQueued: 100 });
  const results = await Promise.all([
    committer.submit("t", [event("a")]), // written alone: nothing else is waiting yet
    committer.submit("t", [event("b"), event("c")]),
    committer.submit("t", [event("c"), event("d")]), // c belongs to the request before
    committer.submit("t", [event("a")]), // a is already stored
  ]);
  expect(results).toEqual([result(1, 0, "a"), result(2, 0, "b", "c"), result(1, 1, "d"), result(0, 1)]);
  expect(writer.groups).toEqual([
    { tenant: "t", ids: ["a"] },
    { tenant: "t", ids: ["b", "c", "d", "a"] },
  ]);
});

test("tenants never share a write, take turns, and in-flight writes stay bounded", async () => {
  const writer = recordingWriter(2);
  const committer = new GroupCommitter(writer.write, { maxInFlight: 2, maxGroupEvents: 10, maxQueueWaitMs: 1000, maxQueued: 100 });
  const submissions = Array.from({ length: 90 }, (_, i) => committer.submit(`t${i % 3}`, [event(`e${i}`)]));
  const results = await Promise.all(submissions);
  expect(results.every((r) => r.ingested === 1)).toBe(true);
  expect(writer.maxRunning()).toBeLessThanOrEqual(2);
  for (const group of writer.groups) {
    expect(group.ids.length).toBeLessThanOrEqual(10);
    const tenants = new Set(group.ids.map((id) => Number(id.slice(1)) % 3));
    expect(tenants.size).toBe(1);
    expect(`t${[...tenants][0]}`).toBe(group.tenant);
  }
  expect(writer.groups.length).toBeLessThan(90);
});

test("a failed write rejects every request of its group and the next group still runs", async () => {
  let calls = 0;
  const committer = new GroupCommitter(
    async (_tenant, unique) => {
      calls++;
      await Bun.sleep(5);
      if (calls === 2) throw new Error("database went away");
      return { identities: unique.map((e) => identity(e.eventId, e.timestamp)), receivedAt: AT };
    },
    { maxInFlight: 1, maxGroupEvents: 100, maxQueueWaitMs: 1000, maxQueued: 100 },
  );
  const first = committer.submit("t", [event("a")]);
  const second = committer.submit("t", [event("b")]);
  const third = committer.submit("t", [event("c")]);
  const [one, two, three] = await Promise.allSettled([first, second, third]);
  expect(one).toEqual({ status: "fulfilled", value: result(1, 0, "a") });
  expect(two.status === "rejected" && (two.reason as Error).message).toBe("database went away");
  expect(three.status === "rejected" && (three.reason as Error).message).toBe("database went away");
  expect(await committer.submit("t", [event("d")])).toEqual(result(1, 0, "d"));
});

test("a request queued longer than its budget is refused as unavailable; a full queue refuses at once", async () => {
  let release!: () => void;
  const stalled = new Promise<void>((resolve) => (release = resolve));
  const committer = new GroupCommitter(
    async (_tenant, unique) => {
      await stalled;
      return { identities: unique.map((e) => identity(e.eventId, e.timestamp)), receivedAt: AT };
    },
    { maxInFlight: 1, maxGroupEvents: 100, maxQueueWaitMs: 50, maxQueued: 2 },
  );
  const running = committer.submit("t", [event("a")]); // taken at once, then stalls
  const waiting = [committer.submit("t", [event("b")]), committer.submit("u", [event("c")])];
  const overflow = committer.submit("t", [event("d")]);
  expect(overflow).rejects.toThrow("too many waiting");
  const started = performance.now();
  const outcomes = await Promise.allSettled(waiting);
  expect(performance.now() - started).toBeLessThan(500);
  for (const outcome of outcomes) {
    expect(outcome.status).toBe("rejected");
    expect((outcome as PromiseRejectedResult).reason.name).toBe("StorageUnavailableError");
  }
  release();
  expect(await running).toEqual(result(1, 0, "a"));
  expect(await committer.submit("t", [event("e")])).toEqual(result(1, 0, "e"));
});
