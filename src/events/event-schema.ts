import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "./event-types";
import {
  isSupportedTime,
  MAX_ID_LENGTH,
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH,
  MAX_SERVICE_NAME_LENGTH,
  storableTextProblem,
  TIME_RANGE_MESSAGE,
} from "./limits";
import { ISO_WITH_OFFSET, parseTimestamp } from "./timestamp";

/**
 * The event as clients send it. This one schema validates /ingest bodies and
 * query filters and documents them in the OpenAPI spec.
 */

export const storableText = (max: number, min = 1) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine((value, ctx) => {
      const problem = storableTextProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

export const EventTypeSchema = z.enum(EVENT_TYPES).openapi("EventType");

/** An ISO-8601 date-time with an offset, a real calendar date, in the supported range. */
export const TimestampSchema = z
  .string()
  .regex(ISO_WITH_OFFSET, { message: "must be an ISO-8601 date-time with an offset, e.g. 2026-01-02T03:04:05.678Z", abort: true })
  .refine((value) => !Number.isNaN(parseTimestamp(value)), { message: "is not a valid date-time", abort: true })
  .refine((value) => isSupportedTime(parseTimestamp(value)), TIME_RANGE_MESSAGE)
  .openapi({ format: "date-time", example: "2026-11-27T08:00:00.000Z" });

export const EventIdSchema = storableText(MAX_ID_LENGTH).openapi({ description: "With the timestamp, unique per tenant: the same id and timestamp again is a duplicate", example: "evt-0001" });
export const ServiceNameSchema = storableText(MAX_SERVICE_NAME_LENGTH).openapi({ example: "checkout" });

export const PayloadSchema = z
  .custom<Record<string, unknown>>(
    (value) => typeof value === "object" && value !== null && !Array.isArray(value),
    { message: "must be a JSON object" },
  )
  .openapi({
    type: "object",
    additionalProperties: true,
    description: `Any JSON object: at most ${MAX_PAYLOAD_BYTES} bytes as stored (serialized, numbers counted as the exact decimals stored: 1e300 takes 301), nested at most ${MAX_PAYLOAD_DEPTH} levels`,
    example: { level: "info", message: "user signed in", userId: 42 },
  });

export const EventSchema = z
  .object({
    eventId: EventIdSchema,
    eventType: EventTypeSchema,
    serviceName: ServiceNameSchema,
    timestamp: TimestampSchema.openapi({ description: "Between 1970-01-01 and now + 24 h" }),
    payload: PayloadSchema.optional(),
  })
  .openapi("Event");

export type EventInput = z.infer<typeof EventSchema>;
