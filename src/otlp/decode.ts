/**
 * OTLP/HTTP request bodies → store events. The HTTP layer has already undone
 * any Content-Encoding; it picks the encoding with `encodingFromContentType`.
 */
import { findTooDeep } from "../events/json-text.ts";
import { countRecords, type ConvertOptions, type DecodeResult, type ExportConversion, type ExportLimits } from "./batch.ts";
import { OtlpDecodeError, OtlpTooLargeError } from "./errors.ts";
import { fromJson, fromProtobuf, type ExportRequest, type SignalFields } from "./export-request.ts";
import { parseSkeleton, type JsonSkeleton } from "./json-skeleton.ts";
import { convertLogs, LOG_FIELDS } from "./logs.ts";
import { convertMetrics, METRIC_FIELDS, METRIC_UNITS, metricEvents } from "./metrics.ts";
import { LogRecord, MAX_MESSAGE_DEPTH, Metric, Span } from "./schema.ts";
import { convertTraces, SPAN_FIELDS } from "./traces.ts";
import { jsonMayExceed, type RecordUnits } from "./value-budget.ts";
import type protobuf from "protobufjs";
import type { NewEvent } from "../events/event-types.ts";

export type OtlpSignal = "traces" | "logs" | "metrics";
export type OtlpEncoding = "protobuf" | "json";
export type { DecodeResult, ExportConversion, ExportLimits };

interface SignalCodec {
  /** The record's protobuf message: Span, LogRecord, Metric. */
  recordType: protobuf.Type;
  fields: SignalFields;
  /** Events one record as read becomes, when not one (a metric's data points). */
  perRecord?: (raw: unknown) => number;
  /** Parts of a record counted on their own budget (value-budget.ts). */
  units?: RecordUnits;
  convert: (request: ExportRequest, limits: ExportLimits, options: ConvertOptions) => ExportConversion;
}

const SIGNALS: Record<OtlpSignal, SignalCodec> = {
  traces: { recordType: Span, fields: SPAN_FIELDS, convert: convertTraces },
  logs: { recordType: LogRecord, fields: LOG_FIELDS, convert: convertLogs },
  metrics: { recordType: Metric, fields: METRIC_FIELDS, perRecord: metricEvents, units: METRIC_UNITS, convert: convertMetrics },
};

/**
 * OTLP/JSON bodies may nest as deep as protobuf messages may (see
 * MAX_MESSAGE_DEPTH), counted in brackets; JSON.parse is not shown deeper
 * text, which costs it about 80 ms per megabyte of brackets.
 */
const MAX_JSON_DEPTH = MAX_MESSAGE_DEPTH;

/**
 * Decodes one export request into events, a chunk of about `chunkBytes` at a
 * time as its `chunks` are read, plus the count of records that were valid
 * OTLP but cannot be stored (bad ids, missing or far-future times). Those
 * belong in the response's partial_success, not in a 400.
 *
 * The body is parsed and its `records` (events to be) counted now; each record is converted
 * when its chunk is asked for, so the errors below come from either.
 * @throws OtlpDecodeError when the body is not a valid export request.
 * @throws OtlpTooLargeError when it holds more records, or would store more
 *   bytes, than `limits` allow; nothing of it is to be stored then.
 */
export function decodeOtlpExport(
  signal: OtlpSignal,
  body: Uint8Array,
  encoding: OtlpEncoding,
  limits: ExportLimits = { maxRecords: Infinity, maxEventBytes: Infinity },
  chunkBytes = Infinity,
): ExportConversion & { records: number } {
  const { recordType, fields, perRecord, units, convert } = SIGNALS[signal];
  const { conversion, records } = decoding(() => {
    const request = encoding === "protobuf" ? fromProtobuf(asBuffer(body), recordType, units) : jsonRequest(body, fields, units, !perRecord);
    const records = countRecords(request, perRecord);
    if (records > limits.maxRecords) throw OtlpTooLargeError.records(records, limits.maxRecords);
    return { conversion: convert(request, limits, { chunkBytes }), records };
  });
  function* chunks(): Generator<NewEvent[]> {
    const converting = conversion.chunks[Symbol.iterator]();
    for (;;) {
      const next = decoding(() => converting.next());
      if (next.done) return;
      yield next.value;
    }
  }
  return { chunks: chunks(), rejections: conversion.rejections, records };
}

/** The whole export at once: its events in one array. */
export function decodeOtlpRequest(...args: Parameters<typeof decodeOtlpExport>): DecodeResult {
  const conversion = decodeOtlpExport(...args);
  const events = [...conversion.chunks].flat();
  return { events, ...conversion.rejections() };
}

/** Runs one step of decoding with its failures as OtlpDecodeError (OtlpTooLargeError passes). */
function decoding<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof OtlpTooLargeError) throw err;
    throw asDecodeError(err, "invalid OTLP request");
  }
}

/** A Buffer makes protobufjs use its Buffer reader (native UTF-8 decoding, views for bytes fields). */
function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * An OTLP/JSON body. With `cutRecords` its records are left as text until
 * converted (json-skeleton.ts); a metric's must be parsed to count its data
 * points beforehand, so metrics bodies are parsed whole.
 */
function jsonRequest(body: Uint8Array, fields: SignalFields, units: RecordUnits | undefined, cutRecords: boolean): ExportRequest {
  let value: unknown;
  let skeleton: JsonSkeleton | undefined;
  try {
    const text = utf8.decode(body);
    if (findTooDeep(text, MAX_JSON_DEPTH, "single") !== undefined) {
      throw new OtlpDecodeError(`invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    skeleton = cutRecords ? parseSkeleton(text, fields) : undefined;
    value = skeleton ? skeleton.request : JSON.parse(text);
  } catch (err) {
    throw asDecodeError(err, "invalid JSON body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OtlpDecodeError("invalid JSON body: expected an object");
  }
  return fromJson(value as Record<string, unknown>, fields, jsonMayExceed(asBuffer(body)), units, skeleton?.records);
}

/**
 * Library errors (truncated protobuf, JSON syntax, stack overflow on absurd
 * nesting) become client errors; their text is kept because it locates the
 * problem, but it is prefixed so clients know which stage failed.
 */
function asDecodeError(err: unknown, prefix: string): OtlpDecodeError {
  if (err instanceof OtlpDecodeError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new OtlpDecodeError(`${prefix}: ${detail}`.slice(0, 500));
}
