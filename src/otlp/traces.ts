/** ExportTraceServiceRequest → one "trace" event per span. */
import { convertRecords, EventBatch, type ConvertOptions, type Envelope, type ExportConversion, type ExportLimits } from "./batch.ts";
import type { ExportRequest, SignalFields } from "./export-request.ts";
import { SpanKindValues, StatusCodeValues } from "./schema.ts";
import {
  isValidId,
  isZeroNanos,
  list,
  message,
  nanosDiff,
  nanosToString,
  readAttributes,
  readEnum,
  readId,
  readInt32,
  readNanos,
  readString,
  enumName,
  putCount,
  type JsonObject,
} from "./values.ts";

const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const STATUS_NAMES = ["unset", "ok", "error"];

export const SPAN_FIELDS: SignalFields = { resources: "resourceSpans", scopes: "scopeSpans", records: "spans" };

export function convertTraces(request: ExportRequest, limits: Partial<ExportLimits> = {}, options: ConvertOptions = {}): ExportConversion {
  const batch = new EventBatch("trace", limits.maxEventBytes, limits.retentionDays);
  return convertRecords(request, batch, (into, envelope, span) => addSpan(into, envelope, span), options);
}

function addSpan(batch: EventBatch, envelope: Envelope, span: Record<string, unknown>): void {
  const traceId = readId(span.traceId, "span.traceId");
  const spanId = readId(span.spanId, "span.spanId");
  // Ids are the event id; without valid ones a retry could not be recognised.
  if (!isValidId(traceId, 16) || !isValidId(spanId, 8)) return batch.reject("invalid trace or span id");

  const start = readNanos(span.startTimeUnixNano, "span.startTimeUnixNano");
  const end = readNanos(span.endTimeUnixNano, "span.endTimeUnixNano");
  const time = isZeroNanos(start) ? end : start;
  if (isZeroNanos(time)) return batch.reject("span without start time");

  const record: JsonObject = { traceId, spanId };
  const parentSpanId = readId(span.parentSpanId, "span.parentSpanId");
  if (parentSpanId) record.parentSpanId = parentSpanId;
  const traceState = readString(span.traceState, "span.traceState");
  if (traceState) record.traceState = traceState;
  record.name = readString(span.name, "span.name");
  record.kind = enumName(KIND_NAMES, readEnum(span.kind, SpanKindValues, "span.kind"));
  record.startTimeUnixNano = nanosToString(start);
  record.endTimeUnixNano = nanosToString(end);
  if (isZeroNanos(end) || isZeroNanos(start)) {
    record.durationNs = null;
    record.durationMs = null;
  } else {
    const ns = nanosDiff(start, end);
    record.durationNs = ns;
    record.durationMs = ns / 1e6;
  }
  const flags = readInt32(span.flags, "span.flags");
  if (flags) record.flags = flags;
  record.status = readStatus(message(span.status, "span.status"));
  record.attributes = readAttributes(span.attributes);
  putCount(record, "droppedAttributesCount", span.droppedAttributesCount);
  record.events = list(span.events, "span.events").map(readSpanEvent);
  putCount(record, "droppedEventsCount", span.droppedEventsCount);
  record.links = list(span.links, "span.links").map(readLink);
  putCount(record, "droppedLinksCount", span.droppedLinksCount);

  batch.add(envelope, time, record, `${traceId}-${spanId}`);
}

function readStatus(status: Record<string, unknown> | null): JsonObject {
  const out: JsonObject = { code: "unset" };
  if (!status) return out;
  out.code = enumName(STATUS_NAMES, readEnum(status.code, StatusCodeValues, "span.status.code"));
  const msg = readString(status.message, "span.status.message");
  if (msg) out.message = msg;
  return out;
}

function readSpanEvent(e: unknown): JsonObject {
  const event = message(e, "span.events[]") ?? {};
  const out: JsonObject = {
    name: readString(event.name, "event.name"),
    timeUnixNano: nanosToString(readNanos(event.timeUnixNano, "event.timeUnixNano")),
    attributes: readAttributes(event.attributes),
  };
  putCount(out, "droppedAttributesCount", event.droppedAttributesCount);
  return out;
}

function readLink(l: unknown): JsonObject {
  const link = message(l, "span.links[]") ?? {};
  const out: JsonObject = {
    traceId: readId(link.traceId, "link.traceId"),
    spanId: readId(link.spanId, "link.spanId"),
  };
  const traceState = readString(link.traceState, "link.traceState");
  if (traceState) out.traceState = traceState;
  out.attributes = readAttributes(link.attributes);
  putCount(out, "droppedAttributesCount", link.droppedAttributesCount);
  const flags = readInt32(link.flags, "link.flags");
  if (flags) out.flags = flags;
  return out;
}
