/**
 * Turns converted records into store-ready events: serializes the payload,
 * keeps it within the store's limits, derives event ids and timestamps, and
 * counts the records that cannot be stored (reported as partial success).
 */
import type { EventType, NewEvent } from "../events/event-types.ts";
import { MAX_PAYLOAD_BYTES, MAX_SERVICE_NAME_LENGTH } from "../events/limits.ts";
import { normalizeEvent } from "../events/normalize.ts";
import { collectStrings, traceIdOf } from "../events/search.ts";
import { OtlpTooLargeError } from "./errors.ts";
import type { ExportRequest } from "./export-request.ts";
import { fitAttributes, fitOversized, fitPayload } from "./fit-payload.ts";
import { jsonLength, writeOpenObject } from "./json-pieces.ts";
import { OVER_BUDGET } from "./value-budget.ts";
import { cleanString, readAttributes, readString, truncateString, type JsonObject, type UnixNanos } from "./values.ts";

export const UNKNOWN_SERVICE = "unknown_service";

/**
 * Resource and scope are copied into every record's payload, so each is
 * capped: a 50 KB resource on 1,000 tiny spans would otherwise be stored
 * 1,000 times. Past the cap the copy is trimmed like an oversized payload,
 * with a `truncated` note inside it.
 */
const MAX_RESOURCE_BYTES = 8 * 1024;
const MAX_SCOPE_BYTES = 2 * 1024;

/**
 * Resource and scope are shared by many records, so each is serialized once
 * and spliced into every record's payload as JSON text.
 */
export interface Envelope {
  serviceName: string;
  /** `"resource":{...},"scope":{...}` — ready to splice into an object. */
  json: string;
  /** The string values of resource and scope, for each record's search text. */
  strings: string[];
  /**
   * When resource or scope was trimmed: a digest of them as received, hashed
   * into content-based ids so that records differing only in what was cut
   * still get different ids.
   */
  receivedDigest?: string;
}

export interface ResourceInfo {
  serviceName: string;
  json: string;
  receivedJson?: string;
}

export function readResource(resource: { attributes?: unknown; droppedAttributesCount?: unknown } | null, schemaUrl: unknown): ResourceInfo {
  const attributes = readAttributes(resource?.attributes);
  const out: JsonObject = { attributes };
  const url = readString(schemaUrl, "schemaUrl");
  if (url) out.schemaUrl = url;
  const received = JSON.stringify(out);
  const fitted = fitAttributes(received, MAX_RESOURCE_BYTES);
  return { serviceName: serviceNameOf(attributes), json: fitted, ...(fitted !== received ? { receivedJson: received } : {}) };
}

function serviceNameOf(attributes: JsonObject): string {
  const v = attributes["service.name"];
  if (v === undefined || v === null || v === "") return UNKNOWN_SERVICE;
  // Strings are already clean; other AnyValue kinds are coerced as a courtesy.
  const name = typeof v === "string" ? v : cleanString(typeof v === "object" ? JSON.stringify(v) : String(v));
  return truncateString(name, MAX_SERVICE_NAME_LENGTH);
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
  const received = JSON.stringify(s);
  const fitted = fitAttributes(received, MAX_SCOPE_BYTES);
  const json = `"resource":${resource.json},"scope":${fitted}`;
  const envelope: Envelope = { serviceName: resource.serviceName, json, strings: collectStrings(JSON.parse(`{${json}}`)) };
  if (resource.receivedJson || fitted !== received) {
    envelope.receivedDigest = sha256Hex(`"resource":${resource.receivedJson ?? resource.json},"scope":${received}`);
  }
  return envelope;
}

/** An export's events, converted a chunk at a time as the chunks are asked for. */
export interface ExportConversion {
  /** Single use. Each chunk holds about `chunkBytes` of payloads (the last fewer); the same errors as decoding. */
  chunks: Iterable<NewEvent[]>;
  /** The records not turned into events: complete once `chunks` is exhausted. */
  rejections(): Rejections;
}

export interface ConvertOptions {
  /** A chunk is handed out once its payloads reach this many bytes (default: one chunk). */
  chunkBytes?: number;
  /** The events one record as read becomes, for refusing it unconverted (default 1). */
  eventsOf?: (raw: unknown) => number;
}

