import postgres, { type Sql } from "postgres";
import type { Logger } from "pino";
import { databaseUrl, retentionDaysOf, type Config } from "../config";
import { aloneOnSearchIndexes, nextSearchIndexStep, ownsEvents, partitionStates, slicesOf, takeSearchIndexStep } from "./search-indexes";
import type { Db } from "./write-sql";

/**
 * Upkeep of the partitioned layout (sql/007), one runner at a time across
 * replicas (a lease row): partitions created ahead, rows of the table of
 * before moved in, trigram indexes built on partitions that closed and on
 * the settled hours of open ones (search-indexes.ts), expired
 * data dropped (whole partitions) or deleted (bounded batches, for a tenant
 * whose retention is shorter than others'), count shards folded. Every step
 * is bounded per run, so a run never holds the database for long; `bun run
 * maintenance` runs passes until nothing is left to do.
 */
/** RETENTION_DAYS and TENANT_RETENTION_DAYS, as config.ts reads them. */
export type Retention = Pick<Config, "RETENTION_DAYS" | "TENANT_RETENTION_DAYS">;

export interface MaintenanceOptions {
  sql: Sql;
  /** The role the store switches to (row-level security), if it does. */
  appRole: string | undefined;
  partitionHours: number;
  retention: Retention;
  logger?: Pick<Logger, "info" | "warn">;
  now?: () => number;
  /**
   * A client as the tables' owner with no statement timeout (ownerClient),
   * for the search indexes built CONCURRENTLY; its owner ends it. Without
   * it, no search slices (search-indexes.ts).
   */
  owner?: Sql;
}

export interface MaintenanceReport {
  /** False when another replica holds the lease. */
  ran: boolean;
  partitionsCreated: number;
  legacyMoved: number;
  partitionsIndexed: number;
  /** Search slices built on open partitions (search-indexes.ts). */
  slicesIndexed: number;
  partitionsDropped: number;
  eventsExpired: number;
  countsFolded: number;
  /** More work is waiting than one run does. */
  more: boolean;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Partitions exist this far ahead: events may be stamped up to 24 h in the future. */
const AHEAD_MS = 48 * HOUR_MS;
/** Count shards of slots older than this are folded together. */
const FOLD_AFTER_MS = HOUR_MS;
const LEASE_SECONDS = 300;
/**
 * How long maintenance's DDL on events (creating a partition, dropping one)
 * waits for its lock. While it waits, every read and write of events queues
 * behind it, for as long as the longest transaction in flight; past this it
 * gives way and is tried again next run (partitions are made 48 h ahead).
 */
const DDL_LOCK_TIMEOUT = "2s";
/** How long stopping waits for a run in flight. */
const STOP_WAIT_MS = 5000;
const BATCH = 5000;
/** Batches of each kind one run does at most. */
const BATCHES_PER_RUN = 20;

const identity = `${process.pid}-${crypto.randomUUID().slice(0, 8)}`;

/** Creates the partitions the next two days need; the service does this before it takes writes. */
export async function ensurePartitions(sql: Db, partitionHours: number, now = Date.now()): Promise<number> {
  const [row] = await sql<{ created: number }[]>`
    SELECT create_event_partitions(${`${partitionHours} hours`}::interval, ${new Date(now + AHEAD_MS).toISOString()}::timestamptz) AS created`;
  return row!.created;
}

/** Gives this process's lease up, so another runner can start at once (sql/011). */
export async function releaseMaintenanceLease(sql: Sql): Promise<void> {
  await sql`SELECT release_maintenance_lease(${identity})`;
}

export async function runMaintenance(options: MaintenanceOptions): Promise<MaintenanceReport> {
  const { sql, appRole, retention, logger } = options;
  const now = (options.now ?? Date.now)();
  const report: MaintenanceReport = {
    ran: false, partitionsCreated: 0, legacyMoved: 0, partitionsIndexed: 0, slicesIndexed: 0, partitionsDropped: 0, eventsExpired: 0, countsFolded: 0, more: false,
  };
  const [lease] = await sql<{ taken: boolean | null }[]>`SELECT take_maintenance_lease(${identity}, ${LEASE_SECONDS}) AS taken`;
  if (!lease?.taken) return report;
  report.ran = true;

  const created = await givingWay(sql, (tx) => ensurePartitions(tx, options.partitionHours, now));
  if (created === undefined) logger?.warn({}, "maintenance: creating partitions waited for a lock too long; will retry");
  report.partitionsCreated = created ?? 0;

  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    const [row] = await sql<{ moved: number }[]>`SELECT move_legacy_events(${BATCH}) AS moved`;
    report.legacyMoved += row!.moved;
    if (row!.moved < BATCH) break;
    if (i === BATCHES_PER_RUN - 1) report.more = true;
  }
  if (report.legacyMoved > 0 || !report.more) await sql`SELECT finish_legacy_move()`;

