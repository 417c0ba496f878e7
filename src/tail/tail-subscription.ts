import type { StoredEvent } from "../events/event-types";
import { compareIds, type EventKey, type TailEntry, type TailLog } from "./tail-log";

/**
 * One live tail: the tenant's log read from a position (now, or a
 * Last-Event-ID), first what is already there, then each entry as it is
 * appended, matched against the tail's filters and queued for its client.
 * Entries are handled one at a time in log order, so events come out in the
 * order batches were appended, each once. The queue is bounded: a client
 * that reads too slowly gets a `dropped` message with the count instead of
 * holding memory without end.
 */
export type TailMessage =
  | { kind: "event"; id: string; event: StoredEvent }
  /** Events left out: `count` of them (null when unknown), and why. */
  | { kind: "dropped"; count: number | null; reason: string }
  | { kind: "end"; reason: string };

/** Where a tail stands: after event `index` of log entry `entryId` (an SSE id "entryId/index"). */
export interface TailPosition {
  entryId: string;
  index: number;
}

const EVENT_ID = /^((\d{1,20})-(\d{1,20}))\/(\d{1,9})$/;
const MAX_U64 = 2n ** 64n - 1n;
/** Entry ids are commit times; one later than this was never sent, and would skip every live entry. */
const CLOCK_SKEW_MS = 60_000;

/** An id this API could have sent: a log entry id (two unsigned 64-bit numbers, the first a time not in the future) and an index. */
export function parsePosition(id: string): TailPosition | undefined {
  const m = EVENT_ID.exec(id);
  if (!m || BigInt(m[2]!) > BigInt(Date.now() + CLOCK_SKEW_MS) || BigInt(m[3]!) > MAX_U64) return undefined;
  return { entryId: m[1]!, index: Number(m[4]) };
}

export interface SubscriptionOptions {
  log: TailLog;
  tenantId: string;
  /** Resume after this event (Last-Event-ID); from the newest entry when absent. */
  after?: TailPosition;
  matches: (event: StoredEvent) => boolean;
  /** Reads events of a keys-only entry from the database, the source of truth. */
  fetchByKeys: (keys: EventKey[]) => Promise<StoredEvent[]>;
  /** Events queued for the client at most. */
  maxQueued: number;
}

const RANGE_COUNT = 100;
const SLOW_CLIENT = "the client read too slowly; reconnect with Last-Event-ID to read them";

export class TailSubscription {
  private readonly queue: TailMessage[] = [];
  private queuedEvents = 0;
  private wake: (() => void) | undefined;
  private ended: string | undefined;
  /** The last log entry handled, and the last event of it handled (-1: none yet, Infinity: all). */
  private position: TailPosition;
  /** Live entries that arrive while the catch-up reads: handled after it. */
  private pending: TailEntry[] | undefined = [];
  private chain: Promise<void> = Promise.resolve();
  private unfollow: (() => void) | undefined;

  private markEnded!: () => void;
  /** Resolves when the tail is ended (its queued messages may still be on their way). */
  readonly whenEnded = new Promise<void>((resolve) => (this.markEnded = resolve));

  private constructor(private readonly options: SubscriptionOptions, start: TailPosition) {
    this.position = start;
  }

  static async open(options: SubscriptionOptions): Promise<TailSubscription> {
    const { log, tenantId, after } = options;
    const start = after ?? { entryId: await log.lastId(tenantId), index: Infinity };
    const sub = new TailSubscription(options, start);
    // Follow before reading back, so no entry falls between the two.
    sub.unfollow = log.follow(
      tenantId,
      start.entryId,
      (entries) => sub.onLive(entries),
      (error) => sub.end(`the tail log is unavailable (${error.message}); reconnect to resume`),
    );
    try {
      await sub.catchUp();
    } catch (error) {
      sub.close();
      throw error;
    }
    return sub;
  }

  /** The next message; undefined when nothing came within `timeoutMs` (time for a heartbeat). */
  async next(timeoutMs: number): Promise<TailMessage | undefined> {
    if (!this.hasMessage()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const message = this.queue.shift();
    if (message) {
      if (message.kind === "event") this.queuedEvents--;
      return message;
    }
    return this.ended === undefined ? undefined : { kind: "end", reason: this.ended };
  }

  end(reason: string) {
    this.ended ??= reason;
    this.unfollow?.();
    this.wake?.();
    this.markEnded();
  }

  close() {
    this.end("closed");
  }

  private hasMessage() {
    return this.queue.length > 0 || this.ended !== undefined;
  }

  private async catchUp() {
    const { log, tenantId, after } = this.options;
    if (after) {
      const first = await log.firstId(tenantId);
      if (first !== undefined && compareIds(first, after.entryId) > 0) {
        this.push({ kind: "dropped", count: null, reason: "the resume point is older than the replay window; some events in between are not replayed" });
      } else {
        const entry = await log.entry(tenantId, after.entryId);
        if (entry) await this.handle(entry, after.index + 1);
      }
    }
    for (;;) {
      const entries = await log.range(tenantId, this.position.entryId, RANGE_COUNT);
      for (const entry of entries) await this.handle(entry);
      if (entries.length < RANGE_COUNT) break;
    }
    const pending = this.pending!;
    this.pending = undefined;
    this.onLive(pending);
  }

  private onLive(entries: TailEntry[]) {
    if (this.pending) {
      this.pending.push(...entries);
      return;
    }
    for (const entry of entries) {
      this.chain = this.chain.then(() => this.handle(entry)).catch((error) => this.end(`could not read events: ${(error as Error).message}`));
    }
  }

  /** Handles an entry newer than the position, from event `fromIndex` on. */
  private async handle(entry: TailEntry, fromIndex = 0) {
    if (this.ended !== undefined) return;
    const newer = compareIds(entry.id, this.position.entryId) > 0;
    if (!newer && !(entry.id === this.position.entryId && fromIndex > 0)) return;
    this.position = { entryId: entry.id, index: Infinity };
    if ("lost" in entry) {
      this.push(
        entry.lost === null
          ? { kind: "dropped", count: null, reason: "events committed while the tenant had no open tail were not kept" }
          : { kind: "dropped", count: entry.lost, reason: "events committed while the tail log was unreachable" },
      );
      return;
    }
    const events = "events" in entry ? entry.events : await this.options.fetchByKeys(entry.keys);
    for (let i = fromIndex; i < events.length; i++) {
      if (this.options.matches(events[i]!)) this.push({ kind: "event", id: `${entry.id}/${i}`, event: events[i]! });
    }
  }

  /**
   * Queues a message. Past the bound an event is dropped and counted in a
   * `dropped` message at its place in the queue, so the client learns where
   * the gap is.
   */
  private push(message: TailMessage) {
    if (message.kind === "event") {
      if (this.queuedEvents >= this.options.maxQueued) {
        const last = this.queue.at(-1);
        if (last?.kind === "dropped" && last.reason === SLOW_CLIENT) last.count! += 1;
        else this.queue.push({ kind: "dropped", count: 1, reason: SLOW_CLIENT });
        this.wake?.();
        return;
      }
      this.queuedEvents++;
    }
    this.queue.push(message);
    this.wake?.();
  }
}
