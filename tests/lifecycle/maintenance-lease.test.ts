/**
 * One maintenance runner at a time across processes (a lease row), given up
 * when its runner stops: `bun run maintenance` (its own process) is refused
 * while a replica's maintenance holds the lease, and runs at once after that
 * replica stops or after another `bun run maintenance` finished, instead of
 * waiting for the lease to expire.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../src/observability/logger";
import { scheduleMaintenance } from "../../src/storage/maintenance";
import { openPostgresTestStore, serviceUrl, type StoreHandle } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const ROOT = join(import.meta.dir, "../..");
if (!databaseUrl) console.log("maintenance lease: skipped, TEST_DATABASE_URL is not set");

describe.skipIf(!databaseUrl)("the maintenance lease, on PostgreSQL", () => {
  let handle: StoreHandle;
  let schema: string;
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
    schema = (await handle.sql<{ schema: string }[]>`SELECT current_schema() AS schema`)[0]!.schema;
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  /** `bun run maintenance` on the test schema: its exit code and output. */
  async function maintenanceCommand() {
    const child = Bun.spawn(["bun", "run", "maintenance"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, LOG_LEVEL: "silent" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
    return { code, output: out + err };
  }

  const holder = async () => (await handle.sql<{ holder: string | null }[]>`SELECT holder FROM maintenance_lease`)[0]!.holder;

  test("refused while a replica's maintenance holds it; free as soon as that replica stops", async () => {
    const stop = scheduleMaintenance({
      store: handle.store, intervalS: 3600, partitionHours: 6, logger: createLogger({ level: "silent" }),
      retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map() },
    });
    try {
      for (let i = 0; (await holder()) === null; i++) {
        expect(i).toBeLessThan(500);
        await Bun.sleep(10);
      }
      const refused = await maintenanceCommand();
      expect(refused.code).toBe(2);
      expect(refused.output).toContain("another replica holds the maintenance lease");
      expect(refused.output).not.toMatch(/^maintenance: $/m);
    } finally {
      await stop();
    }
    expect(await holder()).toBeNull();

    const ran = await maintenanceCommand();
    expect(ran.code).toBe(0);
    expect(ran.output).toMatch(/^maintenance: partitionsCreated \d+/m);
    // It gave the lease up when done: the next run need not wait five minutes.
    expect(await holder()).toBeNull();
    expect((await maintenanceCommand()).code).toBe(0);
  }, 60_000);
});
