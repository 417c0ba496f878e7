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

export interface PageRequest {
  /** Offset pagination: 1-based page. */
  page: number;
  limit: number;
  /** Keyset pagination: start strictly after this (timestamp, eventId), newest first. */
  after?: { timestamp: string; eventId: string };
}

export interface EventStore {
  /** Stores events for one tenant in one transaction; resolves only after commit. */
  ingest(tenantId: string, events: NewEvent[]): Promise<IngestResult>;
  findEvents(filter: EventFilter, page: PageRequest): Promise<StoredEvent[]>;
  countEvents(filter: EventFilter): Promise<number>;
  groupCounts(filter: EventFilter, by: GroupBy): Promise<{ key: string; count: number }[]>;
  /** Throws when storage does not answer. */
  ping(): Promise<void>;
  /** "postgres" or "embedded". */
  readonly kind: string;
  close(): Promise<void>;
}
