import type { StoredEvent } from "../events/event-types";

/**
 * The log live tails read: per tenant, the batches committed by every
 * replica, in the order they were appended, each under an id that orders
 * them (Redis stream ids, "<ms>-<seq>"). Appended only while the tenant has
 * tails. Two implementations: Redis streams shared by the replicas
 * (redis-tail-log.ts), and one in this process when there is no Redis
 * (local-tail-log.ts).
 */
export interface TailLog {
  readonly kind: "redis" | "local";
  /** Appends a committed batch to the tenant's log. */
  append(tenantId: string, entry: TailEntryBody): Promise<void>;
  /** Whether the tenant has open tails (publishers append only then). */
  isLive(tenantId: string): Promise<boolean>;
  /** The id of the tenant's newest entry; "0-0" when there is none. */
  lastId(tenantId: string): Promise<string>;
  /** The id of the oldest entry still kept, undefined when there is none. */
  firstId(tenantId: string): Promise<string | undefined>;
  /** The entry `id`, if still kept. */
  entry(tenantId: string, id: string): Promise<TailEntry | undefined>;
  /** Up to `count` entries after `afterId`, oldest first. */
  range(tenantId: string, afterId: string, count: number): Promise<TailEntry[]>;
  /**
   * Calls `onEntries` with the entries after `fromId` and every one appended
   * later, some possibly more than once (ids tell). `onError` once if the
   * feed breaks (Redis gone); nothing follows it. Returns an unfollow.
   */
  follow(tenantId: string, fromId: string, onEntries: (entries: TailEntry[]) => void, onError: (error: Error) => void): () => void;
  /**
   * Marks the tenant live for every publisher, before a tail reads. Kept
   * while refreshed (markLive or refreshSlot); one that had lapsed is marked
   * in the log ({ lost: null }), so a tail resuming from before learns that
   * events in between were not kept.
   */
  markLive(tenantId: string): Promise<void>;
  /** Takes one of the tenant's `cap` tail slots for `holder`; false when all are taken. Expire unless refreshed. */
  acquireSlot(tenantId: string, holder: string, cap: number): Promise<boolean>;
  refreshSlot(tenantId: string, holder: string): Promise<void>;
  releaseSlot(tenantId: string, holder: string): Promise<void>;
  /** A token naming the tenant, good for `ttlSeconds`, for clients that cannot send headers (EventSource). */
  issueToken(tenantId: string, ttlSeconds: number): Promise<string>;
  tenantOfToken(token: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** What a publisher appends: the batch's events, or only their keys when the batch is large (read back from PostgreSQL). */
export type TailEntryBody =
  | { events: StoredEvent[] }
  | { keys: EventKey[] }
  /**
   * Events this replica committed but could not append (the log was
   * unreachable, its backlog full); null: the tenant became live again, and
   * what was committed while it had no tail was not kept.
   */
  | { lost: number | null };

export type TailEntry = TailEntryBody & { id: string };

export interface EventKey {
  eventId: string;
  timestamp: string;
}

/** Orders log ids ("<ms>-<seq>"). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/** Slots of a tail expire this long after their last refresh (a replica that died frees them). */
export const SLOT_TTL_MS = 60_000;
/** Tails refresh their slot and the tenant's live mark this often. */
export const REFRESH_MS = 20_000;
