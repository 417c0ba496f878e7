/**
 * OTLP/HTTP request bodies → store events. The HTTP layer has already undone
 * any Content-Encoding; it picks the encoding with `encodingFromContentType`.
 */
import type { NewEvent } from "../storage/event-store.ts";
import type { DecodeResult } from "./batch.ts";
import { OtlpDecodeError } from "./errors.ts";
import { convertLogs } from "./logs.ts";
import { convertMetrics } from "./metrics.ts";
import { ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest } from "./schema.ts";
import { convertTraces } from "./traces.ts";
import type protobuf from "protobufjs";

export type OtlpSignal = "traces" | "logs" | "metrics";
export type OtlpEncoding = "protobuf" | "json";
export type { DecodeResult };

const SIGNALS: Record<OtlpSignal, { requestType: protobuf.Type; convert: (request: any) => DecodeResult }> = {
  traces: { requestType: ExportTraceServiceRequest, convert: convertTraces },
  logs: { requestType: ExportLogsServiceRequest, convert: convertLogs },
  metrics: { requestType: ExportMetricsServiceRequest, convert: convertMetrics },
};

/**
 * Decodes one export request into events plus the count of records that were
 * valid OTLP but cannot be stored (bad ids, missing or far-future times).
 * Those belong in the response's partial_success, not in a 400.
 * @throws OtlpDecodeError when the body is not a valid export request.
 */
export function decodeOtlpRequest(signal: OtlpSignal, body: Uint8Array, encoding: OtlpEncoding): DecodeResult {
  const { requestType, convert } = SIGNALS[signal];
  const request = encoding === "protobuf" ? parseProtobuf(requestType, body) : parseJson(body);
  try {
    return convert(request);
  } catch (err) {
    throw asDecodeError(err, "invalid OTLP request");
  }
}

/** Like `decodeOtlpRequest`, for callers that only need the events. */
export function decodeOtlp(signal: OtlpSignal, body: Uint8Array, encoding: OtlpEncoding): NewEvent[] {
  return decodeOtlpRequest(signal, body, encoding).events;
}

function parseProtobuf(type: protobuf.Type, body: Uint8Array): object {
  try {
    // A Buffer makes protobufjs use its Buffer reader (native UTF-8 decoding).
    return type.decode(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  } catch (err) {
    throw asDecodeError(err, "invalid protobuf body");
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJson(body: Uint8Array): object {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch (err) {
    throw asDecodeError(err, "invalid JSON body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OtlpDecodeError("invalid JSON body: expected an object");
  }
  return value;
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
