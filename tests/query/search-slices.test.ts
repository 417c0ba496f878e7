/**
 * Search slices (sql/010, storage/search-indexes.ts): maintenance gives the
 * settled hours of the partition that still receives writes trigram indexes
 * of their own; a rare word is found through them (the plan says so) and
 * through the newest hour, read whole; when the partition closes, its full
 * index replaces them. And a closed partition's full index is built however
 * much longer than the service's statement timeout it takes.
 * PostgreSQL only: the embedded store has no owner's connection to build
 * CONCURRENTLY with, and reads its (small) partitions whole.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type postgres from "postgres";
import { ownerClient, runMaintenance } from "../../src/storage/maintenance";
import { buildApp, freshTenants, HOUR, openPostgresTestStore, postJson, serviceUrl, testConfig, type StoreHandle, type TestApp } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
if (!databaseUrl) console.warn("search-slices.test.ts skipped: TEST_DATABASE_URL is not set");

const PARTITION = 6 * HOUR;
/** The next partition's start: its hours are settled at whatever `now` maintenance is given. */
const start = Math.ceil(Date.now() / PARTITION) * PARTITION;
const RARE = "zyxwvut";

function event(id: string, at: number, msg: string) {
  return { eventId: id, eventType: "log", serviceName: "checkout", timestamp: new Date(at).toISOString(), payload: { msg, level: "info" } };
}

const WORDS = ["payment", "declined", "timeout", "upstream", "retry", "checkout", "inventory", "warehouse"];
/** A log line of 24 varied words: trigram indexes of such text take a while to build. */
function noiseText(n: number): string {
  return Array.from({ length: 24 }, (_, w) => `${WORDS[(n + w) % WORDS.length]}${(n * 31 + w) % 997}`).join(" ");
}

async function schemaOf(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ schema: string }[]>`SELECT current_schema() AS schema`;
  return row!.schema;
}

function maintenanceOn(handle: StoreHandle, owner: postgres.Sql | undefined) {
  return (now: number) =>
    runMaintenance({
      sql: handle.store.sql,
      appRole: handle.store.appRole,
      partitionHours: 6,
      retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map() },
      now: () => now,
      owner,
    });
}

async function found(app: TestApp, key: string): Promise<string[]> {
  const res = await postJson(app, "/query", {
    startTime: new Date(start).toISOString(), endTime: new Date(start + PARTITION - 1).toISOString(), q: RARE, limit: 100,
  }, key);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { eventId: string }[]; pagination: { total: number } };
  expect(body.pagination.total).toBe(body.data.length);
  return body.data.map((e) => e.eventId).sort();
}

