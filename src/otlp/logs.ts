/** ExportLogsServiceRequest → one "log" event per log record. */
import { EventBatch, readEnvelope, readResource, type DecodeResult, type Envelope } from "./batch.ts";
import { SeverityNumberValues } from "./schema.ts";
import {
  isZeroNanos,
  list,
  message,
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

export function convertLogs(request: { resourceLogs?: unknown }): DecodeResult {
  const batch = new EventBatch("log");
  const receivedAt: UnixNanos = { ms: Date.now(), subMs: 0 };
  for (const rl of list(request.resourceLogs, "resourceLogs")) {
    const resourceLogs = message(rl, "resourceLogs[]") ?? {};
    const resource = readResource(message(resourceLogs.resource, "resource"), resourceLogs.schemaUrl);
    for (const sl of list(resourceLogs.scopeLogs, "scopeLogs")) {
      const scopeLogs = message(sl, "scopeLogs[]") ?? {};
      const envelope = readEnvelope(resource, message(scopeLogs.scope, "scope"), scopeLogs.schemaUrl);
      for (const record of list(scopeLogs.logRecords, "logRecords")) {
        addLogRecord(batch, envelope, message(record, "logRecords[]") ?? {}, receivedAt);
      }
    }
  }
  return batch.result();
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
  const traceId = readId(log.traceId, "logRecord.traceId");
  if (traceId) record.traceId = traceId;
  const spanId = readId(log.spanId, "logRecord.spanId");
  if (spanId) record.spanId = spanId;
  const eventName = readString(log.eventName, "logRecord.eventName");
  if (eventName) record.eventName = eventName;

  // Per the log data model the observed time stands in for a missing time;
  // with neither we file the record under its arrival. The id stays stable
  // because it hashes the payload, which keeps the original (zero) times.
  const when = !isZeroNanos(time) ? time : !isZeroNanos(observed) ? observed : receivedAt;
  batch.add(envelope, when, record, null);
}
