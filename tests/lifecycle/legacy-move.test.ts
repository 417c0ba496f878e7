/**
 * The move from the unpartitioned events table of before (sql/001–006) to
 * the partitioned one, online: a filled table of the old layout is migrated,
 * then maintenance moves its rows in bounded batches while the service keeps
 * ingesting and answering. Totals are exact before, during and after;
 * retries of old events stay duplicates; the old table goes away at the end.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import { runMaintenance } from "../../src/storage/maintenance";
import { MIGRATIONS_DIR, migrateUp } from "../../src/storage/migrations";
import { openStore } from "../../src/storage/open-store";
import { HOUR, makeEvent, postJson, random, serviceUrl, testConfig } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const ROWS = 30_000;

describe.skipIf(!databaseUrl)("moving the table of before online, on PostgreSQL", () => {
  const schema = `tv_legacy_${random()}`;
  const admin = postgres(databaseUrl ?? "", { max: 2, onnotice: () => {}, connection: { search_path: schema } });
  afterAll(async () => {
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  test(`${ROWS} rows move in bounded batches while ingest and queries go on; totals exact throughout`, async () => {
    // The layout of before: migrations up to 006, filled through its own write function.
    const old = await mkdtemp(join(tmpdir(), "tv-migrations-"));
    for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f < "007")) await cp(join(MIGRATIONS_DIR, file), join(old, file));
    await admin`CREATE SCHEMA ${admin(schema)}`;
    await migrateUp(admin, { dir: old });
    await rm(old, { recursive: true });
    const tenants = ["old-a", "old-b"];
    const base = Date.now() - 20 * HOUR;
    const legacy = Array.from({ length: ROWS }, (_, i) => makeEvent(i, { timestamp: new Date(base + (i * 2311) % (19 * HOUR)).toISOString() }));
    for (let i = 0; i < ROWS; i += 5000) {
      const chunk = legacy.slice(i, i + 5000);
      const tenant = tenants[(i / 5000) % 2]!;
      await admin`
        SELECT ingest_events(${tenant}, NULL, ${chunk.map((e) => e.eventId)}::text[], ${chunk.map((e) => String(e.eventType))}::text[],
          ${chunk.map((e) => e.serviceName)}::text[], ${chunk.map((e) => e.timestamp)}::text[]::timestamptz[],
          ${JSON.stringify(chunk.map((e) => e.payload))}::text::jsonb, ${chunk.map(() => 20)}::int4[])`;
    }
    const perTenant = ROWS / 2;

    // The new release: its migration renames the table, then the service starts on it.
    const config = testConfig({ DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, API_KEYS: "key-a:old-a,key-b:old-b" });
    const store = await openStore(config, createLogger({ level: "silent" }));
    await store.migration;
    const app = createApp({ config, store, limiter: createMemoryRateLimiter({ limit: 1_000_000, windowMs: 60_000 }), logger: createLogger({ level: "silent" }) });
    const window = { startTime: new Date(base - HOUR).toISOString(), endTime: new Date(Date.now() + HOUR).toISOString() };
    const total = async (key: string) => ((await (await postJson(app, "/query", { ...window, limit: 1 }, key)).json()) as any).pagination.total;
    const rows = async (tenant: string) => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM events_all WHERE tenant_id = ${tenant}`)[0]!.n;
    expect(await total("key-a")).toBe(perTenant);
    expect((await admin`SELECT to_regclass('events_legacy') AS t`)[0]!.t).not.toBeNull();

    // Maintenance moves batches while new events arrive and old ones are re-sent.
    let added = 0;
    let duplicates = 0;
    let passes = 0;
    for (;;) {
      const report = await runMaintenance({ sql: store.sql, appRole: store.appRole, partitionHours: 6, retention: config });
      passes++;
      const fresh = Array.from({ length: 200 }, (_, i) => makeEvent(100_000 + added + i, { timestamp: new Date(Date.now() - 60_000).toISOString() }));
      const retried = legacy.slice(passes * 700, passes * 700 + 50); // tenant old-a's rows
      const answer = (await (await postJson(app, "/ingest", [...fresh, ...retried], "key-a")).json()) as any;
      added += answer.ingested;
      duplicates += answer.duplicates;
      expect(answer).toMatchObject({ ingested: 200, duplicates: retried.length });
      expect(await total("key-a")).toBe(perTenant + added);
      expect(await rows("old-a")).toBe(perTenant + added);
      expect(await total("key-b")).toBe(perTenant);
      if (!report.more && report.legacyMoved === 0) break;
      expect(passes).toBeLessThan(50);
    }
    expect(passes).toBeGreaterThan(1); // bounded: more than one pass was needed
    expect((await admin`SELECT to_regclass('events_legacy') AS t`)[0]!.t).toBeNull();
    const groups = (await (await postJson(app, "/query", { ...window, groupBy: "eventType" }, "key-a")).json()) as any;
    expect(groups.total).toBe(perTenant + added);
    expect(duplicates).toBeGreaterThan(0);
    // Moved rows are searchable like new ones.
    const moved = (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = 'old-b' AND search_text LIKE '%event 1%'`)[0]!.n;
    expect(moved).toBeGreaterThan(0);
    await store.close();
  }, 120_000);
});
