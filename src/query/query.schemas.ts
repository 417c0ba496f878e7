import { z } from "@hono/zod-openapi";
import { EventTypeSchema, ServiceNameSchema, storableText, TimestampSchema } from "../events/event-schema";
import { MAX_ID_LENGTH } from "../events/limits";
import { INTERVALS } from "../events/event-types";
import { parseTimestamp } from "../events/timestamp";
import { GroupBySchema, JsonScalarSchema, QSchema, WhereSchema } from "./search.schemas";

/** A time series may have at most this many buckets (e.g. 1m over 7 days is 10 080). */
export const MAX_BUCKETS = 20_000;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Offset pages go this deep at most (offset ≤ 10⁹ rows); cursors go on from there. */
export const MAX_PAGE = 1_000_000;
/** Query bodies are small; this bounds what is read before validation (and a cursor, which carries q and where). */
export const MAX_QUERY_BODY_BYTES = 1024 * 1024;
export const TOTALS = ["exact", "none"] as const;

export const LimitSchema = z.number().int().min(1).max(MAX_LIMIT);
export const PageSchema = z.number().int().min(1).max(MAX_PAGE);

export const QueryRequestSchema = z
  .object({
    startTime: TimestampSchema.optional().openapi({ description: "Inclusive; default: endTime - 24 h" }),
    endTime: TimestampSchema.optional().openapi({ description: "Inclusive; default: now" }),
    eventType: EventTypeSchema.optional(),
    serviceName: ServiceNameSchema.optional().openapi({ description: "Exact, case-sensitive service name" }),
    q: QSchema.optional(),
    where: WhereSchema.optional(),
    // Defaults are told in descriptions, not as `default`: generators such as
    // openapi-typescript make a property with a default required in requests.
    page: PageSchema.optional().openapi({ description: "1-based page (offset pagination); not with a cursor. Default: 1" }),
    limit: LimitSchema.optional().openapi({ description: `Events per page. Default: ${DEFAULT_LIMIT}` }),
    groupBy: GroupBySchema.optional(),
    interval: z
      .enum(INTERVALS)
      .optional()
      .openapi({ description: "Count events per time bucket of this width (per groupBy key when given), for charts" }),
    total: z.enum(TOTALS).optional().openapi({
      description:
        "exact (the default): pagination.total counts every match (a free-text search over days takes longer to count " +
        "than to list); none: total and totalPages are null, and the page comes as fast as its rows",
    }),
    cursor: z
      .string()
      .max(MAX_QUERY_BODY_BYTES)
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
    total: z.number().int().nullable().openapi({ description: "Events matching the filters (exact); null when asked with total: none" }),
    totalPages: z.number().int().nullable(),
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

const GroupKeySchema = JsonScalarSchema.openapi({
  description: "The service, the event type, or the field's value (a JSON scalar; null: events without one)",
});
const OtherSchema = z
  .literal(true)
  .optional()
  .openapi({ description: "Counts every value of a field past the top ones (its key is null), so the counts add up to total" });

export const GroupCountsSchema = z
  .object({
    data: z
      .array(z.object({ key: GroupKeySchema, other: OtherSchema, count: z.number().int() }))
      .openapi({ description: "Largest count first; a field's other entry last" }),
    total: z.number().int(),
  })
  .openapi("GroupCounts");

export const TimeBucketsSchema = z
  .object({
    interval: z.enum(INTERVALS),
    data: z.array(
      z.object({
        bucket: z.string().openapi({ format: "date-time", description: "Bucket start (UTC, aligned to the epoch)" }),
        key: GroupKeySchema.optional(),
        other: OtherSchema,
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

/** GET /traces/{traceId}: a trace's events, oldest first. */
export const TraceParamsSchema = z.object({
  traceId: storableText(MAX_ID_LENGTH).openapi({
    param: { name: "traceId", in: "path" },
    description: "The trace id as the events carry it (OTLP: 32 hex digits); hex compares case-insensitively",
    example: "4bf92f3577b34da6a3ce929d0e0e4736",
  }),
});

export const TraceQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional().openapi({ description: `Events per page. Default: ${MAX_LIMIT}` }),
  cursor: z.string().max(4096).optional().openapi({ description: "nextCursor from the previous page of this trace" }),
});

export const TracePageSchema = z
  .object({
    traceId: z.string().openapi({ description: "Lowercased" }),
    data: z.array(StoredEventSchema).openapi({ description: "Oldest first (timestamp, then eventId)" }),
    nextCursor: z.string().nullable().openapi({ description: "More events carry the trace: pass as `cursor` for them; null when none" }),
    truncated: z.literal(true).optional().openapi({
      description: "Present when the page holds fewer than `limit` events because their payloads filled the page's byte budget",
    }),
  })
  .openapi("TracePage");
