import { StorageUnavailableError } from "./errors";
import { identity, type WrittenRows } from "./write-sql";
import type { NewEvent } from "../events/event-types";
import type { IngestResult } from "./event-store";

/**
 * Group commit for small requests. Many clients send one event or a few per
 * request; a transaction each would spend all its time waiting for commits.
 * Requests of the same tenant that arrive while earlier transactions are
 * running wait together and are written in one shared transaction. Each
 * request still resolves only after *its* transaction commits, with exact
 * counts of its own: an id shared by two requests in one group belongs to
 * the one that came first, and is a duplicate for the other.
 */
interface Pending {
  events: NewEvent[];
  resolve(result: IngestResult): void;
  reject(error: unknown): void;
  /** Fires if the request is still queued when its wait budget runs out. */
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Writes the unique events of one group in one transaction; returns the
 * identities (write-sql.ts identity) actually inserted and the commit's
 * time. `offered` is how many events the group's requests sent.
 */
export type GroupWriter = (tenantId: string, unique: NewEvent[], offered: number) => Promise<WrittenRows>;

export interface GroupCommitOptions {
  /** Shared transactions running at once (across tenants). */
  maxInFlight: number;
  /** Events per shared transaction; more wait for the next one. */
  maxGroupEvents: number;
  /**
   * How long a request may wait in the queue before it is refused with
   * StorageUnavailableError (503): under a stalled database the queue must
   * not hold clients longer than a wait for a connection would.
   */
  maxQueueWaitMs: number;
  /** Requests queued at most, across tenants; more are refused at once. */
  maxQueued: number;
}

export class GroupCommitter {
  private readonly queues = new Map<string, Pending[]>();
  private inFlight = 0;
  private queued = 0;

  constructor(
    private readonly write: GroupWriter,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(tenantId: string, events: NewEvent[]): Promise<IngestResult> {
    if (this.queued >= this.options.maxQueued) {
      return Promise.reject(new StorageUnavailableError("database busy: too many waiting requests"));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { events, resolve, reject };
      const queue = this.queues.get(tenantId);
      if (queue) queue.push(pending);
      else this.queues.set(tenantId, [pending]);
      this.queued++;
      pending.timer = setTimeout(() => this.expire(tenantId, pending), this.options.maxQueueWaitMs);
      this.pump();
    });
  }

  private expire(tenantId: string, pending: Pending): void {
    const queue = this.queues.get(tenantId);
    const at = queue?.indexOf(pending) ?? -1;
    if (!queue || at < 0) return; // already taken into a group
    queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(tenantId);
    this.queued--;
    pending.reject(new StorageUnavailableError("database busy: no transaction free in time"));
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queues.size > 0) {
      // Map order is insertion order: re-inserting a tenant that still has
      // work moves it to the back, so tenants take turns.
      const [tenantId, queue] = this.queues.entries().next().value as [string, Pending[]];
      this.queues.delete(tenantId);
      const group: Pending[] = [];
      let size = 0;
      while (queue.length > 0 && (group.length === 0 || size + queue[0]!.events.length <= this.options.maxGroupEvents)) {
        const next = queue.shift()!;
        clearTimeout(next.timer);
        this.queued--;
        group.push(next);
        size += next.events.length;
      }
      if (queue.length > 0) this.queues.set(tenantId, queue);
      this.inFlight++;
      void this.flush(tenantId, group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(tenantId: string, group: Pending[]): Promise<void> {
    // The first request to carry an event owns it.
    const owner = new Map<string, number>();
    const unique: NewEvent[] = [];
    let offered = 0;
    group.forEach((request, index) => {
      offered += request.events.length;
      for (const event of request.events) {
        const key = identity(event.eventId, event.timestamp);
        if (owner.has(key)) continue;
        owner.set(key, index);
        unique.push(event);
      }
    });
    try {
      const { identities, receivedAt } = await this.write(tenantId, unique, offered);
      const owned = group.map(() => new Set<string>());
      for (const id of identities) owned[owner.get(id)!]!.add(id);
      group.forEach((request, index) =>
        request.resolve({
          ingested: owned[index]!.size,
          duplicates: request.events.length - owned[index]!.size,
          committed: { identities: owned[index]!, receivedAt },
        }),
      );
    } catch (error) {
      for (const request of group) request.reject(error);
    }
  }
}
