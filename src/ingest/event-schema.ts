import { z } from "@hono/zod-openapi";

/**
 * The event as clients send it. This one schema validates /ingest bodies and
 * documents them in the OpenAPI spec; the storage type follows from it.
 */
export const EVENT_TYPES = ["log", "metric", "trace"] as const;
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_PAYLOAD_DEPTH = 32;

/** Strings PostgreSQL can store: no NUL character, no lone UTF-16 surrogate. */
export function storableTextProblem(value: string): string | undefined {
  if (value.includes("\u0000")) return "must not contain the NUL character (\\u0000)";
  if (!value.isWellFormed()) return "must not contain lone UTF-16 surrogates";
  return undefined;
}

const storableText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((value, ctx) => {
      const problem = storableTextProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

export const EventTypeSchema = z.enum(EVENT_TYPES).openapi("EventType");

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO-8601 date-time with an explicit offset, and a real calendar date. */
export const TimestampSchema = z
  .string()
  .regex(ISO_WITH_OFFSET, { message: "must be an ISO-8601 date-time with an offset, e.g. 2026-01-02T03:04:05.678Z", abort: true })
  .refine((value) => isRealDate(value), "is not a valid date-time")
  .openapi({ format: "date-time", example: "2026-11-27T08:00:00.000Z" });

/** Called after ISO_WITH_OFFSET matched, so the date is at fixed positions. */
function isRealDate(value: string): boolean {
  if (Number.isNaN(Date.parse(value))) return false;
  // Date.parse rolls 2026-02-30 over to March: check the written day against
  // the length of the written month.
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The form stored and returned (UTC, milliseconds): what Date#toISOString writes. */
export function isCanonicalTimestamp(value: string): boolean {
  return value.length === 24 && value.charCodeAt(23) === 0x5a /* Z */ && value.charCodeAt(19) === 0x2e /* . */;
}

export const PayloadSchema = z
  .custom<Record<string, unknown>>(
    (value) => typeof value === "object" && value !== null && !Array.isArray(value),
    { message: "must be a JSON object" },
  )
  .openapi({
    type: "object",
    additionalProperties: true,
    description: `Any JSON object: at most ${MAX_PAYLOAD_BYTES} bytes serialized, nested at most ${MAX_PAYLOAD_DEPTH} levels`,
    example: { level: "info", message: "user signed in", userId: 42 },
  });

export const EventSchema = z
  .object({
    eventId: storableText(128).openapi({ description: "Unique per tenant; a repeated id is a duplicate", example: "evt-0001" }),
    eventType: EventTypeSchema,
    serviceName: storableText(128).openapi({ example: "checkout" }),
    timestamp: TimestampSchema.openapi({ description: "Between 1970-01-01 and now + 24 h" }),
    payload: PayloadSchema.optional(),
  })
  .openapi("Event");

export type EventInput = z.infer<typeof EventSchema>;

export const IngestBodySchema = z
  .union([EventSchema, z.array(EventSchema).min(1)])
  .openapi("IngestBody", { description: "One event or an array of events; or NDJSON, one event per line" });

export const IngestResponseSchema = z
  .object({
    ingested: z.number().int().openapi({ description: "Events newly stored" }),
    duplicates: z.number().int().openapi({ description: "Events already stored, or repeated within the request" }),
    message: z.string().openapi({ example: "Events ingested successfully" }),
  })
  .openapi("IngestResponse");
