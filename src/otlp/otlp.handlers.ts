import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { retentionDaysOf, type Config } from "../config";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { toApiError } from "../http/error-handler";
import { readBody } from "../http/read-body";
import { withSpan } from "../http/middleware/tracing";
import { contentTypeFor, encodingFromContentType } from "./content-type";
import { decodeOtlpExport, type ExportLimits, type OtlpEncoding, type OtlpSignal } from "./decode";
import { OtlpDecodeError, OtlpTooLargeError } from "./errors";
import { encodeExportResponse, encodeRpcStatus } from "./response";
import { committedEvents, committedKeys } from "../tail/committed-events";
import type { NewEvent } from "../events/event-types";
import type { Committed } from "../storage/event-store";

/** google.rpc.Code values used in error bodies. */
const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The events of one export may take at most this many times MAX_BODY_BYTES
 * once stored: resource and scope are copied into every record, so a small
 * body can expand a long way (see bench/README.md, "limits").
 */
const EVENT_BYTES_PER_BODY_BYTE = 2;

export function exportLimits(config: Config, tenant: string): ExportLimits {
  return {
    maxRecords: config.MAX_BATCH,
    maxEventBytes: config.MAX_BODY_BYTES * EVENT_BYTES_PER_BODY_BYTE,
    retentionDays: retentionDaysOf(config, tenant),
  };
}

/**
 * One OTLP/HTTP export: decode, store in one transaction, answer in the
 * request's encoding. Failures are thrown and answered by otlpErrors.
 */
export function otlpExportHandler(signal: OtlpSignal) {
  return async function otlpExport(c: Context<AppEnv>) {
    const encoding = encodingFromContentType(c.req.header("content-type"));
    if (!encoding) {
      throw new ApiError("unsupported_media_type", "OTLP/HTTP takes application/x-protobuf or application/json");
    }
    const body = await readBody(c.req.raw, c.get("deps").config.MAX_BODY_BYTES);
    // Decoded records take many times the body's bytes: see http/body-budget.ts.
    const { rejected, rejectedMessage } = await c.get("bodyBudget").run(body.byteLength, () => storeExport(c, signal, body, encoding));
    const response = encodeExportResponse(signal, encoding, rejected > 0 ? { count: rejected, message: rejectedMessage } : undefined);
    return c.body(response.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": response.contentType });
  };
}

/**
 * The events of an export go to the store in chunks of about this many
 * payload bytes, each converted once the one before is written, so a large
 * export never holds all its events at once (bench/README.md, "Limits").
 */
const CHUNK_BYTES = 1024 * 1024;

/** Decodes an export and stores its events in one transaction; returns what was rejected. */
async function storeExport(c: Context<AppEnv>, signal: OtlpSignal, body: Uint8Array, encoding: OtlpEncoding) {
  const { config, store, tail } = c.get("deps");
  const tenantId = c.get("tenantId");
  try {
    const conversion = decodeOtlpExport(signal, body, encoding, exportLimits(config, tenantId), CHUNK_BYTES);
    // Live tails get the events themselves when they came in one chunk; of a longer export, their keys.
    let only: NewEvent[] | undefined;
    let seen = 0;
    const chunks = (function* () {
      for (const chunk of conversion.chunks) {
        only = ++seen === 1 ? chunk : undefined;
        yield chunk;
        // A full chunk is written and more may follow: the garbage of converting it goes
        // before the next is made. Left to itself the collector ran late, and a 10 MiB
        // export peaked near +100 MiB (bench/README.md, "OTLP exports in chunks").
        if (payloadBytes(chunk) >= CHUNK_BYTES) Bun.gc(true);
      }
    })();
    const { ingested, duplicates, committed } = await withSpan(c, "db.ingest", { "db.system": "postgresql", "tv.events": conversion.records }, () =>
      store.ingestChunks(tenantId, chunks),
    );
    if (ingested > 0) tail?.publisher.publish(tenantId, ingested, committedBatch(only, committed));
    c.set("ingestStats", { ingested, duplicates });
    return conversion.rejections();
  } catch (error) {
    throw asApiError(error);
  }
}

/**
 * What a live tail gets, built only if someone tails the tenant. A function of
 * its own so that the queued callback holds these two, not the export.
 */
function committedBatch(only: NewEvent[] | undefined, committed: Committed) {
  return () => (only ? committedEvents(only, committed) : committedKeys(committed));
}

function payloadBytes(events: NewEvent[]): number {
  return events.reduce((sum, event) => sum + event.payloadBytes, 0);
}

/** The decoder's errors in the API's error model (their messages name the field, never echo data). */
function asApiError(error: unknown): unknown {
  if (error instanceof OtlpDecodeError) return new ApiError("bad_request", error.message);
  if (error instanceof OtlpTooLargeError) {
    return new ApiError(error.kind === "records" ? "batch_too_large" : "payload_too_large", error.message);
  }
  return error;
}

/**
 * OTLP/HTTP answers every failure with a google.rpc.Status in the request's
 * encoding (JSON when the request named none we read). Mounted in front of
 * authentication and rate limiting, so their 401 and 429 are answered so too;
 * the status, Retry-After and the other headers stay as the app set them.
 */
export const otlpErrors = createMiddleware<AppEnv>(async function otlpErrors(c, next) {
  await next();
  // An unknown /v1/* path is answered by the app's not-found handler, which throws nothing.
  const error = c.error ?? (c.res.status === 404 ? new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`) : undefined);
  if (!error) return;
  const encoding = encodingFromContentType(c.req.header("content-type")) ?? "json";
  const { status, rpcCode, message } = describeFailure(error);
  const encoded = encodeRpcStatus(encoding, rpcCode, message);
  c.res = c.body(encoded.body as Uint8Array<ArrayBuffer>, status as 400, { "Content-Type": encoded.contentType ?? contentTypeFor(encoding) });
});

function describeFailure(error: Error): { status: number; rpcCode: number; message: string } {
  const apiError = toApiError(error);
  const rpcCode =
    apiError.status === 401 ? RPC_CODE.UNAUTHENTICATED
    : apiError.status === 404 ? RPC_CODE.NOT_FOUND
    : apiError.status === 429 ? RPC_CODE.RESOURCE_EXHAUSTED
    : apiError.status === 503 ? RPC_CODE.UNAVAILABLE
    : apiError.status >= 500 ? RPC_CODE.INTERNAL
    : RPC_CODE.INVALID_ARGUMENT;
  return { status: apiError.status, rpcCode, message: apiError.message };
}
