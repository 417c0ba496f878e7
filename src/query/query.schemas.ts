import { z } from "@hono/zod-openapi";
import { EventTypeSchema, ServiceNameSchema, TimestampSchema } from "../events/event-schema";
import { INTERVALS } from "../events/event-types";
import { parseTimestamp } from "../events/timestamp";

export const GROUP_BY = ["service", "eventType"] as const;
/** A time series may have at most this many buckets (e.g. 1m over 7 days is 10 080). */
export const MAX_BUCKETS = 20_000;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Offset pages go this deep at most (offset ≤ 10⁹ rows); cursors go on from there. */
export const MAX_PAGE = 1_000_000;
/** Query bodies are small; this bounds what is read before validation. */
export const MAX_QUERY_BODY_BYTES = 1024 * 1024;

export const LimitSchema = z.number().int().min(1).max(MAX_LIMIT);
export const PageSchema = z.number().int().min(1).max(MAX_PAGE);

export const QueryRequestSchema = z
  .object({
    startTime: TimestampSchema.optional().openapi({ description: "Inclusive; default: endTime - 24 h" }),
    endTime: TimestampSchema.optional().openapi({ description: "Inclusive; default: now" }),
    eventType: EventTypeSchema.optional(),
    serviceName: ServiceNameSchema.optional().openapi({ description: "Exact, case-sensitive service name" }),
    page: PageSchema.optional().openapi({ default: 1, description: "1-based page (offset pagination); not with a cursor" }),
    limit: LimitSchema.optional().openapi({ default: DEFAULT_LIMIT }),
    groupBy: z.enum(GROUP_BY).optional().openapi({ description: "Count events per key instead of listing them" }),
    interval: z
      .enum(INTERVALS)
      .optional()
      .openapi({ description: "Count events per time bucket of this width (per groupBy key when given), for charts" }),
    cursor: z
      .string()
      .max(4096)
      .optional()
      .openapi({
        description:
          "nextCursor from a previous answer: continue after its last event, with its window, filters and limit. " +
          "Other fields may be sent only with the cursor's own values; page may not.",
      }),
  })
  .refine((q) => !q.startTime || !q.endTime || parseTimestamp(q.startTime) <= parseTimestamp(q.endTime), {
    message: "startTime must not be after endTime",
    path: ["startTime"],
  })
  .openapi("QueryRequest");

export type QueryRequest = z.infer<typeof QueryRequestSchema>;

export const StoredEventSchema = z
  .object({
    eventId: z.string(),
    eventType: EventTypeSchema,
    serviceName: z.string(),
    timestamp: z.string().openapi({ format: "date-time" }),
    payload: z.record(z.string(), z.unknown()),
    receivedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("StoredEvent");

export const PaginationSchema = z
  .object({
    page: z.number().int(),
    limit: z.number().int(),
    total: z.number().int().openapi({ description: "Events matching the filters (exact)" }),
    totalPages: z.number().int(),
    hasNext: z.boolean(),
    hasPrev: z.boolean(),
    truncated: z.literal(true).optional().openapi({
      description:
        "Present when the page holds fewer than `limit` events because their payloads filled the page's byte budget; " +
        "nextCursor continues right after its last event",
    }),
  })
  .openapi("Pagination");

export const EventsPageSchema = z
  .object({
    data: z.array(StoredEventSchema),
    pagination: PaginationSchema,
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .openapi("EventsPage");

export const GroupCountsSchema = z
  .object({
    data: z.array(z.object({ key: z.string(), count: z.number().int() })),
    total: z.number().int(),
  })
  .openapi("GroupCounts");

export const TimeBucketsSchema = z
  .object({
    interval: z.enum(INTERVALS),
    data: z.array(
      z.object({
        bucket: z.string().openapi({ format: "date-time", description: "Bucket start (UTC, aligned to the epoch)" }),
        key: z.string().optional().openapi({ description: "The groupBy key, when grouped" }),
        count: z.number().int(),
      }),
    ).openapi({ description: "Non-empty buckets only, ascending by bucket then key" }),
    total: z.number().int(),
  })
  .openapi("TimeBuckets");

export const QueryResponseSchema = z
  .union([EventsPageSchema, GroupCountsSchema, TimeBucketsSchema])
  .openapi("QueryResponse");

export type EventsPage = z.infer<typeof EventsPageSchema>;
export type GroupCounts = z.infer<typeof GroupCountsSchema>;
export type TimeBuckets = z.infer<typeof TimeBucketsSchema>;
