import type { Logger } from "pino";
import { createLocalTailLog } from "./local-tail-log";
import { createRedisTailLog } from "./redis-tail-log";
import type { TailLog } from "./tail-log";
import { createTailPublisher, type TailPublisher } from "./tail-publisher";
import type { TailSubscription } from "./tail-subscription";

/**
 * Live tail as the app depends on it: the log shared by the replicas (Redis
 * when configured, this process otherwise), the publisher ingest hands
 * committed batches to, and this process's open tails (ended on shutdown).
 */
export interface LiveTail {
  readonly log: TailLog;
  readonly publisher: TailPublisher;
  readonly open: Set<TailSubscription>;
  /** Ends every open tail with `reason` (their clients reconnect, to another replica when this one goes). */
  endAll(reason: string): void;
  /** Sends what ingest handed over, then closes the log. */
  close(): Promise<void>;
}

export interface LiveTailOptions {
  /** Redis shared by the replicas; without it, tails see this process's ingest only. */
  redisUrl?: string;
  /** Committed batches kept per tenant for resuming. */
  replayBatches: number;
  /** Batches larger than this as JSON travel as keys (tails read them from the database). */
  maxEntryBytes?: number;
  logger?: Pick<Logger, "warn">;
}

export function createLiveTail(options: LiveTailOptions): LiveTail {
  // The publisher is made after the log, which tells it when a tail opens on another replica.
  let publisher: TailPublisher | undefined;
  const log = options.redisUrl
    ? createRedisTailLog({ url: options.redisUrl, maxEntries: options.replayBatches, onOpened: (tenantId) => publisher?.tenantOpened(tenantId) })
    : createLocalTailLog({ maxEntries: options.replayBatches });
  publisher = createTailPublisher({ log, logger: options.logger, maxEntryBytes: options.maxEntryBytes });
  const open = new Set<TailSubscription>();
  return {
    log,
    publisher,
    open,
    endAll(reason) {
      for (const tail of open) tail.end(reason);
    },
    async close() {
      await publisher!.flush();
      await log.close();
    },
  };
}
