import { Redis } from "ioredis";

export interface RedisClientLogger {
  warn(obj: object, msg?: string): void;
}

export interface RedisClientOptions {
  /** Per-command timeout; a little above the limiter's own timeoutMs so the limiter's error wins. Default 150. */
  commandTimeoutMs?: number;
  /** TCP connect timeout. Default 1000. */
  connectTimeoutMs?: number;
  /** Connection errors are logged here, at most once per `errorLogIntervalMs`. Default: not logged. */
  logger?: RedisClientLogger;
  errorLogIntervalMs?: number;
}

/**
 * An ioredis client tuned for a rate limiter, where a late answer is worse
 * than none:
 * - no offline queue and no per-request retries: while disconnected,
 *   commands fail immediately (the resilient limiter then answers from
 *   memory) instead of queueing and counting requests seconds later;
 * - no resending of in-flight commands after a reconnect, for the same reason;
 * - reconnect forever with a small capped backoff, so service resumes within
 *   about a second of Redis coming back;
 * - an `error` listener, because connection errors are expected during an
 *   outage and must neither crash the process nor log once per retry.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const { commandTimeoutMs = 150, connectTimeoutMs = 1000, logger, errorLogIntervalMs = 30_000 } = options;
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    retryStrategy: reconnectDelay,
    connectionName: "telemetry-vault-ratelimit",
  });
  client.on("error", createThrottledErrorLogger(logger, errorLogIntervalMs));
  return client;
}

/** Never gives up (returning null would leave the limiter on fallback until restart). */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, 1000);
}

function createThrottledErrorLogger(logger: RedisClientLogger | undefined, intervalMs: number): (err: Error) => void {
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (err) => {
    if (!logger) return;
    const now = Date.now();
    if (now - lastLoggedAt < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn({ err: err.message, suppressedSinceLast: suppressed }, "redis connection error");
    lastLoggedAt = now;
    suppressed = 0;
  };
}

/**
 * Resolves true once `client` is ready, false after `timeoutMs`.
 * Without an offline queue, commands sent before "ready" fail; call this at
 * startup to avoid a burst of fallback answers, but don't block startup on
 * it — the resilient limiter copes with Redis being absent.
 */
export function waitUntilReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ready);
    };
    const onReady = () => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    client.on("ready", onReady);
  });
}