describe.skipIf(!databaseUrl)("search slices on PostgreSQL", () => {
  const tenants = freshTenants();
  let handle: StoreHandle;
  let app: TestApp;
  let maintenance: (now: number) => ReturnType<typeof runMaintenance>;
  let owner: postgres.Sql | undefined;

  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
    app = buildApp(handle.store, tenants);
    owner = ownerClient(testConfig({ DATABASE_URL: databaseUrl!, DB_SCHEMA: await schemaOf(handle.sql) }));
    maintenance = maintenanceOn(handle, owner);
    // Enough events that an index beats reading the hours whole, as in a real partition.
    for (let batch = 0; batch < 12; batch++) {
      const noise = Array.from({ length: 1000 }, (_, i) => {
        const n = batch * 1000 + i;
        return event(`n-${n}`, start + (n % 240) * 60_000 + 1000, noiseText(n));
      });
      expect((await postJson(app, "/ingest", noise, tenants.a.key)).status).toBe(200);
    }
    const rare = [
      event("rare-first-hour", start + 30 * 60_000, `lock ${RARE} in the first hour`),
      event("rare-newest-hour", start + 3 * HOUR + 30 * 60_000, `lock ${RARE.toUpperCase()} in the newest hour`),
    ];
    expect((await postJson(app, "/ingest", rare, tenants.a.key)).status).toBe(200);
    // Statistics, as autovacuum would gather them (it is off on the test machine).
    await handle.sql`ANALYZE events`;
    // The other tenant's match sits in a slice too, and must stay its own.
    expect((await postJson(app, "/ingest", [event("rare-other", start + HOUR + 5 * 60_000, RARE)], tenants.b.key)).status).toBe(200);
  });
  afterAll(async () => {
    await owner?.end();
    await handle?.cleanup();
  });

  test("the open partition's settled hours get a slice, which a rare word is found through; the newest hour is read whole", async () => {
    // Closed partitions (older, empty) get their full index first, one a run; then the slice.
    let sliced = 0;
    for (let run = 0; run < 40 && sliced === 0; run++) sliced = (await maintenance(start + 3 * HOUR + 15 * 60_000)).slicesIndexed;
    expect(sliced).toBe(1);
    const slices = await handle.sql<{ index_name: string; lo: Date; hi: Date; valid: boolean }[]>`
      SELECT s.index_name, s.lo, s.hi, x.indisvalid AS valid
      FROM search_slices AS s JOIN pg_index AS x ON x.indexrelid = to_regclass(s.index_name)`;
    expect(slices.map((s) => [s.lo.getTime(), s.hi.getTime(), s.valid])).toEqual([[start, start + 3 * HOUR, true]]);

    expect(await found(app, tenants.a.key)).toEqual(["rare-first-hour", "rare-newest-hour"]);
    expect(await found(app, tenants.b.key)).toEqual(["rare-other"]);

    // What a search runs: the slice's stretch can use the slice's index (sequential scans
    // are priced out, so any index the planner may use, it does).
    const conn = await handle.sql.reserve();
    try {
      // Whatever the session's date style and zone, the bounds read back exactly.
      await conn.unsafe(`SET datestyle = 'SQL, DMY'; SET timezone = 'Asia/Kolkata'`);
      const [row] = await conn<{ statement: string }[]>`
        SELECT search_keys_statement(${[`%${RARE}%`]}::text[], ${new Date(start)}, ${new Date(start + PARTITION - 1)}, NULL, NULL) AS statement`;
      await conn.unsafe(`SET enable_seqscan = off`);
      await conn.unsafe(`PREPARE slice_search (text, timestamptz, timestamptz, text, text) AS ${row!.statement}`);
      const plan = await conn.unsafe(
        `EXPLAIN EXECUTE slice_search('${tenants.a.tenant}', '${new Date(start).toISOString()}', '${new Date(start + PARTITION - 1).toISOString()}', NULL, NULL)`);
      const text = plan.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
      expect(text).toContain(`Bitmap Index Scan on ${slices[0]!.index_name}`);
      await conn.unsafe(`DEALLOCATE slice_search`);
      await conn.unsafe(`RESET enable_seqscan; RESET datestyle; RESET timezone`);
    } finally {
      conn.release();
    }

    // An hour later, the next slice starts where the first ends.
    expect((await maintenance(start + 4 * HOUR + 15 * 60_000)).slicesIndexed).toBe(1);
    const bounds = await handle.sql<{ lo: Date; hi: Date }[]>`SELECT lo, hi FROM search_slices ORDER BY lo`;
    expect(bounds.map((s) => [s.lo.getTime() - start, s.hi.getTime() - start])).toEqual([[0, 3 * HOUR], [3 * HOUR, 4 * HOUR]]);
    expect(await found(app, tenants.a.key)).toEqual(["rare-first-hour", "rare-newest-hour"]);

    // Slices that overlap (two runners could leave some) and one whose build failed: every key once.
    const [first] = await handle.sql<{ p: string }[]>`SELECT partition_name AS p FROM search_slices LIMIT 1`;
    const partition = first!.p;
    await handle.sql.unsafe(`CREATE INDEX overlap_idx ON ${partition} USING gin (search_text public.gin_trgm_ops)
      WHERE ts >= '${new Date(start).toISOString()}' AND ts < '${new Date(start + 4 * HOUR).toISOString()}'`);
    await handle.sql`INSERT INTO search_slices VALUES ('overlap_idx', ${partition}, ${new Date(start)}, ${new Date(start + 4 * HOUR)}),
                                                     ('never_built_idx', ${partition}, ${new Date(start + HOUR)}, ${new Date(start + 2 * HOUR)})`;
    const keys = await handle.sql.begin(async (tx) => {
      await tx`SELECT set_config('app.tenant_id', ${tenants.a.tenant}, true)`;
      return tx<{ event_id: string }[]>`
        SELECT event_id FROM search_keys(${[`%${RARE}%`]}::text[], ${new Date(start)}, ${new Date(start + PARTITION - 1)}, NULL, NULL, 100)`;
    });
    expect(keys.map((k) => k.event_id).sort()).toEqual(["rare-first-hour", "rare-newest-hour"]);
    // The next run drops the slice whose index is missing; the overlap stays harmless until close.
    await maintenance(start + 4 * HOUR + 15 * 60_000);
    const names = await handle.sql<{ index_name: string }[]>`SELECT index_name FROM search_slices ORDER BY index_name`;
    expect(names.map((n) => n.index_name)).not.toContain("never_built_idx");
  });

  test("once the partition has closed, its full index replaces the slices", async () => {
    const now = start + PARTITION + 11 * 60_000;
    // Older empty partitions get their full index first, one a run.
    for (let run = 0; run < 40; run++) {
      const [left] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM search_slices`;
      if (left!.n === 0) break;
      await maintenance(now);
    }
    const name = `events_${new Date(start).toISOString().slice(0, 13).replace(/-/g, "").replace("T", "_")}_search_idx`;
    const [full] = await handle.sql<{ valid: boolean | null; slices: number; leftover: number }[]>`
      SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(${name})) AS valid,
             (SELECT count(*)::int FROM search_slices) AS slices,
             (SELECT count(*)::int FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%search_20%') AS leftover`;
    expect(full).toEqual({ valid: true, slices: 0, leftover: 0 });
    expect(await found(app, tenants.a.key)).toEqual(["rare-first-hour", "rare-newest-hour"]);
  });
});