/**
 * Walks the resource → scope → record nesting of an export, handing each
 * record to `visit` with the envelope (resource and scope) it belongs to;
 * `visit` adds its events to `batch`, which hands them out in chunks. A
 * record holding more values than one may is refused undecoded, as the
 * `eventsOf(raw)` events it would have been (value-budget.ts). Absent levels
 * are empty; malformed ones throw OtlpDecodeError.
 *
 * Converting a chunk only when asked for lets the store write each before
 * the next exists: a 10 MiB export's events never all live at once.
 */
export function convertRecords(
  request: ExportRequest,
  batch: EventBatch,
  visit: (batch: EventBatch, envelope: Envelope, record: Record<string, unknown>) => void,
  { chunkBytes = Infinity, eventsOf = () => 1 }: ConvertOptions = {},
): ExportConversion {
  interface ScopeRecords {
    records: readonly unknown[];
    envelope?: Envelope;
    refused?: string;
  }

  function* walk(scopes: ScopeRecords[], into: EventBatch, chunkBytes: number): Generator<NewEvent[]> {
    for (const { records, envelope, refused } of scopes) {
      for (const raw of records) {
        const reason = refused ?? (request.overBudget(raw) ? `record ${OVER_BUDGET}` : undefined);
        if (reason) into.reject(reason, eventsOf(raw));
        else visit(into, envelope!, request.record(raw));
        if (into.pendingBytes >= chunkBytes) yield into.take();
      }
    }
    if (into.pendingEvents > 0) yield into.take();
  }

  function* chunks(): Generator<NewEvent[]> {
    const scopes = request.groups.flatMap((group) => {
      const resource = readResource(group.resource, group.schemaUrl);
      return group.scopes.map((scope): ScopeRecords => {
        const refused = group.overBudget ? `resource ${OVER_BUDGET}` : scope.overBudget ? `scope ${OVER_BUDGET}` : undefined;
        return refused ? { records: scope.records, refused } : { records: scope.records, envelope: readEnvelope(resource, scope.scope, scope.schemaUrl) };
      });
    });
    // Every event carries a copy of its resource and scope. When the copies alone
    // could pass the export's byte bound, the export is first converted and thrown
    // away, its bound checked: else a small body could make the database write, and
    // roll back, twice MAX_BODY_BYTES before the bound was found passed.
    const copies = scopes.reduce((sum, { records, envelope }) => sum + (envelope ? records.length * envelope.json.length : 0), 0);
    if (copies > batch.maxEventBytes) {
      for (const _ of walk(scopes, batch.emptyCopy(), 0)) {
        // Each event dropped as made: walking is for the bound, which throws when passed.
      }
    }
    yield* walk(scopes, batch, chunkBytes);
  }
  return { chunks: chunks(), rejections: () => batch.rejections() };
}

/**
 * How many records (events to be) an export holds, counted before any is
 * converted. `perRecord` counts what one record expands to (a metric's data
 * points); by default each record is one.
 */
export function countRecords(request: ExportRequest, perRecord?: (raw: unknown) => number): number {
  let count = 0;
  for (const group of request.groups) {
    for (const scope of group.scopes) {
      if (!perRecord) count += scope.records.length;
      else for (const raw of scope.records) count += perRecord(raw);
    }
  }
  return count;
}

/** The bounds one export must stay within. */
export interface ExportLimits {
  /** Records (events) per export: MAX_BATCH, as for /ingest. */
  maxRecords: number;
  /** Stored bytes of all the events an export becomes. */
  maxEventBytes: number;
  /** The tenant's retention: older records are refused (partial success). */
  retentionDays?: number;
}

export interface Rejections {
  /** Records (spans, log records, data points) that were not turned into events. */
  rejected: number;
  /** Human summary of why, for ExportXServiceResponse.partial_success.error_message. */
  rejectedMessage: string;
}

/** An export converted all at once. */
export interface DecodeResult extends Rejections {
  events: NewEvent[];
}

/** Accumulates the events of one request, handed out in chunks (`take`). */
export class EventBatch {
  private events: NewEvent[] = [];
  private rejected = 0;
  /** Stored bytes of all the events added, taken or not: the export's bound counts them all. */
  private bytes = 0;
  /** Stored bytes of the events not taken yet. */
  pendingBytes = 0;
  private readonly reasons = new Map<string, number>();

