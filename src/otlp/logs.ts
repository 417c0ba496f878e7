/** ExportLogsServiceRequest → one "log" event per log record. */
import { convertRecords, EventBatch, type ConvertOptions, type Envelope, type ExportConversion, type ExportLimits } from "./batch.ts";
import type { ExportRequest, SignalFields } from "./export-request.ts";
import { SeverityNumberValues } from "./schema.ts";
import {
  isZeroNanos,
  nanosToString,
  putCount,
  readAnyValue,
  readAttributes,
  readEnum,
  readId,
  readInt32,
  readNanos,
  readString,
  type JsonObject,
  type UnixNanos,
} from "./values.ts";

export const LOG_FIELDS: SignalFields = { resources: "resourceLogs", scopes: "scopeLogs", records: "logRecords" };

export function convertLogs(request: ExportRequest, limits: Partial<ExportLimits> = {}, options: ConvertOptions = {}): ExportConversion {
  const batch = new EventBatch("log", limits.maxEventBytes, limits.retentionDays);
  const receivedAt: UnixNanos = { ms: Date.now(), subMs: 0 };
  return convertRecords(request, batch, (into, envelope, record) => addLogRecord(into, envelope, record, receivedAt), options);
}

function addLogRecord(batch: EventBatch, envelope: Envelope, log: Record<string, unknown>, receivedAt: UnixNanos): void {
  const time = readNanos(log.timeUnixNano, "logRecord.timeUnixNano");
  const observed = readNanos(log.observedTimeUnixNano, "logRecord.observedTimeUnixNano");
  const record: JsonObject = {
    timeUnixNano: nanosToString(time),
    observedTimeUnixNano: nanosToString(observed),
    severityNumber: readEnum(log.severityNumber, SeverityNumberValues, "logRecord.severityNumber"),
    severityText: readString(log.severityText, "logRecord.severityText"),
    body: readAnyValue(log.body),
    attributes: readAttributes(log.attributes),
  };
  putCount(record, "droppedAttributesCount", log.droppedAttributesCount);
  const flags = readInt32(log.flags, "logRecord.flags");
  if (flags) record.flags = flags;
  // Both optional; when present, a trace id is 16 bytes and a span id 8 (hex: 32 and 16 digits).
  const traceId = readId(log.traceId, "logRecord.traceId");
  const spanId = readId(log.spanId, "logRecord.spanId");
  if ((traceId && traceId.length !== 32) || (spanId && spanId.length !== 16)) return batch.reject("invalid trace or span id");
  if (traceId) record.traceId = traceId;
  if (spanId) record.spanId = spanId;
  const eventName = readString(log.eventName, "logRecord.eventName");
  if (eventName) record.eventName = eventName;

  // Per the log data model the observed time stands in for a missing time;
  // with neither we file the record under its arrival. The id stays stable
  // because it hashes the payload, which keeps the original (zero) times.
  const when = !isZeroNanos(time) ? time : !isZeroNanos(observed) ? observed : receivedAt;
  batch.add(envelope, when, record, null);
}
