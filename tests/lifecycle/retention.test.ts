/**
 * Data lifecycle on PostgreSQL and the embedded store: partitions made ahead
 * and bounded under hostile timestamps, per-tenant retention (whole
 * partitions dropped where every tenant expired, bounded deletes for a
 * shorter retention), events older than their retention refused at ingest,
 * and totals, group counts and buckets equal to the rows at every step.
 */
import { expect, test } from "bun:test";
import { runMaintenance } from "../../src/storage/maintenance";
import { buildApp, freshTenants, HOUR, makeEvent, postJson, type TestApp } from "../support/harness";
import { describeOnStores, type StoreSuite } from "../support/store-suite";

const DAY = 24 * HOUR;

describeOnStores("retention and partitions", (suite) => {
  const maintenance = (retention: { RETENTION_DAYS?: number; TENANT_RETENTION_DAYS?: Map<string, number> }, now = Date.now()) =>
    runMaintenance({
      sql: suite.handle.store.sql,
      appRole: suite.handle.store.appRole,
      partitionHours: 6,
      retention: { RETENTION_DAYS: retention.RETENTION_DAYS, TENANT_RETENTION_DAYS: retention.TENANT_RETENTION_DAYS ?? new Map() },
      now: () => now,
    });

  async function partitions() {
    return suite.handle.sql<{ name: string; lower_bound: Date | null; upper_bound: Date | null }[]>`
      SELECT name, lower_bound, upper_bound FROM event_partitions ORDER BY upper_bound NULLS FIRST`;
  }

  test("partitions exist ahead of now; timestamps from 1970 to now make no new ones", async () => {
    const before = await partitions();
    const regular = before.filter((p) => p.lower_bound && p.upper_bound);
    expect(regular.at(-1)!.upper_bound!.getTime()).toBeGreaterThanOrEqual(Date.now() + 47 * HOUR);
    expect(before.some((p) => p.name === "events_history")).toBe(true);
    expect(before.some((p) => p.name === "events_default")).toBe(true);

    const { app, a } = suite.fresh();
    const span = Date.now() - 60_000;
    const hostile = Array.from({ length: 2000 }, (_, i) => makeEvent(i, { timestamp: new Date(Math.floor((span * i) / 1999)).toISOString() }));
    expect((await postJson(app, "/ingest", hostile, a.key)).status).toBe(200);
    await maintenance({});
    expect((await partitions()).map((p) => p.name)).toEqual(before.map((p) => p.name));
    await expectTotalsMatchRows(suite, app, a.key, a.tenant, 2000);
  });

  test("a tenant's shorter retention removes only its own old events; totals follow; older events are refused", async () => {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    const ages = [1, 2, 5, 9, 12, 40].map((h) => h * HOUR);
    const seed = (prefix: string) => ages.map((age, i) => makeEvent(i, { eventId: `${prefix}-${i}`, timestamp: new Date(Date.now() - age).toISOString() }));
    expect((await postJson(app, "/ingest", seed("a"), tenants.a.key)).status).toBe(200);
    expect((await postJson(app, "/ingest", seed("b"), tenants.b.key)).status).toBe(200);

    // Tenant a keeps 8 hours' worth (a fraction of a day, as days: 1/3), b keeps everything.
    const report = await maintenance({ TENANT_RETENTION_DAYS: new Map([[tenants.a.tenant, 1]]) }, Date.now() + 16 * HOUR);
    expect(report.ran).toBe(true);
    // Seen 16 hours later, a's retention of 1 day leaves events younger than 8 hours now.
    const kept = ages.filter((age) => age < 8 * HOUR).length;
    expect(report.eventsExpired).toBe(ages.length - kept);
    await expectTotalsMatchRows(suite, app, tenants.a.key, tenants.a.tenant, kept);
    await expectTotalsMatchRows(suite, app, tenants.b.key, tenants.b.tenant, ages.length);

    // With that retention configured, ingest refuses what would be dropped at once.
    const strict = buildApp(suite.handle.store, tenants, { env: { TENANT_RETENTION_DAYS: `${tenants.a.tenant}:1` } });
    const old = await postJson(strict, "/ingest", [makeEvent(100, { timestamp: new Date(Date.now() - 2 * DAY).toISOString() })], tenants.a.key);
    expect(old.status).toBe(400);
    expect(((await old.json()) as any).error.details[0]).toMatchObject({ index: 0, path: "timestamp", message: expect.stringContaining("retention of 1 days") });
    expect((await postJson(strict, "/ingest", [makeEvent(101, { timestamp: new Date(Date.now() - 2 * DAY).toISOString() })], tenants.b.key)).status).toBe(200);
  });

  test("whole partitions go when every tenant in them has expired, with their counts", async () => {
    const { app, a, b } = suite.fresh();
    // Events in today's regular partitions; maintenance then looks at them from 10 days on.
    const events = Array.from({ length: 200 }, (_, i) => makeEvent(i, { timestamp: new Date(Date.now() - (i % 6) * HOUR - 60_000).toISOString() }));
    expect((await postJson(app, "/ingest", events, a.key)).status).toBe(200);
    expect((await postJson(app, "/ingest", events.slice(0, 50), b.key)).status).toBe(200);
    const later = Date.now() + 10 * DAY;
    const regular = (await partitions()).filter((p) => p.lower_bound && p.upper_bound && p.upper_bound.getTime() <= later - 3 * DAY);
    const report = await maintenance({ RETENTION_DAYS: 3 }, later);
    expect(report.partitionsDropped).toBeGreaterThanOrEqual(regular.length);
    const names = new Set((await partitions()).map((p) => p.name));
    for (const p of regular) expect(names.has(p.name)).toBe(false);
    await expectTotalsMatchRows(suite, app, a.key, a.tenant, 0);
    await expectTotalsMatchRows(suite, app, b.key, b.tenant, 0);
    // Partitions are made again ahead of the (real) now.
    await maintenance({});
    expect((await postJson(app, "/ingest", makeEvent(1), a.key)).status).toBe(200);
  });

});

