/**
 * The process entry: reads the environment, opens connections, listens, and
 * shuts down in order. Everything else is built by createApp from what is
 * opened here.
 */
import { createApp } from "./app";
import { readFileSync } from "node:fs";
import { ConfigError, parseConfig, withSecretFiles, type Config } from "./config";
import { createLogger } from "./observability/logger";
import { bodyBudgetFromConfig } from "./http/body-budget";
import { createMetrics } from "./observability/metrics";
import { createTracerProvider } from "./observability/tracer-provider";
import { waitUntilReady } from "./ratelimit";
import { createLimiterFromConfig } from "./ratelimit/from-config";
import { ownerClient, scheduleMaintenance, warnNoSlices } from "./storage/maintenance";
import { createLiveTail } from "./tail/live-tail";
import { openStore } from "./storage/open-store";
import { createUsageRecorder } from "./storage/usage-recorder";

const TRACE_FLUSH_TIMEOUT_MS = 3000;
/** How long a drain waits on responses nobody reads once all handlers answered and all tails ended. */
const DRAIN_STALLED_MS = 2000;

function loadConfig(): Config {
  try {
    return parseConfig(withSecretFiles(process.env, (path) => readFileSync(path, "utf8")));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`telemetry-vault: configuration error\n${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

function canPrettyPrint(config: Config): boolean {
  if (!process.stdout.isTTY || config.NODE_ENV === "production") return false;
  try {
    require.resolve("pino-pretty"); // a dev dependency: absent in production images
    return true;
  } catch {
    return false;
  }
}

/**
 * postgres.js 3.4.x (up to 3.4.9 at least) can throw from a write it deferred
 * with setImmediate after the connection's socket was closed and nulled: a
 * TypeError in connection.js `nextWrite` that no caller can catch, which would
 * end the process whenever PostgreSQL restarts or kills a backend
 * (porsager/postgres#1066, #1154, #1208). The query it belonged to has already
 * failed (CONNECTION_CLOSED, answered 503), so only that exact error is
 * tolerated; anything else uncaught still ends the process.
 */
function isDriverClosedSocketWrite(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    /socket\.write|reading 'write'/.test(error.message) &&
    /postgres[\\/]src[\\/]connection\.js/.test(error.stack ?? "")
  );
}

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: canPrettyPrint(config) });
  process.on("uncaughtException", (error) => {
    if (isDriverClosedSocketWrite(error)) {
      logger.warn({ err: error }, "database driver wrote to a closed connection; the affected query already failed");
      return;
    }
    logger.fatal({ err: error }, "uncaught exception; exiting");
    logger.flush?.();
    process.exit(1);
  });

  const store = await openStore(config, logger);
  // Preparing the database failed for good (a migration, an unsafe login): stop, saying why.
  store.migration.catch((error) => {
    logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
    logger.flush?.();
    process.exit(1);
  });
  const bodyBudget = bodyBudgetFromConfig(config);
  const metrics = createMetrics({ poolStats: () => store.poolStats(), bodyBudgetStats: () => bodyBudget.stats });
  const { limiter, redis } = createLimiterFromConfig(config, logger, () => metrics.limiterFallbacks.inc());
  // Without an offline queue, checks before the connection is up would all
  // fall back to memory; give Redis a moment, but never block start-up on it.
  if (redis) await waitUntilReady(redis, 2000);
  const tracing = config.ENABLE_TRACING ? createTracerProvider(config) : undefined;

  const usage = createUsageRecorder(store, logger);
  const tail = createLiveTail({ redisUrl: config.REDIS_URL, replayBatches: config.TAIL_REPLAY_BATCHES, logger });
  // Partitions ahead, retention, search indexes: in the background, once the store is ready.
  let stopMaintenance: (() => Promise<void>) | undefined;
  if (config.MAINTENANCE_INTERVAL_S > 0) {
    void store.migration.then(() => {
      const owner = ownerClient(config);
      // Without an owner's client maintenance cannot even look (behind PgBouncer, with no MIGRATION_DATABASE_URL): said here.
      if (!owner && store.kind === "postgres") warnNoSlices(logger, "search slices need the tables' owner on a direct connection (MIGRATION_DATABASE_URL)");
      stopMaintenance = scheduleMaintenance({
        store, intervalS: config.MAINTENANCE_INTERVAL_S, partitionHours: config.PARTITION_HOURS, retention: config, logger, owner,
      });
    });
  }

  let shuttingDown = false;
  const app = createApp({
    config,
    store,
    limiter,
    logger,
    metrics,
    usage,
    tracer: tracing?.getTracer("telemetry-vault"),
    isShuttingDown: () => shuttingDown,
    tail,
    bodyBudget,
  });

  // Requests whose handler has not answered yet (a stream counts until its Response is returned).
  let answering = 0;
  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    async fetch(request, bunServer) {
      answering++;
      try {
        return await app.fetch(request, bunServer);
      } finally {
        answering--;
      }
    },
    idleTimeout: config.HTTP_IDLE_TIMEOUT_S,
    // The app bounds every body itself (by its declared length, then counted
    // while streaming, after decompression), so a body of any declared size
    // gets the contract's JSON 413 with X-Request-Id. A bound here would make
    // Bun answer first, in plain text.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  });
  logger.info(
    {
      port: server.port,
      store: store.kind,
      location: store.location,
      rateLimiter: redis ? "redis" : "memory",
      tracing: Boolean(tracing),
    },
    `telemetry-vault listening on http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${server.port} (store: ${store.kind === "embedded" ? `embedded PGlite in ${store.location}` : `PostgreSQL at ${store.location}`})`,
  );

  async function shutdown(signal: string) {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal, delayMs: config.SHUTDOWN_DELAY_MS }, "shutting down: readiness is 503, draining in-flight requests");
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutdown deadline passed; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref?.();
    try {
      if (config.SHUTDOWN_DELAY_MS > 0) await Bun.sleep(config.SHUTDOWN_DELAY_MS);
      // Live tails never finish on their own: end them so the drain below can.
      tail.endAll("the server is shutting down; reconnect to resume");
      await drain(server);
      await tail.close();
      await stopMaintenance?.();
      await usage.close();
      await store.close();
      await limiter.close?.();
      await redis?.quit().catch(() => redis.disconnect());
      // Flushing spans must not hold the exit hostage if the collector is gone.
      if (tracing) await Promise.race([tracing.shutdown(), Bun.sleep(TRACE_FLUSH_TIMEOUT_MS)]);
      logger.info("shutdown complete");
      logger.flush?.();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "error during shutdown");
      process.exit(1);
    }
  }
  /**
   * Stops accepting and waits for in-flight requests. Once every handler has
   * answered and every tail has ended, what can still hold the drain is a
   * response whose client stopped reading (a tail cut at shutdown): after
   * DRAIN_STALLED_MS of that, the remaining connections are closed.
   */
  async function drain(server: { stop(closeActiveConnections?: boolean): Promise<void>; readonly pendingRequests: number }) {
    const drained = server.stop(false);
    let onlyUnreadSince: number | undefined;
    for (;;) {
      const done = await Promise.race([drained.then(() => true), Bun.sleep(100).then(() => false)]);
      if (done) return;
      const onlyUnread = answering === 0 && tail.open.size === 0;
      onlyUnreadSince = onlyUnread ? (onlyUnreadSince ?? Date.now()) : undefined;
      if (onlyUnreadSince !== undefined && Date.now() - onlyUnreadSince >= DRAIN_STALLED_MS) {
        logger.warn({ responses: server.pendingRequests }, "shutdown: closing connections whose clients stopped reading");
        await server.stop(true);
        return;
      }
    }
  }

  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

await main();