  const partitions = await partitionStates(sql);
  const dropped = new Set<string>();

  // Retention: whole partitions where every tenant with rows in them has expired.
  for (const partition of partitions) {
    const tenants = await sql<{ tenant: string }[]>`SELECT tenants_with_events_before(${partition.upper_bound}) AS tenant`;
    const expired = tenants.every(({ tenant }) => {
      const days = retentionDaysOf(retention, tenant);
      return days !== undefined && partition.upper_bound.getTime() <= now - days * DAY_MS;
    });
    // A partition nobody has rows in is dropped only once the default
    // retention passed it (a tenant may still back-fill it until then), but
    // it does not stop the search: a later one may hold only expired rows.
    const empty = tenants.length === 0;
    const emptyAndPast = empty && retention.RETENTION_DAYS !== undefined && partition.upper_bound.getTime() <= now - retention.RETENTION_DAYS * DAY_MS;
    if ((!empty && expired) || emptyAndPast) {
      // Dropped only if no other tenant's rows arrived meanwhile (sql/011).
      const judged = tenants.map(({ tenant }) => tenant);
      const result = await givingWay(sql, async (tx) => {
        const [row] = await tx<{ ok: boolean }[]>`SELECT drop_expired_partition(${partition.name}, ${partition.upper_bound}, ${judged}::text[]) AS ok`;
        return row!;
      });
      if (result === undefined) {
        logger?.warn({ partition: partition.name }, "retention: dropping a partition waited for a lock too long; will retry");
        break;
      }
      if (result.ok) {
        dropped.add(partition.name);
        report.partitionsDropped++;
        logger?.info({ partition: partition.name, until: partition.upper_bound.toISOString() }, "retention: partition dropped");
      }
    } else if (!empty) break; // partitions are in time order: later ones hold newer rows
  }

  // Retention: tenants whose own retention is shorter, in bounded batches.
  const defaultCutoff = retention.RETENTION_DAYS === undefined ? undefined : now - retention.RETENTION_DAYS * DAY_MS;
  const candidates = new Set([...retention.TENANT_RETENTION_DAYS.keys()]);
  if (defaultCutoff !== undefined) {
    for (const { tenant } of await sql<{ tenant: string }[]>`SELECT tenants_with_events_before(${new Date(defaultCutoff)}) AS tenant`) candidates.add(tenant);
  }
  for (const tenant of candidates) {
    const days = retentionDaysOf(retention, tenant);
    if (days === undefined) continue;
    const cutoff = new Date(now - days * DAY_MS - 1);
    for (let i = 0; i < BATCHES_PER_RUN; i++) {
      const [row] = await sql<{ n: number }[]>`
        SELECT delete_events(${tenant}, ${appRole ?? null}, '-infinity'::timestamptz, ${cutoff}, NULL, NULL, ${BATCH}) AS n`;
      if (row!.n === 0) break;
      report.eventsExpired += Math.max(0, row!.n);
      if (i === BATCHES_PER_RUN - 1) report.more = true;
    }
  }

  // Search: one index built or dropped a run (building one takes a while).
  // A failure here is said and retried next run; the rest of maintenance goes on.
  try {
    const builder = options.owner && (await ownerAvailable(options.owner, logger)) ? options.owner : undefined;
    const open = partitions.filter((p) => !dropped.has(p.name));
    const takeStep = async () => {
      const step = nextSearchIndexStep(open, builder ? await slicesOf(builder) : [], now, !!builder);
      if (step && (await takeSearchIndexStep(sql, builder, step))) {
        if (step.kind === "full") report.partitionsIndexed++;
        if (step.kind === "slice") report.slicesIndexed++;
        report.more ||= step.kind !== "slice";
      }
    };
    if (builder) await aloneOnSearchIndexes(builder, takeStep);
    else await takeStep();
  } catch (error) {
    logger?.warn({ err: error }, "maintenance: search index step failed; will retry");
  }

  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    const [row] = await sql<{ n: number }[]>`SELECT compact_counts(${new Date(now - FOLD_AFTER_MS)}, ${BATCH}) AS n`;
    report.countsFolded += row!.n;
    if (row!.n < BATCH) break;
    if (i === BATCHES_PER_RUN - 1) report.more = true;
  }
  return report;
}

