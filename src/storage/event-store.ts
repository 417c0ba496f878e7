/**
 * The storage contract. The HTTP layer only ever talks to this interface;
 * `createPostgresEventStore` implements it for a real PostgreSQL and for the
 * embedded PGlite store alike (both are reached through the same client).
 */
import type { BucketInterval, EventType, NewEvent, StoredEvent } from "../events/event-types";
import type { EventKeys } from "./search-keys";

export interface IngestResult {
  ingested: number;
  duplicates: number;
  /** What was committed: the identities (write-sql.ts identity) of the events inserted, and their receivedAt. */
  committed: Committed;
}

export interface Committed {
  identities: ReadonlySet<string>;
  /** The transaction's time, every inserted row's received_at. */
  receivedAt: Date;
}

export type JsonScalar = string | number | boolean | null;

/** A condition on a payload field (query/search.schemas.ts says what each op means). */
export type FieldCondition =
  | { field: string; op: "eq" | "neq"; value: JsonScalar }
  | { field: string; op: "in"; value: JsonScalar[] }
  | { field: string; op: "exists" }
  | { field: string; op: "gt" | "gte" | "lt" | "lte"; value: number | string }
  | { field: string; op: "contains"; value: string };

export interface EventFilter {
  tenantId: string;
  startTime: Date;
  endTime: Date;
  eventType?: EventType;
  serviceName?: string;
  /** Free-text terms, lowercased, all of which must match (search.ts). */
  terms?: string[];
  /** Conditions on payload fields, all of which must hold. */
  where?: FieldCondition[];
  /** Only these events (the storage's own narrowing of free text: search-keys.ts). */
  keys?: EventKeys;
  /** The terms are common in the window: found walking it, not narrowed to keys (search-keys.ts). */
  termsCommon?: true;
}

export type GroupBy = "service" | "eventType" | { field: string };

export interface TimeBucket {
  /** Start of the bucket, UTC ISO; buckets are aligned to the epoch. */
  bucket: string;
  /** The groupBy key, when grouped: a service, an event type, or a field's value (null: none). */
  key?: GroupKey;
  /** Counts the values past the top MAX_FIELD_GROUPS of a field groupBy. */
  other?: true;
  count: number;
}

export type GroupKey = JsonScalar;

export interface GroupCount {
  key: GroupKey;
  /** Counts the values past the top MAX_FIELD_GROUPS of a field groupBy; its key is null. */
  other?: true;
  count: number;
}



export interface PageRequest {
  /** Offset pagination: 1-based page. */
  page: number;
  limit: number;
  /** Keyset pagination: start strictly after this (timestamp, eventId), newest first. */
  after?: { timestamp: string; eventId: string };
}

/** One page of events, newest first. */
export interface EventPage {
  events: StoredEvent[];
  /** More events follow this page in the window. */
  more: boolean;
  /** The page holds fewer than `limit` events because their payloads filled the page's byte budget. */
  truncated: boolean;
}

/** A tenant's usage on one UTC day of ingest. */
export interface UsageDay {
  /** YYYY-MM-DD. */
  day: string;
  /** Events stored. */
  events: number;
  /** Events refused as duplicates. */
  duplicates: number;
  /** Payload bytes stored (as stored: see NewEvent.payloadBytes). */
  bytes: number;
  /** Requests refused by the rate limiter. */
  rateLimited: number;
}

export interface EventStore {
  /** Stores events for one tenant in one transaction; resolves only after commit. */
  ingest(tenantId: string, events: NewEvent[]): Promise<IngestResult>;
  /**
   * The same for events handed over in chunks: one transaction, each chunk
   * asked for once the one before is written, so a large batch's events need
   * not all be in memory at once. Whatever the chunks throw rolls it back.
   */
  ingestChunks(tenantId: string, chunks: Iterable<NewEvent[]>): Promise<IngestResult>;
  /**
   * The filter with its free text resolved: narrowed to the keys of the
   * events it matches, or its terms marked common. A page and its total
   * given the resolved filter search once between them; a read given an
   * unresolved one resolves it itself.
   */
  resolveSearch(filter: EventFilter): Promise<EventFilter>;
  findEvents(filter: EventFilter, page: PageRequest): Promise<EventPage>;
  countEvents(filter: EventFilter): Promise<number>;
  /** Event counts per key, largest first; a field's `other` entry last. */
  groupCounts(filter: EventFilter, by: GroupBy): Promise<GroupCount[]>;
  /** Event counts per time bucket (only non-empty buckets), optionally per key; ascending by bucket. */
  timeBuckets(filter: EventFilter, interval: BucketInterval, by?: GroupBy): Promise<TimeBucket[]>;
  /** The tenant's events whose trace id is `traceId` (case-insensitively), oldest first, after `after` when given. */
  traceEvents(tenantId: string, traceId: string, limit: number, after?: PageRequest["after"]): Promise<EventPage>;
  /** The tenant's events with these (eventId, timestamp) keys, oldest first; keys not stored are left out. */
  eventsByKeys(tenantId: string, keys: { eventId: string; timestamp: string }[]): Promise<StoredEvent[]>;
  /**
   * Deletes the events matching `filter` (window inclusive), in bounded
   * batches of their own transactions, the counts taken down with each;
   * returns how many went.
   */
  deleteEvents(filter: EventFilter): Promise<number>;
  /** The tenant's usage per UTC day from `fromDay` to `toDay` (YYYY-MM-DD, inclusive), days with none left out. */
  usage(tenantId: string, fromDay: string, toDay: string): Promise<UsageDay[]>;
  /** Adds requests refused by the rate limiter to today's usage. */
  recordRateLimited(tenantId: string, count: number): Promise<void>;
  /** Throws when storage does not answer. */
  ping(): Promise<void>;
  /** "postgres" or "embedded". */
  readonly kind: string;
  close(): Promise<void>;
}
