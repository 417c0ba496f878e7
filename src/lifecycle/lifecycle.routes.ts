import { createRoute, z } from "@hono/zod-openapi";
import { EventTypeSchema, ServiceNameSchema, TimestampSchema } from "../events/event-schema";
import { parseTimestamp } from "../events/timestamp";
import { errorResponses } from "../http/api-error";
import { apiKeySecurity } from "../http/router";

export const DeleteRequestSchema = z
  .object({
    startTime: TimestampSchema.openapi({ description: "Inclusive" }),
    endTime: TimestampSchema.openapi({ description: "Inclusive" }),
    serviceName: ServiceNameSchema.optional(),
    eventType: EventTypeSchema.optional(),
  })
  .refine((r) => parseTimestamp(r.startTime) <= parseTimestamp(r.endTime), { message: "startTime must not be after endTime", path: ["startTime"] })
  .openapi("DeleteRequest");

export const DeleteResponseSchema = z
  .object({ deleted: z.number().int().openapi({ description: "Events deleted" }) })
  .openapi("DeleteResponse");

export const deleteRoute = createRoute({
  method: "post",
  path: "/delete",
  tags: ["Lifecycle"],
  summary: "Delete the tenant's events in a time window",
  description:
    "Deletes every event of the caller's tenant with a timestamp in the window (inclusive), optionally only of one service " +
    "and/or event type. Works in bounded batches, each committed with its counts, so totals stay exact throughout and a " +
    "large delete does not stall ingest. Answers once all are gone.",
  security: apiKeySecurity,
  request: { body: { required: true, content: { "application/json": { schema: DeleteRequestSchema } } } },
  responses: {
    200: { description: "Deleted", content: { "application/json": { schema: DeleteResponseSchema } } },
    ...errorResponses(400, 401, 413, 415, 429, 500, 503),
  },
});

/** At most this many days a /usage answer. */
export const MAX_USAGE_DAYS = 366;

export const UsageQuerySchema = z
  .object({
    startTime: TimestampSchema.optional().openapi({ description: "Its UTC day is the first; default: 30 days before endTime" }),
    endTime: TimestampSchema.optional().openapi({ description: "Its UTC day is the last; default: now" }),
  })
  .openapi("UsageQuery");

const UsageCountsSchema = z.object({
  events: z.number().int().openapi({ description: "Events stored" }),
  duplicates: z.number().int().openapi({ description: "Events refused as duplicates" }),
  bytes: z.number().int().openapi({ description: "Payload bytes stored, as stored (JSON, numbers as exact decimals)" }),
  rateLimited: z.number().int().openapi({ description: "Requests refused by the rate limiter" }),
});

export const UsageResponseSchema = z
  .object({
    data: z.array(UsageCountsSchema.extend({ day: z.string().openapi({ format: "date", example: "2026-12-01" }) }))
      .openapi({ description: "Per UTC day of ingest, ascending; days with nothing left out" }),
    total: UsageCountsSchema,
  })
  .openapi("Usage");

export const usageRoute = createRoute({
  method: "get",
  path: "/usage",
  tags: ["Lifecycle"],
  summary: "The tenant's usage per UTC day",
  description:
    "Per UTC day of ingest: events stored, duplicates refused, payload bytes stored and requests rate-limited. " +
    "Deleting or expiring events later does not change past days. Rate-limited requests are added within about 10 seconds.",
  security: apiKeySecurity,
  request: { query: UsageQuerySchema },
  responses: {
    200: { description: "Usage", content: { "application/json": { schema: UsageResponseSchema } } },
    ...errorResponses(400, 401, 429, 500, 503),
  },
});