/** Runs `ddl` in a transaction that waits DDL_LOCK_TIMEOUT at most for a lock; undefined when it gave way. */
async function givingWay<T>(sql: Sql, ddl: (tx: Db) => Promise<T>): Promise<T | undefined> {
  try {
    return (await sql.begin(async (tx) => {
      await tx`SELECT set_config('lock_timeout', ${DDL_LOCK_TIMEOUT}, true)`;
      return ddl(tx);
    })) as T;
  } catch (error) {
    if ((error as { code?: unknown }).code === "55P03") return undefined; // lock_not_available
    throw error;
  }
}

/**
 * Runs maintenance every `intervalS` in the background (one replica at a
 * time: the lease), never overlapping itself; failures are logged and
 * retried next time. Returns a stop function that waits a while (STOP_WAIT_MS)
 * for a run in flight, gives the lease up when none is left running, then
 * ends the owner's client.
 */
export function scheduleMaintenance(
  options: Omit<MaintenanceOptions, "sql" | "appRole"> & { store: { sql: Sql; appRole: string | undefined }; intervalS: number; logger: Pick<Logger, "info" | "warn"> },
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runMaintenance({ ...options, sql: options.store.sql, appRole: options.store.appRole })
      .then((report) => {
        if (report.partitionsCreated || report.legacyMoved || report.partitionsDropped || report.eventsExpired || report.partitionsIndexed || report.slicesIndexed) {
          options.logger.info({ ...report }, "maintenance");
        }
      })
      .catch((error) => options.logger.warn({ err: error }, "maintenance run failed; will retry"))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, options.intervalS * 1000);
  timer.unref?.();
  tick();
  return async () => {
    stopped = true;
    clearInterval(timer);
    // A search index build may take minutes: shutdown waits a while, then leaves it (an
    // interrupted build leaves an invalid index, which the next run drops and builds again).
    await Promise.race([running, Bun.sleep(STOP_WAIT_MS)]);
    // A run still in flight keeps the lease until it expires: nobody else starts beside it.
    if (!running) await releaseMaintenanceLease(options.store.sql).catch((error) => options.logger.warn({ err: error }, "maintenance lease not released"));
    await options.owner?.end({ timeout: 1 });
  };
}

/**
 * Whether the owner's connection can be used: it connects, and its login may
 * act as the owner of events. If not, it says why, once, and search goes
 * without slices (the rest of maintenance is unaffected).
 */
async function ownerAvailable(owner: Sql, logger: Pick<Logger, "warn"> | undefined): Promise<boolean> {
  try {
    if (await ownsEvents(owner)) return true;
    warnNoSlices(logger, "search slices need the tables' owner (MIGRATION_DATABASE_URL)");
  } catch (error) {
    warnNoSlices(logger, `search slices: cannot connect as the tables' owner (${(error as Error).message})`);
  }
  return false;
}

/** Says once why maintenance builds no search slices, and what that costs. */
export function warnNoSlices(logger: Pick<Logger, "warn"> | undefined, why: string) {
  warnOnce(logger, `${why}: until then rare words read the open partition whole`);
}

/** Said once per logger (so once per process), not every run. */
const warned = new WeakMap<object, Set<string>>();
function warnOnce(logger: Pick<Logger, "warn"> | undefined, message: string) {
  if (!logger) return;
  const said = warned.get(logger) ?? new Set<string>();
  if (said.has(message)) return;
  said.add(message);
  warned.set(logger, said);
  logger.warn({}, message);
}

/**
 * A client as the tables' owner for maintenance's index builds: the login
 * migrations use (MIGRATION_DATABASE_URL, else the service's own), one
 * connection with no statement timeout, opened when first used and kept
 * between runs. Undefined for the embedded store and behind PgBouncer
 * without MIGRATION_DATABASE_URL.
 */
export function ownerClient(config: Config): Sql | undefined {
  const service = databaseUrl(config);
  if (!service) return undefined; // the embedded store
  // Through PgBouncer in transaction mode a session has no settings of its own: only a direct owner's URL.
  const url = config.MIGRATION_DATABASE_URL ?? (config.DB_PGBOUNCER ? undefined : service);
  if (!url) return undefined;
  return postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 5,
    // Kept across runs of the default interval (60 s), closed when maintenance stops running.
    idle_timeout: 2 * 60,
    connection: {
      application_name: "telemetry-vault-maintenance",
      statement_timeout: "0",
      ...(config.DB_SCHEMA ? { search_path: config.DB_SCHEMA } : {}),
    } as Record<string, string>,
  });
}