describe.skipIf(!databaseUrl)("a closed partition's full index on PostgreSQL", () => {
  test("is built through the service's own connection however much longer than its statement timeout it takes", async () => {
    const TIMEOUT_MS = 250;
    const handle = await openPostgresTestStore(databaseUrl!, { DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) });
    try {
      const tenants = freshTenants();
      const app = buildApp(handle.store, tenants);
      for (let batch = 0; batch < 16; batch++) {
        const events = Array.from({ length: 1000 }, (_, i) => {
          const n = batch * 1000 + i;
          return event(`t-${n}`, start + (n % 360) * 60_000, noiseText(n));
        });
        expect((await postJson(app, "/ingest", events, tenants.a.key)).status).toBe(200);
      }
      // Without the owner's connection: index_closed_partition, through the service's pool.
      const maintenance = maintenanceOn(handle, undefined);
      const name = `events_${new Date(start).toISOString().slice(0, 13).replace(/-/g, "").replace("T", "_")}_search_idx`;
      let built = false;
      let longestRunMs = 0;
      for (let run = 0; run < 40 && !built; run++) {
        const t = performance.now();
        await maintenance(start + PARTITION + 11 * 60_000);
        longestRunMs = Math.max(longestRunMs, performance.now() - t);
        const [row] = await handle.sql<{ valid: boolean | null }[]>`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass(${name})`;
        built = row?.valid === true;
      }
      expect(built).toBe(true);
      // The build did outlast the timeout (else this test would prove nothing).
      expect(longestRunMs).toBeGreaterThan(TIMEOUT_MS);
    } finally {
      await handle.cleanup();
    }
  }, 60_000);
});