// A store of its own: the suite above drops the partitions its tests share, and makes them up to 7 days ahead.
describeOnStores("partitions and retention on a store of their own", (suite) => {
  const maintenanceAt = (now: number) =>
    runMaintenance({
      sql: suite.handle.store.sql,
      appRole: suite.handle.store.appRole,
      partitionHours: 6,
      retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map() },
      now: () => now,
    });

  test("after upkeep paused past the accepted window, rows waiting in the default partition move into the partitions it then creates", async () => {
    const tenants = freshTenants();
    // Upkeep last ran long ago: the clock is now 4 h short of a day past the last partition's end
    // (its 48 h ahead are nearly used up), and an event stamped 1 h past that end is accepted.
    const [last] = await suite.handle.sql<{ upper: Date }[]>`SELECT max(upper_bound) AS upper FROM event_partitions`;
    const later = last!.upper.getTime() - 20 * HOUR;
    const app = buildApp(suite.handle.store, tenants, { now: () => later });
    const ahead = makeEvent(1, { timestamp: new Date(last!.upper.getTime() + HOUR).toISOString() });
    expect((await postJson(app, "/ingest", [ahead], tenants.a.key)).status).toBe(200);
    const where = async () => (await suite.handle.sql<{ part: string }[]>`
      SELECT tableoid::regclass::text AS part FROM events WHERE tenant_id = ${tenants.a.tenant}`).map((r) => r.part);
    expect(await where()).toEqual(["events_default"]);

    // PostgreSQL refuses a partition over rows the default partition holds; upkeep moves them in.
    const report = await maintenanceAt(later);
    expect(report.partitionsCreated).toBeGreaterThan(0);
    const [part] = await where();
    const [bounds] = await suite.handle.sql<{ lower_bound: Date; upper_bound: Date }[]>`SELECT lower_bound, upper_bound FROM event_partitions WHERE name = ${part!}`;
    expect(bounds!.lower_bound.getTime()).toBeLessThanOrEqual(Date.parse(ahead.timestamp));
    expect(bounds!.upper_bound.getTime()).toBeGreaterThan(Date.parse(ahead.timestamp));
    const window = { startTime: new Date(later).toISOString(), endTime: new Date(later + DAY).toISOString() };
    const page = (await (await postJson(app, "/query", { ...window, limit: 5 }, tenants.a.key)).json()) as any;
    expect(page.data.map((e: { eventId: string }) => e.eventId)).toEqual([ahead.eventId]);
    expect(page.pagination.total).toBe(1);
    expect((await maintenanceAt(later)).ran).toBe(true);
  });
  test("with only per-tenant retention, whole partitions go once every tenant in them has expired; empty ones stay", async () => {
    const { app, a, b } = suite.fresh();
    const events = Array.from({ length: 30 }, (_, i) => makeEvent(i, { timestamp: new Date(Date.now() - (i % 3) * HOUR - 60_000).toISOString() }));
    expect((await postJson(app, "/ingest", events, a.key)).status).toBe(200);
    const holding = (await suite.handle.sql<{ part: string }[]>`
      SELECT DISTINCT tableoid::regclass::text AS part FROM events WHERE tenant_id = ${a.tenant}`).map((r) => r.part);
    expect(holding.length).toBeGreaterThan(0);
    expect(holding).not.toContain("events_default");

    const report = await runMaintenance({
      sql: suite.handle.store.sql,
      appRole: suite.handle.store.appRole,
      partitionHours: 6,
      retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map([[a.tenant, 1]]) },
      now: () => Date.now() + 10 * DAY,
    });
    expect(report.partitionsDropped).toBe(holding.length);
    expect(report.eventsExpired).toBe(0);
    const names = new Set((await suite.handle.sql<{ name: string }[]>`SELECT name FROM event_partitions`).map((p) => p.name));
    for (const part of holding) expect(names.has(part)).toBe(false);
    // The empty history partition stays: with no default retention, a tenant may still back-fill it.
    expect(names.has("events_history")).toBe(true);
    await expectTotalsMatchRows(suite, app, a.key, a.tenant, 0);
    expect((await postJson(app, "/ingest", [makeEvent(1, { timestamp: "2001-01-01T00:00:00.000Z" })], b.key)).status).toBe(200);
    await expectTotalsMatchRows(suite, app, b.key, b.tenant, 1);
  });
});

/** Total, group counts and hourly buckets over all time equal the tenant's rows. */
async function expectTotalsMatchRows(suite: StoreSuite, app: TestApp, key: string, tenant: string, expected: number) {
  const [row] = await suite.handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events_all WHERE tenant_id = ${tenant}`;
  expect(row!.n).toBe(expected);
  const window = { startTime: "1970-01-01T00:00:00Z", endTime: new Date(Date.now() + 2 * DAY).toISOString() };
  const list = (await (await postJson(app, "/query", { ...window, limit: 1 }, key)).json()) as any;
  expect(list.pagination.total).toBe(expected);
  const groups = (await (await postJson(app, "/query", { ...window, groupBy: "service" }, key)).json()) as any;
  expect(groups.total).toBe(expected);
  const buckets = (await (await postJson(app, "/query", { startTime: new Date(Date.now() - 3 * DAY).toISOString(), endTime: window.endTime, interval: "1h" }, key)).json()) as any;
  const [recent] = await suite.handle.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events_all WHERE tenant_id = ${tenant} AND ts >= ${new Date(Date.now() - 3 * DAY).toISOString()}::timestamptz`;
  expect(buckets.total).toBe(recent!.n);
}
