import { StorageUnavailableError } from "./errors";

/**
 * Bounds how many operations use the pool at once and how long a caller may
 * wait for a turn. postgres.js queues without limit when the pool is busy;
 * under a stalled database that would let requests pile up until the HTTP
 * idle timeout cuts them. Here a caller waits at most `acquireTimeoutMs`,
 * then gets StorageUnavailableError (503), and the queue itself is capped.
 */
export class ConnectionGate {
  private active = 0;
  private readonly waiters: { resolve: () => void; timer: ReturnType<typeof setTimeout> }[] = [];

  constructor(
    private readonly capacity: number,
    private readonly acquireTimeoutMs: number,
    private readonly maxWaiting = capacity * 64,
  ) {}

  get stats() {
    return { inUse: this.active, waiting: this.waiters.length };
  }

  /**
   * Runs `operation` when a slot is free. `deadline` (epoch ms) is when the
   * caller's wait budget ends, when it started waiting elsewhere first;
   * by default the budget is acquireTimeoutMs from now.
   */
  async run<T>(operation: () => Promise<T>, deadline = Date.now() + this.acquireTimeoutMs): Promise<T> {
    await this.acquire(deadline - Date.now());
    try {
      return await operation();
    } finally {
      this.release();
    }
  }

  private acquire(waitMs: number): Promise<void> {
    if (this.active < this.capacity) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(new StorageUnavailableError("database busy: too many waiting requests"));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new StorageUnavailableError("database busy: no connection free in time"));
        }, Math.max(0, waitMs)),
      };
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) {
      // The slot passes straight to the next waiter; `active` stays the same.
      clearTimeout(next.timer);
      next.resolve();
    } else {
      this.active--;
    }
  }
}
