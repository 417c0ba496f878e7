import { createHash } from "node:crypto";
import { z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error";
import { zodIssuesToDetails } from "../http/router";
import { EventIdSchema, EventTypeSchema, ServiceNameSchema, TimestampSchema } from "../events/event-schema";
import { MAX_ID_LENGTH } from "../events/limits";
import { parseTimestamp } from "../events/timestamp";
import { LimitSchema, TOTALS } from "./query.schemas";
import { QSchema, WhereSchema } from "./search.schemas";

/**
 * Cursors are opaque to clients: base64url JSON holding the resolved window,
 * filters and limit of the first request, the page it leads to and the last
 * event returned. Following a cursor keeps the same window, so pages stay
 * stable while ingest goes on.
 *
 * A cursor is not trusted for being ours: it is decoded and checked field by
 * field with the same schemas as a request body, so a forged one can ask for
 * nothing a body could not. It is tied to the tenant it was issued to (a
 * fingerprint of it), so one tenant's cursor is refused for another. Nothing
 * here needs a secret shared by the replicas.
 */
const CursorSchema = z
  .object({
    v: z.literal(1),
    tenant: z.string().max(64),
    startTime: TimestampSchema,
    endTime: TimestampSchema,
    eventType: EventTypeSchema.optional(),
    serviceName: ServiceNameSchema.optional(),
    q: QSchema.optional(),
    where: WhereSchema.optional(),
    total: z.enum(TOTALS).optional(),
    limit: LimitSchema,
    // Only reported back; a cursor never grows it past what the next one may hold.
    page: z.number().int().min(2).max(Number.MAX_SAFE_INTEGER - 1),
    after: z.object({ timestamp: TimestampSchema, eventId: EventIdSchema }).strict(),
  })
  .strict()
  .refine((c) => parseTimestamp(c.startTime) <= parseTimestamp(c.endTime), { message: "startTime is after endTime", path: ["startTime"] })
  .refine((c) => isWithin(parseTimestamp(c.after.timestamp), c), { message: "lies outside the window", path: ["after", "timestamp"] });

export type CursorState = Omit<z.infer<typeof CursorSchema>, "v" | "tenant">;

function isWithin(ms: number, c: { startTime: string; endTime: string }) {
  return ms >= parseTimestamp(c.startTime) && ms <= parseTimestamp(c.endTime);
}

/** A short, non-reversible tenant tag: a cursor names its tenant without showing it. */
function fingerprint(tenantId: string): string {
  return createHash("sha256").update(tenantId).digest("base64url").slice(0, 16);
}

export function encodeCursor(tenantId: string, state: CursorState): string {
  return Buffer.from(JSON.stringify({ v: 1, tenant: fingerprint(tenantId), ...state }), "utf8").toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The cursor's state, or 400 validation_failed naming the field that is wrong. */
export function decodeCursor(cursor: string, tenantId: string): CursorState {
  const { v: _, tenant, ...state } = parseCursor(cursor, CursorSchema, tenantId);
  // Only instants go on from here, rewritten in the stored form: the text a
  // forger wrote (an offset of +20:00, nine fraction digits) never reaches SQL.
  return { ...state, after: { ...state.after, timestamp: canonical(state.after.timestamp) }, startTime: canonical(state.startTime), endTime: canonical(state.endTime) };
}

/**
 * A trace's next page: the trace and the last event returned. Only the
 * trace it was issued for, to the tenant it was issued to, accepts it.
 */
const TraceCursorSchema = z
  .object({
    v: z.literal(1),
    tenant: z.string().max(64),
    traceId: z.string().max(MAX_ID_LENGTH),
    limit: LimitSchema,
    after: z.object({ timestamp: TimestampSchema, eventId: EventIdSchema }).strict(),
  })
  .strict();

export type TraceCursorState = Omit<z.infer<typeof TraceCursorSchema>, "v" | "tenant" | "traceId">;

export function encodeTraceCursor(tenantId: string, traceId: string, state: TraceCursorState): string {
  return Buffer.from(JSON.stringify({ v: 1, tenant: fingerprint(tenantId), traceId: traceId.toLowerCase(), ...state }), "utf8").toString("base64url");
}

export function decodeTraceCursor(cursor: string, tenantId: string, traceId: string): TraceCursorState {
  const { v: _, tenant: __, traceId: issuedFor, ...state } = parseCursor(cursor, TraceCursorSchema, tenantId);
  if (issuedFor !== traceId.toLowerCase()) throw invalid([{ path: "cursor", message: "was issued for another trace" }]);
  return { ...state, after: { ...state.after, timestamp: canonical(state.after.timestamp) } };
}

/** Decodes and validates a cursor of `schema` issued to `tenantId`, or throws 400 naming what is wrong. */
function parseCursor<T extends { tenant: string }>(cursor: string, schema: z.ZodType<T>, tenantId: string): T {
  let value: unknown;
  try {
    if (!BASE64URL.test(cursor)) throw new Error("not base64url");
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(cursor, "base64url")));
  } catch {
    throw invalid([{ path: "cursor", message: "not a cursor returned by this API" }]);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw invalid(zodIssuesToDetails(parsed.error).map((d) => ({ ...d, path: d.path === "(body)" ? "cursor" : `cursor.${d.path}` })));
  }
  if (parsed.data.tenant !== fingerprint(tenantId)) {
    throw invalid([{ path: "cursor", message: "was issued to another tenant" }]);
  }
  return parsed.data;
}

function canonical(timestamp: string): string {
  return new Date(parseTimestamp(timestamp)).toISOString();
}

function invalid(details: { path: string; message: string }[]) {
  return new ApiError("validation_failed", "The cursor is not valid", { details });
}
