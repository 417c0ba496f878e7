import type { Logger } from "pino";
import type { EventStore } from "./event-store";

/**
 * Requests refused by the rate limiter, added to each tenant's usage. A
 * refusal must stay cheap (it is what a flood of requests gets), so they are
 * counted in memory and written every `flushMs`, one statement per tenant.
 */
export interface UsageRecorder {
  rateLimited(tenantId: string): void;
  /** Writes what was counted so far. */
  flush(): Promise<void>;
  /** Flushes a last time and stops the timer. */
  close(): Promise<void>;
}

export function createUsageRecorder(store: Pick<EventStore, "recordRateLimited">, logger: Pick<Logger, "warn">, flushMs = 10_000): UsageRecorder {
  let pending = new Map<string, number>();
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref?.();

  async function flush(): Promise<void> {
    const batch = pending;
    pending = new Map();
    for (const [tenant, count] of batch) {
      try {
        await store.recordRateLimited(tenant, count);
      } catch (error) {
        // Kept for the next flush: the database may be back by then.
        pending.set(tenant, (pending.get(tenant) ?? 0) + count);
        logger.warn({ err: error, tenant }, "could not record rate-limited requests yet");
      }
    }
  }

  return {
    rateLimited(tenantId) {
      pending.set(tenantId, (pending.get(tenantId) ?? 0) + 1);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
