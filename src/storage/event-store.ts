/**
 * The storage contract. The HTTP layer only ever talks to this interface;
 * `createPostgresEventStore` implements it for a real PostgreSQL and for the
 * embedded PGlite store alike (both are reached through the same client).
 */
export type EventType = "log" | "metric" | "trace";

/** A validated event ready to be written. */
export interface NewEvent {
  eventId: string;
  eventType: EventType;
  serviceName: string;
  /** UTC ISO-8601 with millisecond precision, e.g. 2026-01-02T03:04:05.678Z. */
  timestamp: string;
  /** The payload already serialized as JSON text (validated: no NUL, no lone surrogates, finite numbers). */
  payloadJson: string;
  /**
   * The payload's size as stored: its UTF-8 JSON with numbers counted as the
   * exact decimals jsonb keeps. Pages are cut to a byte budget by it.
   */
  payloadBytes: number;
}

/** An event as read back. */
export interface StoredEvent {
  eventId: string;
  eventType: EventType;
  serviceName: string;
  timestamp: string;
  payload: Record<string, unknown>;
  receivedAt: string;
}

export interface IngestResult {
  ingested: number;
  duplicates: number;
}

export interface EventFilter {
  tenantId: string;
  startTime: Date;
  endTime: Date;
  eventType?: EventType;
  serviceName?: string;
}

export type GroupBy = "service" | "eventType";

/** Bucket widths for time series; each is a whole number of minutes. */
export const BUCKET_MINUTES = { "1m": 1, "5m": 5, "1h": 60, "1d": 1440 } as const;
export type BucketInterval = keyof typeof BUCKET_MINUTES;

export interface TimeBucket {
  /** Start of the bucket, UTC ISO; buckets are aligned to the epoch. */
  bucket: string;
  /** The groupBy key, when grouped. */
  key?: string;
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

export interface EventStore {
  /** Stores events for one tenant in one transaction; resolves only after commit. */
  ingest(tenantId: string, events: NewEvent[]): Promise<IngestResult>;
  findEvents(filter: EventFilter, page: PageRequest): Promise<EventPage>;
  countEvents(filter: EventFilter): Promise<number>;
  groupCounts(filter: EventFilter, by: GroupBy): Promise<{ key: string; count: number }[]>;
  /** Event counts per time bucket (only non-empty buckets), optionally per key; ascending by bucket. */
  timeBuckets(filter: EventFilter, interval: BucketInterval, by?: GroupBy): Promise<TimeBucket[]>;
  /** Throws when storage does not answer. */
  ping(): Promise<void>;
  /** "postgres" or "embedded". */
  readonly kind: string;
  close(): Promise<void>;
}