  constructor(
    private readonly eventType: EventType,
    readonly maxEventBytes = Infinity,
    private readonly retentionDays?: number,
    private readonly now = Date.now(),
  ) {}

  /** An empty batch judging events as this one does (same bounds, same clock). */
  emptyCopy(): EventBatch {
    return new EventBatch(this.eventType, this.maxEventBytes, this.retentionDays, this.now);
  }

  reject(reason: string, count = 1): void {
    this.rejected += count;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + count);
  }

  /**
   * Adds one record. `eventId` null means "content hash of the payload as
   * received": the payload holds the resource, scope and every field of the
   * record including its timestamps, so identical retries hash identically
   * while any change yields a new id. The hash is taken before any trimming,
   * so two records that differ only in what was cut stay two events.
   */
  add(envelope: Envelope, time: UnixNanos, record: JsonObject, eventId: string | null): void {
    // Trimming reads the record's own objects (the envelope's few KiB parsed), not the text again.
    const asObjects = () => ({ ...record, ...(JSON.parse(`{${envelope.json}}`) as JsonObject) });
    // A record whose text is surely over the limit is neither written out nor kept as received.
    const oversized = jsonLength(record) + envelope.json.length > MAX_PAYLOAD_BYTES;
    const received = oversized ? undefined : spliceEnvelope(record, envelope);
    const payload = received === undefined ? fitOversized(asObjects()) : fitPayload(received, MAX_PAYLOAD_BYTES, asObjects);
    // Search reads what is stored: a trimmed payload's own strings.
    const strings = payload.json === received ? collectStrings(record, [...envelope.strings]) : collectStrings(JSON.parse(payload.json));
    const normalized = normalizeEvent(
      {
        eventId: eventId ?? receivedHash(record, envelope, received),
        eventType: this.eventType,
        serviceName: envelope.serviceName,
        timestampMs: time.ms,
        payloadJson: payload.json,
        payloadBytes: payload.bytes,
        payloadStrings: strings,
        traceId: traceIdOf(record),
      },
      this.now,
      this.retentionDays,
    );
    if (normalized.problem) return this.reject(`${normalized.problem.path} ${normalized.problem.message}`);
    this.bytes += payload.bytes;
    if (this.bytes > this.maxEventBytes) throw OtlpTooLargeError.bytes(this.maxEventBytes);
    this.pendingBytes += payload.bytes;
    this.events.push(normalized.event);
  }

  get pendingEvents(): number {
    return this.events.length;
  }

  /** The events added since the last take. */
  take(): NewEvent[] {
    const events = this.events;
    this.events = [];
    this.pendingBytes = 0;
    return events;
  }

  rejections(): Rejections {
    const parts = [...this.reasons].map(([reason, n]) => `${reason} (${n})`);
    return { rejected: this.rejected, rejectedMessage: parts.length ? `rejected: ${parts.join("; ")}` : "" };
  }
}

/** The record's payload as received: its members, then the envelope's. */
function spliceEnvelope(record: JsonObject, envelope: Envelope): string {
  const json = JSON.stringify(record);
  return json.length === 2 ? `{${envelope.json}}` : `${json.slice(0, -1)},${envelope.json}}`;
}

/**
 * The content id: a hash of the payload as received (`received`, or written
 * out piece by piece when it was not kept) and of what trimming the envelope cut.
 */
function receivedHash(record: JsonObject, envelope: Envelope, received: string | undefined): string {
  const hasher = new Bun.CryptoHasher("sha256");
  if (received !== undefined) {
    hasher.update(received);
  } else {
    let pending = "";
    const write = (piece: string) => {
      pending += piece;
      if (pending.length >= 64 * 1024) {
        hasher.update(pending);
        pending = "";
      }
    };
    write(writeOpenObject(record, write) ? `,${envelope.json}}` : `${envelope.json}}`);
    hasher.update(pending);
  }
  if (envelope.receivedDigest) hasher.update(envelope.receivedDigest);
  return hasher.digest("hex");
}

function sha256Hex(text: string): string {
  return Bun.CryptoHasher.hash("sha256", text, "hex") as string;
}
