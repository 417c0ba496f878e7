/**
 * Response bodies for the OTLP/HTTP routes, in the request's encoding.
 */
import { contentTypeFor } from "./content-type.ts";
import type { OtlpEncoding, OtlpSignal } from "./decode.ts";
import {
  ExportLogsServiceResponse,
  ExportMetricsServiceResponse,
  ExportTraceServiceResponse,
  RpcStatus,
} from "./schema.ts";
import type protobuf from "protobufjs";

export interface EncodedBody {
  body: Uint8Array | string;
  contentType: string;
}

const RESPONSES: Record<OtlpSignal, { type: protobuf.Type; rejectedField: string }> = {
  traces: { type: ExportTraceServiceResponse, rejectedField: "rejectedSpans" },
  logs: { type: ExportLogsServiceResponse, rejectedField: "rejectedLogRecords" },
  metrics: { type: ExportMetricsServiceResponse, rejectedField: "rejectedDataPoints" },
};

/**
 * The 200 body. Per OTLP, partial_success stays unset when everything was
 * accepted; otherwise it carries the rejected count and why.
 */
export function encodeExportResponse(
  signal: OtlpSignal,
  encoding: OtlpEncoding,
  rejected?: { count: number; message: string },
): EncodedBody {
  const { type, rejectedField } = RESPONSES[signal];
  const response: Record<string, unknown> = {};
  if (rejected && (rejected.count > 0 || rejected.message)) {
    response.partialSuccess = { [rejectedField]: rejected.count, errorMessage: rejected.message };
  }
  if (encoding === "protobuf") {
    return { body: type.encode(type.fromObject(response)).finish(), contentType: contentTypeFor(encoding) };
  }
  if (response.partialSuccess) {
    // proto3 JSON writes int64 as a decimal string.
    const p = response.partialSuccess as Record<string, unknown>;
    p[rejectedField] = String(rejected!.count);
  }
  return { body: JSON.stringify(response), contentType: contentTypeFor(encoding) };
}

/**
 * A google.rpc.Status error body (OTLP/HTTP failure responses), e.g. code 3
 * INVALID_ARGUMENT for a malformed request.
 */
export function encodeRpcStatus(encoding: OtlpEncoding, code: number, message: string): EncodedBody {
  if (encoding === "protobuf") {
    const body = RpcStatus.encode(RpcStatus.fromObject({ code, message, details: [] })).finish();
    return { body, contentType: contentTypeFor(encoding) };
  }
  return { body: JSON.stringify({ code, message, details: [] }), contentType: contentTypeFor(encoding) };
}
