/**
 * What an event is, in types the whole service shares (and the explorer's
 * browser bundle: no imports here). The schema that validates one as sent is
 * event-schema.ts; the rules it must meet to be stored are limits.ts.
 */
export const EVENT_TYPES = ["log", "metric", "trace"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A validated event ready to be written. */
export interface NewEvent {
  eventId: string;
  eventType: EventType;
  serviceName: string;
  /** UTC ISO-8601 with millisecond precision, e.g. 2026-01-02T03:04:05.678Z. */
  timestamp: string;
  /** The payload already serialized as JSON text (no NUL, no lone surrogates, finite numbers). */
  payloadJson: string;
  /**
   * The payload's size as stored: its UTF-8 JSON with numbers counted as the
   * exact decimals jsonb keeps (stored-size.ts). Pages are cut to a byte
   * budget by it.
   */
  payloadBytes: number;
  /** What free-text search matches (search.ts searchText). */
  searchText: string;
  /** A top-level traceId or trace_id string, lowercased (search.ts traceIdOf). */
  traceId: string | null;
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

/** Bucket widths for time series and counts; each is a whole number of minutes, aligned to the epoch. */
export const BUCKET_MINUTES = { "1m": 1, "5m": 5, "1h": 60, "1d": 1440 } as const;
export type BucketInterval = keyof typeof BUCKET_MINUTES;
export const INTERVALS = Object.keys(BUCKET_MINUTES) as [BucketInterval, ...BucketInterval[]];
