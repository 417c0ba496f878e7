/**
 * Retention, deletion and the move of the table of before under concurrent
 * work, on PostgreSQL (the embedded store serves one session at a time):
 * a tenant's write still in flight while retention drops a partition, a
 * /delete while a batch of old rows is being moved, partitions dropped only
 * once the old rows are all moved, and level counts of moved rows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres, { type Sql } from "postgres";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import { ensurePartitions, runMaintenance } from "../../src/storage/maintenance";
import { MIGRATIONS_DIR, migrateUp } from "../../src/storage/migrations";
import { openStore, type OpenedStore } from "../../src/storage/open-store";
import { ingestBatch, toColumns } from "../../src/storage/write-sql";
import { buildApp, freshTenants, HOUR, makeEvent, openPostgresTestStore, postJson, random, serviceUrl, testConfig, type StoreHandle } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const DAY = 24 * HOUR;
const silent = createLogger({ level: "silent" });
if (!databaseUrl) console.log("lifecycle races: skipped, TEST_DATABASE_URL is not set (they need concurrent PostgreSQL sessions)");

describe.skipIf(!databaseUrl)("retention against a write in flight, on PostgreSQL", () => {
  const opened = postgresStore();

  test("a partition whose expired tenant was judged alone is kept when another tenant's write commits into it meanwhile", async () => {
    const handle = opened();
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants);
    const at = new Date(Date.now() - HOUR).toISOString();
    expect((await postJson(app, "/ingest", [makeEvent(1, { timestamp: at })], tenants.a.key)).status).toBe(200);
    const [row] = await handle.sql<{ part: string }[]>`SELECT tableoid::regclass::text AS part FROM events WHERE tenant_id = ${tenants.a.tenant}`;
    const part = row!.part;

    // Partitions already made for the run below (creating one waits for every write in flight).
    await ensurePartitions(handle.store.sql, 6, Date.now() + 10 * DAY);

    // Tenant b (a retention of 30 days) back-fills the same hour in a transaction still open.
    const { commit, done: inFlight } = heldWrite(handle, tenants.b.tenant, "late-b", at);
    await waitFor(async () => (await handle.sql`SELECT 1 FROM pg_locks WHERE relation = ${part}::regclass AND granted AND mode = 'RowExclusiveLock'`).length > 0);


    // Ten days on, with a's retention of 3 days and b's of 30: a is expired, b's row is not committed yet.
    const maintenance = runMaintenance({
      sql: handle.store.sql,
      appRole: handle.store.appRole,
      partitionHours: 6,
      retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map([[tenants.a.tenant, 3], [tenants.b.tenant, 30]]) },
      now: () => Date.now() + 10 * DAY,
    });
    // The drop waits for b's transaction (its locks on events and the partition), which then commits.
    await waitFor(async () => (await handle.sql`SELECT 1 FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'`).length > 0);
    commit();
    await inFlight;
    await maintenance;

    expect((await handle.sql`SELECT 1 FROM event_partitions WHERE name = ${part}`).length).toBe(1);
    const total = async (key: string) =>
      ((await (await postJson(app, "/query", { startTime: new Date(Date.now() - DAY).toISOString(), endTime: new Date().toISOString(), limit: 1 }, key)).json()) as any)
        .pagination.total;
    expect(await total(tenants.b.key)).toBe(1);
    expect((await handle.sql`SELECT event_id FROM events WHERE tenant_id = ${tenants.b.tenant}`).map((r) => r.event_id)).toEqual(["late-b"]);
    // a's own row still went, by the bounded deletes of a shorter retention.
    expect(await total(tenants.a.key)).toBe(0);
    expect((await handle.sql`SELECT 1 FROM events WHERE tenant_id = ${tenants.a.tenant}`).length).toBe(0);
  }, 30_000);
});

describe.skipIf(!databaseUrl)("dropping a partition beside readers, on PostgreSQL", () => {
  const opened = postgresStore();

  test("a query reading the partition while a drop waits for its locks waits too, and never deadlocks", async () => {
    const handle = opened();
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants);
    const at = new Date(Date.now() - HOUR).toISOString();
    expect((await postJson(app, "/ingest", [makeEvent(1, { timestamp: at })], tenants.a.key)).status).toBe(200);
    const [row] = await handle.sql<{ part: string; upper: Date }[]>`
      SELECT e.tableoid::regclass::text AS part, p.upper_bound AS upper
      FROM events AS e JOIN event_partitions AS p ON p.name = e.tableoid::regclass::text WHERE e.tenant_id = ${tenants.a.tenant}`;
    // A write of the same tenant into that partition, held open.
    const { commit, done: writer } = heldWrite(handle, tenants.a.tenant, "held", at);
    await waitFor(async () => (await handle.sql`SELECT 1 FROM pg_locks WHERE relation = ${row!.part}::regclass AND granted AND mode = 'RowExclusiveLock'`).length > 0);
    const owner = postgres(databaseUrl!, { max: 2, onnotice: () => {}, connection: { search_path: (await handle.sql<{ s: string }[]>`SELECT current_schema() AS s`)[0]!.s } });
    try {
      const drop = owner.begin(async (tx) => {
        await tx`SELECT set_config('lock_timeout', '10s', true)`;
        return (await tx<{ ok: boolean }[]>`SELECT drop_expired_partition(${row!.part}, ${row!.upper}, ARRAY[${tenants.a.tenant}]) AS ok`)[0]!.ok;
      });
      await waitFor(async () => (await handle.sql`SELECT 1 FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'`).length > 0);
      // Sent now (postgres.js sends a query when it is awaited or executed); it queues behind the drop.
      const reader = owner<{ n: number }[]>`SELECT count(*)::int AS n FROM events`.execute();
      await waitFor(async () => (await handle.sql`SELECT 1 FROM pg_locks WHERE NOT granted AND mode = 'AccessShareLock'`).length > 0);
      commit();
      await writer;
      expect(await drop).toBe(true);
      const [counted] = await reader;
      expect(typeof counted!.n).toBe("number");
    } finally {
      await owner.end();
    }
  }, 30_000);
});

describe.skipIf(!databaseUrl)("maintenance's DDL against a long transaction, on PostgreSQL", () => {
  const opened = postgresStore();

  test("creating a partition gives way to a transaction in flight instead of queueing every read and write behind it; the next run creates it", async () => {
    const handle = opened();
    const tenants = freshTenants();
    // A write into tomorrow's partition, its transaction held open.
    const { commit, done: inFlight } = heldWrite(handle, tenants.a.tenant, "long-tx", new Date(Date.now() + 20 * HOUR).toISOString());
    await waitFor(async () => (await handle.sql`SELECT 1 FROM pg_locks WHERE relation = 'events'::regclass AND granted AND mode = 'RowExclusiveLock'`).length > 0);

    // Half a day on, the partitions of the next 48 hours are one short.
    const options = { sql: handle.store.sql, appRole: handle.store.appRole, partitionHours: 6, retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map() }, now: () => Date.now() + 12 * HOUR };
    const [before] = await handle.sql<{ upper: Date }[]>`SELECT max(upper_bound) AS upper FROM event_partitions`;
    const gaveWay = await runMaintenance(options);
    expect(gaveWay.ran).toBe(true);
    expect(gaveWay.partitionsCreated).toBe(0);
    commit();
    await inFlight;

    const after = await runMaintenance(options);
    expect(after.partitionsCreated).toBeGreaterThan(0);
    const [now] = await handle.sql<{ upper: Date }[]>`SELECT max(upper_bound) AS upper FROM event_partitions`;
    expect(now!.upper.getTime()).toBeGreaterThan(before!.upper.getTime());
  }, 30_000);
});

describe.skipIf(!databaseUrl)("the table of before while its rows are moved, on PostgreSQL", () => {
  const schema = `tv_legacy_${random()}`;
  const admin = postgres(databaseUrl ?? "", { max: 3, onnotice: () => {}, connection: { search_path: schema } });
  let store: OpenedStore;
  let app: ReturnType<typeof createApp>;
  const config = testConfig({ DATABASE_URL: databaseUrl ?? "", DB_SCHEMA: schema, API_KEYS: "key-a:old-a,key-b:old-b" });
  const window = { startTime: new Date(Date.now() - 3 * DAY).toISOString(), endTime: new Date(Date.now() + HOUR).toISOString() };
  const total = async (key: string, extra: object = {}) => (await (await postJson(app, "/query", { ...window, limit: 1, ...extra }, key)).json()) as any;

  beforeAll(async () => {
    // The layout of before (migrations up to 006), filled through its own write function: old-a's
    // rows two days old with level "error", old-b's an hour old.
    const old = await mkdtemp(join(tmpdir(), "tv-migrations-"));
    for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f < "007")) await cp(join(MIGRATIONS_DIR, file), join(old, file));
    await admin`CREATE SCHEMA ${admin(schema)}`;
    await migrateUp(admin, { dir: old });
    await rm(old, { recursive: true });
    await fillOld(admin, "old-a", 120, Date.now() - 2 * DAY);
    await fillOld(admin, "old-b", 80, Date.now() - HOUR);
    store = await openStore(config, silent);
    await store.migration;
    app = createApp({ config, store, limiter: createMemoryRateLimiter({ limit: 1_000_000, windowMs: 60_000 }), logger: silent });
  });
  afterAll(async () => {
    await store?.close();
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  test("no partition is dropped while old rows remain to be moved: their counts would go with its range", async () => {
    expect((await total("key-a")).pagination.total).toBe(120);
    const [history] = await admin<{ name: string; upper_bound: Date }[]>`SELECT name, upper_bound FROM event_partitions WHERE lower_bound IS NULL`;
    const [dropped] = await admin<{ ok: boolean }[]>`SELECT drop_expired_partition(${history!.name}, ${history!.upper_bound}, ARRAY['old-a', 'old-b']) AS ok`;
    expect(dropped!.ok).toBe(false);
    expect((await total("key-a")).pagination.total).toBe(120);
  });

  test("a /delete while a batch of old rows is being moved deletes them where the move put them", async () => {
    // A move of every old row, its transaction held open.
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    const move = admin.begin(async (tx) => {
      await tx`SELECT move_legacy_events(1000)`;
      await committed;
    });
    await waitFor(async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE '%move_legacy_events%'`).length > 0);
    const deleting = postJson(app, "/delete", { startTime: window.startTime, endTime: window.endTime }, "key-b");
    // The delete waits on the rows the move took; then the move commits.
    await waitFor(async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).length > 0);
    commit();
    await move;
    const answer = await deleting;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ deleted: 80 });
    expect((await admin`SELECT 1 FROM events_all WHERE tenant_id = 'old-b'`).length).toBe(0);
    expect((await total("key-b")).pagination.total).toBe(0);
    expect((await total("key-a")).pagination.total).toBe(120);
  });

  test("once moved, old rows group by their level as their payloads say, as counted from the rows", async () => {
    while ((await runMaintenance({ sql: store.sql, appRole: store.appRole, partitionHours: 6, retention: config })).more);
    expect((await admin`SELECT to_regclass('events_legacy') AS t`)[0]!.t).toBeNull();
    const byLevel = await total("key-a", { groupBy: "field:level" });
    expect(byLevel.data).toEqual([{ key: "error", count: 120 }]);
    expect(byLevel.total).toBe(120);
    expect((await total("key-a", { where: [{ field: "level", op: "eq", value: "error" }] })).pagination.total).toBe(120);
  });
});

/** Rows of the layout of before, written by its own function (sql/005). */
async function fillOld(sql: Sql, tenant: string, count: number, around: number) {
  const events = Array.from({ length: count }, (_, i) =>
    makeEvent(i, { eventId: `${tenant}-${i}`, timestamp: new Date(around - i * 1000).toISOString(), payload: { level: "error", n: i } }));
  await sql`
    SELECT ingest_events(${tenant}, NULL, ${events.map((e) => e.eventId)}::text[], ${events.map((e) => String(e.eventType))}::text[],
      ${events.map((e) => e.serviceName)}::text[], ${events.map((e) => e.timestamp)}::text[]::timestamptz[],
      ${JSON.stringify(events.map((e) => e.payload))}::text::jsonb, ${events.map(() => 20)}::int4[])`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the database");
    await Bun.sleep(20);
  }
}

/** A store of its own for the tests of one describe block. */
function postgresStore(): () => StoreHandle {
  let handle: StoreHandle;
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
  });
  afterAll(async () => {
    await handle?.cleanup();
  });
  return () => handle;
}

/** A write of one event for `tenant`, its transaction held open until `commit()`; `done` settles after. */
function heldWrite(handle: StoreHandle, tenant: string, eventId: string, timestamp: string) {
  let commit!: () => void;
  const committed = new Promise<void>((resolve) => (commit = resolve));
  const event = { eventId, eventType: "log" as const, serviceName: "svc", timestamp, payloadJson: "{}", payloadBytes: 2, searchText: eventId, traceId: null };
  const done = handle.store.sql.begin(async (tx) => {
    await ingestBatch(tx, tenant, handle.store.appRole, toColumns([event]), 1);
    await committed;
  });
  return { commit, done };
}
