/**
 * `bun run maintenance`: one full maintenance pass (partitions ahead, rows of
 * the table of before moved, retention, search indexes on closed
 * partitions, count shards folded), repeated until nothing is left to do.
 * For cron, and for tests. Same configuration as the server.
 */
import { cliConfig } from "./cli-config";
import { createLogger } from "../observability/logger";
import { ownerClient, releaseMaintenanceLease, runMaintenance } from "./maintenance";
import { openStore } from "./open-store";

const config = cliConfig("maintenance");
const logger = createLogger({ level: config.LOG_LEVEL === "silent" ? "silent" : "warn" });
const store = await openStore({ ...config, MIGRATE_ON_START: false }, logger);
const owner = ownerClient(config);
try {
  await store.migration;
  const totals: Record<string, number> = {};
  for (let pass = 1; ; pass++) {
    const report = await runMaintenance({
      sql: store.sql,
      appRole: store.appRole,
      partitionHours: config.PARTITION_HOURS,
      retention: config,
      logger,
      owner,
    });
    if (!report.ran) {
      console.error("maintenance: another replica holds the maintenance lease; try again later");
      process.exitCode = 2;
      break;
    }
    for (const [key, value] of Object.entries(report)) if (typeof value === "number") totals[key] = (totals[key] ?? 0) + value;
    if (!report.more) break;
  }
  if (process.exitCode !== 2) {
    await releaseMaintenanceLease(store.sql);
    console.log(`maintenance: ${Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
} catch (error) {
  console.error(`maintenance failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await owner?.end({ timeout: 5 });
  await store.close();
}
