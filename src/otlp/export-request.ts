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
import { ShallowExport, ShallowResourceGroup, ShallowScopeGroup } from "./schema.ts";
import { list, message } from "./values.ts";
import type protobuf from "protobufjs";

type Message = Record<string, unknown>;

export interface ScopeGroup {
  scope: Message | null;
  schemaUrl: unknown;
  /** Records as read: objects (JSON) or undecoded bytes (protobuf); see ExportRequest.record. */
  records: readonly unknown[];
}

export interface ResourceGroup {
  resource: Message | null;
  schemaUrl: unknown;
  scopes: readonly ScopeGroup[];
}

export interface ExportRequest {
  groups: readonly ResourceGroup[];
  /** One record as an object; decodes it when the body is protobuf. */
  record(raw: unknown): Message;
}

/** Field names of one signal's three levels in OTLP/JSON, e.g. resourceLogs → scopeLogs → logRecords. */
export interface SignalFields {
  resources: string;
  scopes: string;
  records: string;
}

/** A parsed OTLP/JSON body; malformed levels throw OtlpDecodeError. */
export function fromJson(request: Message, fields: SignalFields): ExportRequest {
  const groups = list(request[fields.resources], fields.resources).map((r): ResourceGroup => {
    const resources = message<Message>(r, `${fields.resources}[]`) ?? {};
    return {
      resource: message(resources.resource, "resource"),
      schemaUrl: resources.schemaUrl,
      scopes: list(resources[fields.scopes], fields.scopes).map((s): ScopeGroup => {
        const scopes = message<Message>(s, `${fields.scopes}[]`) ?? {};
        return { scope: message(scopes.scope, "scope"), schemaUrl: scopes.schemaUrl, records: list(scopes[fields.records], fields.records) };
      }),
    };
  });
  return { groups, record: (raw) => message<Message>(raw, `${fields.records}[]`) ?? {} };
}

/** A protobuf body: outer levels now, each record (of `recordType`) when asked for. */
export function fromProtobuf(body: Buffer, recordType: protobuf.Type): ExportRequest {
  const exportRequest = decode<{ groups: Buffer[] }>(ShallowExport, body);
  const groups = exportRequest.groups.map((bytes): ResourceGroup => {
    const group = decode<{ resource?: Message; scopes: Buffer[]; schemaUrl?: string }>(ShallowResourceGroup, bytes);
    return {
      resource: group.resource ?? null,
      schemaUrl: group.schemaUrl,
      scopes: group.scopes.map((scopeBytes): ScopeGroup => {
        const scope = decode<{ scope?: Message; records: Buffer[]; schemaUrl?: string }>(ShallowScopeGroup, scopeBytes);
        return { scope: scope.scope ?? null, schemaUrl: scope.schemaUrl, records: scope.records };
      }),
    };
  });
  return { groups, record: (raw) => decode<Message>(recordType, raw as Buffer) };
}

function decode<T>(type: protobuf.Type, bytes: Buffer): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (error) {
    throw new OtlpDecodeError(`invalid protobuf body: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500));
  }
}
