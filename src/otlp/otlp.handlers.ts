import type { Context } from "hono";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { toApiError } from "../http/error-handler";
import { readBody } from "../ingest/read-body";
import { withSpan } from "../observability/tracing";
import { contentTypeFor, encodingFromContentType } from "./content-type";
import { decodeOtlpRequest, type OtlpEncoding, type OtlpSignal } from "./decode";
import { OtlpDecodeError } from "./errors";
import { encodeExportResponse, encodeRpcStatus } from "./response";

/** google.rpc.Code values used in error bodies. */
const RPC_CODE = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, INTERNAL: 13, UNAUTHENTICATED: 16 } as const;

/**
 * One OTLP/HTTP export: decode, store in one transaction, answer in the
 * request's encoding. Errors are answered as google.rpc.Status in that
 * encoding too; 503 keeps Retry-After so exporters retry instead of dropping.
 */
export function otlpExportHandler(signal: OtlpSignal) {
  return async function otlpExport(c: Context<AppEnv>) {
    const encoding = encodingFromContentType(c.req.header("content-type"));
    if (!encoding) {
      throw new ApiError("unsupported_media_type", "OTLP/HTTP takes application/x-protobuf or application/json");
    }
    try {
      const body = await readBody(c.req.raw, c.get("deps").config.MAX_BODY_BYTES);
      const { events, rejected, rejectedMessage } = decodeOtlpRequest(signal, body, encoding);
      if (events.length > 0) {
        const result = await withSpan(c, "db.ingest", { "db.system": "postgresql", "tv.events": events.length }, () =>
          c.get("deps").store.ingest(c.get("tenantId"), events),
        );
        c.set("ingestStats", result);
      }
      const response = encodeExportResponse(signal, encoding, rejected > 0 ? { count: rejected, message: rejectedMessage } : undefined);
      return c.body(response.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": response.contentType });
    } catch (error) {
      return otlpError(c, encoding, error);
    }
  };
}

function otlpError(c: Context<AppEnv>, encoding: OtlpEncoding, error: unknown) {
  if (error instanceof OtlpDecodeError) return status(c, encoding, 400, RPC_CODE.INVALID_ARGUMENT, error.message);
  const apiError = toApiError(error);
  if (apiError.status >= 500) {
    c.get("deps").logger[apiError.code === "service_unavailable" ? "warn" : "error"](
      { err: error, requestId: c.get("requestId"), tenant: c.get("tenantId") },
      "OTLP export failed",
    );
  }
  const code =
    apiError.status === 503 ? RPC_CODE.UNAVAILABLE : apiError.status >= 500 ? RPC_CODE.INTERNAL : RPC_CODE.INVALID_ARGUMENT;
  const headers: Record<string, string> = {};
  if (apiError.options.retryAfterSeconds !== undefined) headers["Retry-After"] = String(apiError.options.retryAfterSeconds);
  return status(c, encoding, apiError.status, code, apiError.message, headers);
}

function status(
  c: Context<AppEnv>,
  encoding: OtlpEncoding,
  httpStatus: number,
  rpcCode: number,
  message: string,
  headers: Record<string, string> = {},
) {
  const encoded = encodeRpcStatus(encoding, rpcCode, message);
  return c.body(encoded.body as Uint8Array<ArrayBuffer>, httpStatus as 400, { "Content-Type": encoded.contentType ?? contentTypeFor(encoding), ...headers });
}
