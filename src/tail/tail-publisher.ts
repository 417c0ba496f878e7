import type { Logger } from "pino";
import type { StoredEvent } from "../events/event-types";
import type { EventKey, TailLog } from "./tail-log";

/**
 * Hands committed batches to the tail log, after commit and off the
 * request's path: the answer never waits on Redis. Batches go out one at a
 * time in the order their commits finished, so a tail sees each replica's
 * batches in commit order. A tenant nobody tails costs one cached lookup.
 */
/** Committed events, or only their keys when the request did not keep them (tails read those from PostgreSQL). */
export type CommittedBatch = StoredEvent[] | { keys: EventKey[] };

export interface TailPublisher {
  /**
   * `count` events just committed for the tenant (duplicates left out),
   * built by `committed` only if someone tails the tenant. For a tenant known
   * to be untailed nothing is kept, so a request's events do not outlive it.
   */
  publish(tenantId: string, count: number, committed: () => CommittedBatch): void;
  /** Forget a cached "nobody tails this tenant" (a tail just opened somewhere). */
  tenantOpened(tenantId: string): void;
  /** Resolves once everything handed over so far went out (or was given up). */
  flush(): Promise<void>;
}

export interface TailPublisherOptions {
  log: TailLog;
  logger?: Pick<Logger, "warn">;
  /** A "not live" answer is trusted this long; a tail opening elsewhere clears it at once. */
  notLiveCacheMs?: number;
  /** Batches whose events exceed this as JSON travel as keys, and tails read them from PostgreSQL. */
  maxEntryBytes?: number;
  /** Batches waiting to go out at most; past it they are counted as lost. */
  maxQueued?: number;
}

const LIVE_CACHE_MS = 10_000;

export function createTailPublisher(options: TailPublisherOptions): TailPublisher {
  const { log, logger } = options;
  const notLiveCacheMs = options.notLiveCacheMs ?? 1000;
  const maxEntryBytes = options.maxEntryBytes ?? 1024 * 1024;
  const maxQueued = options.maxQueued ?? 10_000;
  const liveCache = new Map<string, { live: boolean; until: number }>();
  const queue: { tenantId: string; count: number; committed: () => CommittedBatch }[] = [];
  /** Per tenant, events committed but not appended (the log failed); reported as lost once it answers again. */
  const lost = new Map<string, number>();
  let draining: Promise<void> | undefined;

  /** The cached answer while it holds, else undefined. */
  function cachedLive(tenantId: string): boolean | undefined {
    const cached = liveCache.get(tenantId);
    return cached && cached.until > Date.now() ? cached.live : undefined;
  }

  async function isLive(tenantId: string): Promise<boolean> {
    const cached = cachedLive(tenantId);
    if (cached !== undefined) return cached;
    const live = await log.isLive(tenantId);
    liveCache.set(tenantId, { live, until: Date.now() + (live ? LIVE_CACHE_MS : notLiveCacheMs) });
    return live;
  }

  async function send(tenantId: string, committed: () => CommittedBatch) {
    if (!(await isLive(tenantId))) return;
    const batch = committed();
    if ((Array.isArray(batch) ? batch : batch.keys).length === 0) return;
    const missed = lost.get(tenantId);
    if (missed) {
      await log.append(tenantId, { lost: missed });
      lost.delete(tenantId);
    }
    if (!Array.isArray(batch)) await log.append(tenantId, batch);
    else if (JSON.stringify(batch).length <= maxEntryBytes) await log.append(tenantId, { events: batch });
    else await log.append(tenantId, { keys: batch.map((e): EventKey => ({ eventId: e.eventId, timestamp: e.timestamp })) });
  }

  async function drain() {
    while (queue.length > 0) {
      const { tenantId, count, committed } = queue.shift()!;
      try {
        await send(tenantId, committed);
      } catch (error) {
        lost.set(tenantId, (lost.get(tenantId) ?? 0) + count);
        logger?.warn({ err: (error as Error).message, tenantId, events: count }, "tail: a committed batch could not reach the tail log");
      }
    }
  }

  return {
    publish(tenantId, count, committed) {
      if (cachedLive(tenantId) === false) return;
      if (queue.length >= maxQueued) {
        lost.set(tenantId, (lost.get(tenantId) ?? 0) + count);
        return;
      }
      queue.push({ tenantId, count, committed });
      draining ??= drain().finally(() => (draining = undefined));
    },

    tenantOpened(tenantId) {
      liveCache.set(tenantId, { live: true, until: Date.now() + LIVE_CACHE_MS });
    },

    async flush() {
      while (draining) await draining;
    },
  };
}
