import type { EventType, NewEvent } from "./event-types";
import { searchText } from "./search";
import { MAX_FUTURE_MS, MAX_ID_LENGTH, MAX_PAYLOAD_BYTES, MAX_SERVICE_NAME_LENGTH, MAX_TRACE_ID_LENGTH, MIN_TIME_MS, storableTextProblem } from "./limits";

/** An event's fields once read from its source (an /ingest body, an OTLP record). */
export interface EventFields {
  eventId: string;
  eventType: EventType;
  serviceName: string;
  timestampMs: number;
  /** The sender's text, when it is already the stored form (toISOString's): kept as is, not rewritten. */
  timestampText?: string;
  /** Serialized payload; its content (no NUL, no lone surrogates, finite numbers) is the source's to ensure. */
  payloadJson: string;
  /** Its size as stored (stored-size.ts). */
  payloadBytes: number;
  /** The payload's string values (search.ts collectStrings), for its search text. */
  payloadStrings: string[];
  traceId: string | null;
}

export type Normalized = { event: NewEvent; problem?: undefined } | { event?: undefined; problem: { path: string; message: string } };

/**
 * The one door into the store for an event, from /ingest and OTLP alike:
 * checks what the store requires of every row (id and service name, the time
 * window, the tenant's retention, the stored payload size, the trace id's
 * length) and writes the timestamp in the stored
 * form. /ingest refuses the batch on a problem; OTLP drops the record and
 * reports it as partial success.
 */
export function normalizeEvent(fields: EventFields, now: number, retentionDays?: number): Normalized {
  const idProblem = textProblem(fields.eventId, MAX_ID_LENGTH);
  if (idProblem) return { problem: { path: "eventId", message: idProblem } };
  const serviceProblem = textProblem(fields.serviceName, MAX_SERVICE_NAME_LENGTH);
  if (serviceProblem) return { problem: { path: "serviceName", message: serviceProblem } };
  if (!(fields.timestampMs >= MIN_TIME_MS && fields.timestampMs <= now + MAX_FUTURE_MS)) {
    return { problem: { path: "timestamp", message: "must be between 1970-01-01T00:00:00Z and 24 hours from now" } };
  }
  // Nothing is stored that retention would drop at once.
  if (retentionDays !== undefined && fields.timestampMs < now - retentionDays * DAY_MS) {
    return { problem: { path: "timestamp", message: `is older than the tenant's retention of ${retentionDays} days` } };
  }
  if (fields.payloadBytes > MAX_PAYLOAD_BYTES) {
    return { problem: { path: "payload", message: `must be at most ${MAX_PAYLOAD_BYTES} bytes as stored (${fields.payloadBytes} bytes)` } };
  }
  if (fields.traceId !== null && fields.traceId.length > MAX_TRACE_ID_LENGTH) {
    return { problem: { path: "payload.traceId", message: `a trace id (traceId or trace_id) must be at most ${MAX_TRACE_ID_LENGTH} characters, lowercased` } };
  }
  return {
    event: {
      eventId: fields.eventId,
      eventType: fields.eventType,
      serviceName: fields.serviceName,
      timestamp: fields.timestampText ?? new Date(fields.timestampMs).toISOString(),
      payloadJson: fields.payloadJson,
      payloadBytes: fields.payloadBytes,
      searchText: searchText(fields.payloadStrings, fields.eventId),
      traceId: fields.traceId,
    },
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

function textProblem(value: string, max: number): string | undefined {
  if (value.length === 0 || value.length > max) return `must be 1 to ${max} characters`;
  return storableTextProblem(value);
}
