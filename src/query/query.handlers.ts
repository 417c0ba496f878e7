import type { Context } from "hono";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { BUCKET_MINUTES, type EventFilter } from "../storage/event-store";
import { parseTimestamp } from "../ingest/timestamp";
import { withSpan } from "../observability/tracing";
import { decodeCursor, encodeCursor, type CursorState } from "./cursor";
import { MAX_BUCKETS, type QueryRequest } from "./query.schemas";

const DAY_MS = 24 * 60 * 60 * 1000;

export async function queryEvents(c: Context<AppEnv>, query: QueryRequest) {
  const { store, now = Date.now } = c.get("deps");
  const tenantId = c.get("tenantId");

  if (query.interval) {
    if (query.cursor) throw mismatch("cursor", "a cursor cannot be combined with interval");
    const filter = resolveFilter(tenantId, query, now());
    if ((filter.endTime.getTime() - filter.startTime.getTime()) / (BUCKET_MINUTES[query.interval] * 60_000) > MAX_BUCKETS) {
      throw mismatch("interval", `the window holds more than ${MAX_BUCKETS} buckets of that interval; pick a wider interval`);
    }
    const data = await withSpan(c, "db.query.buckets", { "db.system": "postgresql" }, () =>
      store.timeBuckets(filter, query.interval!, query.groupBy),
    );
    return c.json({ interval: query.interval, data, total: data.reduce((sum, row) => sum + row.count, 0) }, 200);
  }

  if (query.groupBy) {
    if (query.cursor) throw mismatch("cursor", "a cursor cannot be combined with groupBy");
    const filter = resolveFilter(tenantId, query, now());
    const data = await withSpan(c, "db.query.groups", { "db.system": "postgresql" }, () =>
      store.groupCounts(filter, query.groupBy!),
    );
    return c.json({ data, total: data.reduce((sum, row) => sum + row.count, 0) }, 200);
  }

  const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
  if (cursor) assertSameFilters(query, cursor);
  const filter: EventFilter = cursor
    ? {
        tenantId,
        startTime: new Date(cursor.startTime),
        endTime: new Date(cursor.endTime),
        eventType: cursor.eventType,
        serviceName: cursor.serviceName,
      }
    : resolveFilter(tenantId, query, now());
  const limit = cursor?.limit ?? query.limit;
  const page = cursor?.page ?? query.page;

  const [data, total] = await Promise.all([
    withSpan(c, "db.query.events", { "db.system": "postgresql" }, () =>
      store.findEvents(filter, { page, limit, after: cursor?.after }),
    ),
    withSpan(c, "db.query.count", { "db.system": "postgresql" }, () => store.countEvents(filter)),
  ]);
  const totalPages = Math.ceil(total / limit);
  const last = data.at(-1);
  const hasNext = page < totalPages;
  const nextCursor =
    last && hasNext && data.length === limit
      ? encodeCursor({
          startTime: filter.startTime.toISOString(),
          endTime: filter.endTime.toISOString(),
          eventType: filter.eventType,
          serviceName: filter.serviceName,
          limit,
          page: page + 1,
          after: { timestamp: last.timestamp, eventId: last.eventId },
        })
      : null;

  return c.json(
    { data, pagination: { page, limit, total, totalPages, hasNext, hasPrev: page > 1 }, nextCursor },
    200,
  );
}

function resolveFilter(tenantId: string, query: QueryRequest, now: number): EventFilter {
  const endTime = new Date(query.endTime ? parseTimestamp(query.endTime) : now);
  const startTime = new Date(query.startTime ? parseTimestamp(query.startTime) : endTime.getTime() - DAY_MS);
  if (startTime > endTime) throw mismatch("startTime", "startTime must not be after endTime");
  return { tenantId, startTime, endTime, eventType: query.eventType, serviceName: query.serviceName };
}

/** A cursor carries its filters; a request that names different ones is a client bug. */
function assertSameFilters(query: QueryRequest, cursor: CursorState) {
  const differs =
    (query.startTime !== undefined && parseTimestamp(query.startTime) !== Date.parse(cursor.startTime)) ||
    (query.endTime !== undefined && parseTimestamp(query.endTime) !== Date.parse(cursor.endTime)) ||
    (query.eventType !== undefined && query.eventType !== cursor.eventType) ||
    (query.serviceName !== undefined && query.serviceName !== cursor.serviceName);
  if (differs) throw mismatch("cursor", "the cursor was made for other filters; drop the cursor or the filters");
}

function mismatch(path: string, message: string) {
  return new ApiError("validation_failed", "Request validation failed", { details: [{ path, message }] });
}
