/**
 * Turns converted records into store-ready events: serializes the payload,
 * keeps it within the store's limits, derives event ids and timestamps, and
 * counts the records that cannot be stored (reported as partial success).
 */
import type { EventType, NewEvent } from "../storage/event-store.ts";
import { fitPayload } from "./fit-payload.ts";
import { cleanString, list, message, readAttributes, readString, truncateString, type JsonObject, type UnixNanos } from "./values.ts";

export const UNKNOWN_SERVICE = "unknown_service";
const MAX_SERVICE_NAME = 128;
/** The store refuses timestamps later than now + 24h. */
const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/**
 * Resource and scope are shared by many records, so each is serialized once
 * and spliced into every record's payload as JSON text.
 */
export interface Envelope {
  serviceName: string;
  /** `"resource":{...},"scope":{...}` — ready to splice into an object. */
  json: string;
}

export interface ResourceInfo {
  serviceName: string;
  json: string;
}

export function readResource(resource: { attributes?: unknown; droppedAttributesCount?: unknown } | null, schemaUrl: unknown): ResourceInfo {
  const attributes = readAttributes(resource?.attributes);
  const out: JsonObject = { attributes };
  const url = readString(schemaUrl, "schemaUrl");
  if (url) out.schemaUrl = url;
  return { serviceName: serviceNameOf(attributes), json: JSON.stringify(out) };
}

function serviceNameOf(attributes: JsonObject): string {
  const v = attributes["service.name"];
  if (v === undefined || v === null || v === "") return UNKNOWN_SERVICE;
  // Strings are already clean; other AnyValue kinds are coerced as a courtesy.
  const name = typeof v === "string" ? v : cleanString(typeof v === "object" ? JSON.stringify(v) : String(v));
  return truncateString(name, MAX_SERVICE_NAME);
}

export function readEnvelope(
  resource: ResourceInfo,
  scope: { name?: unknown; version?: unknown; attributes?: unknown } | null,
  scopeSchemaUrl: unknown,
): Envelope {
  const s: JsonObject = {
    name: readString(scope?.name, "scope.name"),
    version: readString(scope?.version, "scope.version"),
    attributes: readAttributes(scope?.attributes),
  };
  const url = readString(scopeSchemaUrl, "schemaUrl");
  if (url) s.schemaUrl = url;
  return { serviceName: resource.serviceName, json: `"resource":${resource.json},"scope":${JSON.stringify(s)}` };
}

/** Field names of one signal's three levels, e.g. resourceLogs → scopeLogs → logRecords. */
export interface SignalFields {
  resources: string;
  scopes: string;
  records: string;
}

/**
 * Walks the resource → scope → record nesting every export request shares,
 * handing each record to `visit` with the envelope (resource and scope) it
 * belongs to. Absent levels are empty; malformed ones throw OtlpDecodeError.
 */
export function forEachRecord(
  request: Record<string, unknown>,
  fields: SignalFields,
  visit: (envelope: Envelope, record: Record<string, unknown>) => void,
): void {
  for (const r of list(request[fields.resources], fields.resources)) {
    const resources = message(r, `${fields.resources}[]`) ?? {};
    const resource = readResource(message(resources.resource, "resource"), resources.schemaUrl);
    for (const s of list(resources[fields.scopes], fields.scopes)) {
      const scopes = message(s, `${fields.scopes}[]`) ?? {};
      const envelope = readEnvelope(resource, message(scopes.scope, "scope"), scopes.schemaUrl);
      for (const record of list(scopes[fields.records], fields.records)) {
        visit(envelope, message(record, `${fields.records}[]`) ?? {});
      }
    }
  }
}

export interface DecodeResult {
  events: NewEvent[];
  /** Records (spans, log records, data points) that were not turned into events. */
  rejected: number;
  /** Human summary of why, for ExportXServiceResponse.partial_success.error_message. */
  rejectedMessage: string;
}

/** Accumulates the events of one request. */
export class EventBatch {
  readonly events: NewEvent[] = [];
  private rejected = 0;
  private readonly reasons = new Map<string, number>();
  private readonly maxMs = Date.now() + MAX_FUTURE_MS;

  constructor(private readonly eventType: EventType) {}

  reject(reason: string): void {
    this.rejected++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  /**
   * Adds one record. `eventId` null means "content hash of the payload": the
   * payload holds the resource, scope and every field of the record including
   * its timestamps, so identical retries hash identically while any change
   * yields a new id.
   */
  add(envelope: Envelope, time: UnixNanos, record: JsonObject, eventId: string | null): void {
    if (time.ms > this.maxMs) {
      this.reject("timestamp more than 24h in the future");
      return;
    }
    const payloadJson = fitPayload(spliceEnvelope(record, envelope));
    this.events.push({
      eventId: eventId ?? sha256Hex(payloadJson),
      eventType: this.eventType,
      serviceName: envelope.serviceName,
      timestamp: new Date(time.ms).toISOString(),
      payloadJson,
    });
  }

  result(): DecodeResult {
    const parts = [...this.reasons].map(([reason, n]) => `${reason} (${n})`);
    return {
      events: this.events,
      rejected: this.rejected,
      rejectedMessage: parts.length ? `rejected: ${parts.join("; ")}` : "",
    };
  }
}

function spliceEnvelope(record: JsonObject, envelope: Envelope): string {
  const json = JSON.stringify(record);
  return json.length === 2 ? `{${envelope.json}}` : `${json.slice(0, -1)},${envelope.json}}`;
}

function sha256Hex(text: string): string {
  return Bun.CryptoHasher.hash("sha256", text, "hex") as string;
}
