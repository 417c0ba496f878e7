import type { Config } from "../config";
import { serviceUnavailable } from "./api-error";

/** The process's budget as configured: MAX_BODY_BYTES_IN_FLIGHT, by default twice MAX_BODY_BYTES. */
export function bodyBudgetFromConfig(config: Pick<Config, "MAX_BODY_BYTES" | "MAX_BODY_BYTES_IN_FLIGHT" | "BODY_QUEUE_TIMEOUT_MS">): BodyBudget {
  return new BodyBudget(config.MAX_BODY_BYTES_IN_FLIGHT ?? 2 * config.MAX_BODY_BYTES, config.BODY_QUEUE_TIMEOUT_MS);
}

/** Bodies from this size on are followed by a full garbage collection (see run). */
const COLLECT_AFTER_BYTES = 4 * 1024 * 1024;

/**
 * Bounds the request bodies one process turns into events at once, weighed
 * by their size. Decoding multiplies a body many times over in memory: an
 * OTLP export of 10 MiB of small attributes peaks at several hundred MiB
 * (bench/README.md, "Limits and what they cost"), and eight at once took
 * +851 MiB, near a container's limit. Past the budget a request waits its
 * turn, in arrival order so a large body is not starved by small ones, for at
 * most `waitMs`; then it gets 503 with Retry-After, which clients and OTLP
 * exporters retry. The process's peak then follows the budget: about
 * (budget / body) times the peak of one body, however many arrive at once.
 */
export class BodyBudget {
  private inUse = 0;
  private readonly waiters: { weight: number; admit: () => void }[] = [];

  constructor(
    private readonly capacityBytes: number,
    private readonly waitMs: number,
  ) {}

  get stats() {
    return { bytesInUse: this.inUse, waiting: this.waiters.length };
  }

  /** Runs `work` once `bytes` fit in the budget; a body larger than the whole budget runs alone. */
  async run<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    const weight = Math.min(Math.max(bytes, 1), this.capacityBytes);
    await this.acquire(weight);
    try {
      return await work();
    } finally {
      this.inUse -= weight;
      // The runtime collects lazily: without this the garbage of one large
      // body is still held when the next is admitted, and eight 10 MiB
      // exports in a row grew the process by +640 MiB instead of +401.
      // A full collection costs tens of milliseconds, a few percent of such a body's time.
      // Shrinking then asks the runtime to hand the freed pages back when next idle:
      // without it the process kept ~20 MiB of each 10 MiB export's peak, and the
      // next large body started from there. Bun's types mark it deprecated; it is
      // the one call that does this, so it is used where it exists.
      if (bytes >= COLLECT_AFTER_BYTES) {
        Bun.gc(true);
        if (typeof Bun.shrink === "function") Bun.shrink();
      }
      this.admitWaiters();
    }
  }

  private acquire(weight: number): Promise<void> {
    if (this.waiters.length === 0 && this.inUse + weight <= this.capacityBytes) {
      this.inUse += weight;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        // The one that timed out may have been holding back smaller ones behind it.
        this.admitWaiters();
        reject(serviceUnavailable("The server is busy decoding other large requests; retry later"));
      }, this.waitMs);
      const waiter = {
        weight,
        admit: () => {
          clearTimeout(timer);
          this.inUse += weight;
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.inUse + this.waiters[0]!.weight <= this.capacityBytes) {
      this.waiters.shift()!.admit();
    }
  }
}
