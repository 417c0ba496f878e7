/**
 * The resource → scope → record nesting every OTLP export shares, read the
 * same way from both encodings.
 *
 * A protobuf body is not decoded into one object tree: at 10 MiB of small
 * attributes that tree alone took over 100 MiB. Its three outer levels are
 * decoded shallowly, records left as views of the body's bytes, and each
 * record is decoded when it is converted, so only one record's objects live
 * at a time. The outer levels have the same field numbers in all three
 * signals (schema.ts, `Shallow*`).
 */
import { OtlpDecodeError } from "./errors.ts";
import { InstrumentationScope, Resource, ShallowExport, ShallowResourceGroup, ShallowScopeGroup } from "./schema.ts";
import { jsonMayExceed, jsonOverBudget, protobufOverBudget, type RecordUnits } from "./value-budget.ts";
import { list, message } from "./values.ts";
import type protobuf from "protobufjs";

type Message = Record<string, unknown>;

export interface ScopeGroup {
  scope: Message | null;
  /** The scope holds more values than one may (value-budget.ts): its records are refused. */
  overBudget?: true;
  schemaUrl: unknown;
  /** Records as read: objects (JSON) or undecoded bytes (protobuf); see ExportRequest.record. */
  records: readonly unknown[];
}

export interface ResourceGroup {
  resource: Message | null;
  /** The resource holds more values than one may (value-budget.ts): its records are refused. */
  overBudget?: true;
  schemaUrl: unknown;
  scopes: readonly ScopeGroup[];
}

export interface ExportRequest {
  groups: readonly ResourceGroup[];
  /** One record as an object; decodes it when the body is protobuf. */
  record(raw: unknown): Message;
  /** True when the record holds more values than one may (value-budget.ts); checked before `record`. */
  overBudget(raw: unknown): boolean;
}

/** Field names of one signal's three levels in OTLP/JSON, e.g. resourceLogs → scopeLogs → logRecords. */
export interface SignalFields {
  resources: string;
  scopes: string;
  records: string;
}

/**
 * A parsed OTLP/JSON body; malformed levels throw OtlpDecodeError. Records
 * are counted against the value budget only when the body could hold that
 * many objects (`mayExceed`, value-budget.ts). With `recordTexts` the body is
 * a skeleton (json-skeleton.ts): its records are indexes into them, each
 * parsed when it is converted.
 */
export function fromJson(request: Message, fields: SignalFields, mayExceed: boolean, units?: RecordUnits, recordTexts?: string[]): ExportRequest {
  const overBudget = (value: unknown, parts?: RecordUnits) => mayExceed && jsonOverBudget(value, parts);
  const parsed = (raw: unknown) => (recordTexts ? (JSON.parse(recordTexts[raw as number]!) as unknown) : raw);
  // Records refused with their resource or scope are never converted: their text is still
  // parsed once, so a body is refused (400) for bad JSON wherever it is.
  const refuse = (records: readonly unknown[]) => {
    if (recordTexts) for (const raw of records) JSON.parse(recordTexts[raw as number]!);
    return records;
  };
  const groups = list(request[fields.resources], fields.resources).map((r): ResourceGroup => {
    const resources = message<Message>(r, `${fields.resources}[]`) ?? {};
    const resource = message<Message>(resources.resource, "resource");
    const resourceOver = overBudget(resource);
    return {
      ...(resourceOver ? { resource: null, overBudget: true as const } : { resource }),
      schemaUrl: resources.schemaUrl,
      scopes: list(resources[fields.scopes], fields.scopes).map((s): ScopeGroup => {
        const scopes = message<Message>(s, `${fields.scopes}[]`) ?? {};
        const scope = message<Message>(scopes.scope, "scope");
        const scopeOver = overBudget(scope);
        const records = list(scopes[fields.records], fields.records);
        return {
          ...(scopeOver ? { scope: null, overBudget: true as const } : { scope }),
          schemaUrl: scopes.schemaUrl,
          records: resourceOver || scopeOver ? refuse(records) : records,
        };
      }),
    };
  });
  return {
    groups,
    record: (raw) => message<Message>(parsed(raw), `${fields.records}[]`) ?? {},
    // A record's text with no more braces than the budget holds no more objects: parsed once, when converted.
    overBudget: (raw) => mayExceed && (!recordTexts || jsonMayExceed(recordTexts[raw as number]!)) && jsonOverBudget(parsed(raw), units),
  };
}

/** A protobuf body: outer levels now, each record (of `recordType`) when asked for. */
export function fromProtobuf(body: Buffer, recordType: protobuf.Type, units?: RecordUnits): ExportRequest {
  const exportRequest = decode<{ groups: Buffer[] }>(ShallowExport, body);
  const groups = exportRequest.groups.map((bytes): ResourceGroup => {
    const group = decode<{ resource?: Buffer; scopes: Buffer[]; schemaUrl?: string }>(ShallowResourceGroup, bytes);
    return {
      ...withinBudget("resource", Resource, group.resource),
      schemaUrl: group.schemaUrl,
      scopes: group.scopes.map((scopeBytes): ScopeGroup => {
        const scope = decode<{ scope?: Buffer; records: Buffer[]; schemaUrl?: string }>(ShallowScopeGroup, scopeBytes);
        return { ...withinBudget("scope", InstrumentationScope, scope.scope), schemaUrl: scope.schemaUrl, records: scope.records };
      }),
    };
  });
  return {
    groups,
    record: (raw) => decode<Message>(recordType, raw as Buffer),
    overBudget: (raw) => overBudget(recordType, raw as Buffer, units),
  };
}

/** A resource or scope decoded, unless it holds more values than one may. */
function withinBudget<K extends "resource" | "scope">(key: K, type: protobuf.Type, bytes: Buffer | undefined) {
  if (!bytes) return { [key]: null } as Record<K, null>;
  if (overBudget(type, bytes)) return { [key]: null, overBudget: true as const } as Record<K, null> & { overBudget: true };
  return { [key]: decode<Message>(type, bytes) } as Record<K, Message>;
}

function overBudget(type: protobuf.Type, bytes: Buffer, units?: RecordUnits): boolean {
  try {
    return protobufOverBudget(type, bytes, units);
  } catch {
    return false; // malformed: decoding it says how
  }
}

function decode<T>(type: protobuf.Type, bytes: Buffer): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (error) {
    throw new OtlpDecodeError(`invalid protobuf body: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500));
  }
}
