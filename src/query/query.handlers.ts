import type { Context } from "hono";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { readJsonBody } from "../http/json-body";
import { MIN_TIME_MS } from "../events/limits";
import { parseTimestamp } from "../events/timestamp";
import { withSpan } from "../http/middleware/tracing";
import { BUCKET_MINUTES } from "../events/event-types";
import type { EventFilter, GroupBy, PageRequest } from "../storage/event-store";
import { decodeCursor, encodeCursor, type CursorState } from "./cursor";
import { DEFAULT_LIMIT, MAX_BUCKETS, MAX_QUERY_BODY_BYTES, QueryRequestSchema, type QueryRequest } from "./query.schemas";
import { FIELD_GROUP_PREFIX, searchTerms } from "./search.schemas";

const DAY_MS = 24 * 60 * 60 * 1000;

export async function handleQuery(c: Context<AppEnv>) {
  const query = await readJsonBody(c, QueryRequestSchema, MAX_QUERY_BODY_BYTES);
  const { store, now = Date.now } = c.get("deps");
  const tenantId = c.get("tenantId");

  if (query.interval) {
    if (query.cursor) throw invalid("cursor", "a cursor cannot be combined with interval");
    const filter = resolveFilter(tenantId, query, now());
    if ((filter.endTime.getTime() - filter.startTime.getTime()) / (BUCKET_MINUTES[query.interval] * 60_000) > MAX_BUCKETS) {
      throw invalid("interval", `the window holds more than ${MAX_BUCKETS} buckets of that interval; pick a wider interval`);
    }
    const data = await withSpan(c, "db.query.buckets", { "db.system": "postgresql" }, () =>
      store.timeBuckets(filter, query.interval!, groupByOf(query.groupBy)),
    );
    return c.json({ interval: query.interval, data, total: data.reduce((sum, row) => sum + row.count, 0) }, 200);
  }

  if (query.groupBy) {
    if (query.cursor) throw invalid("cursor", "a cursor cannot be combined with groupBy");
    const filter = resolveFilter(tenantId, query, now());
    const data = await withSpan(c, "db.query.groups", { "db.system": "postgresql" }, () =>
      store.groupCounts(filter, groupByOf(query.groupBy)!),
    );
    return c.json({ data, total: data.reduce((sum, row) => sum + row.count, 0) }, 200);
  }

  const { filter, page } = query.cursor ? fromCursor(tenantId, query, decodeCursor(query.cursor, tenantId)) : fromBody(tenantId, query, now());
  // Free text is resolved once, before the page and its total run side by side.
  const searched =
    filter.terms?.length && page.total !== "none"
      ? await withSpan(c, "db.query.search", { "db.system": "postgresql" }, () => store.resolveSearch(filter))
      : filter;
  const [found, total] = await Promise.all([
    withSpan(c, "db.query.events", { "db.system": "postgresql" }, () => store.findEvents(searched, page)),
    page.total === "none" ? null : withSpan(c, "db.query.count", { "db.system": "postgresql" }, () => store.countEvents(searched)),
  ]);
  const { events, more, truncated } = found;
  const last = events.at(-1);
  const nextCursor =
    last && more
      ? encodeCursor(tenantId, {
          startTime: filter.startTime.toISOString(),
          endTime: filter.endTime.toISOString(),
          ...(filter.eventType ? { eventType: filter.eventType } : {}),
          ...(filter.serviceName ? { serviceName: filter.serviceName } : {}),
          ...(page.q ? { q: page.q } : {}),
          ...(filter.where?.length ? { where: filter.where } : {}),
          ...(page.total === "none" ? { total: page.total } : {}),
          limit: page.limit,
          page: Math.min(page.page + 1, Number.MAX_SAFE_INTEGER - 1),
          after: { timestamp: last.timestamp, eventId: last.eventId },
        })
      : null;
  const pagination = {
    page: page.page,
    limit: page.limit,
    total,
    totalPages: total === null ? null : Math.ceil(total / page.limit),
    hasNext: more,
    hasPrev: page.page > 1,
    ...(truncated ? { truncated: true as const } : {}),
  };
  return c.json({ data: events, pagination, nextCursor }, 200);
}

/** A page request, with what the next page's cursor must carry besides the filter. */
type PageAsked = PageRequest & Pick<QueryRequest, "q" | "total">;

function fromBody(tenantId: string, query: QueryRequest, now: number): { filter: EventFilter; page: PageAsked } {
  return {
    filter: resolveFilter(tenantId, query, now),
    page: { page: query.page ?? 1, limit: query.limit ?? DEFAULT_LIMIT, q: query.q, total: query.total },
  };
}

/**
 * A cursor carries its window, filters and limit. Fields sent next to it
 * must repeat its values (clients often resend their first body with the
 * cursor added); a different value is a client bug, answered 400 naming it.
 */
function fromCursor(tenantId: string, query: QueryRequest, cursor: CursorState): { filter: EventFilter; page: PageAsked } {
  if (query.page !== undefined) throw invalid("page", "cannot be combined with a cursor: the cursor names its page");
  const differs: [keyof QueryRequest, boolean][] = [
    ["startTime", query.startTime !== undefined && parseTimestamp(query.startTime) !== parseTimestamp(cursor.startTime)],
    ["endTime", query.endTime !== undefined && parseTimestamp(query.endTime) !== parseTimestamp(cursor.endTime)],
    ["eventType", query.eventType !== undefined && query.eventType !== cursor.eventType],
    ["serviceName", query.serviceName !== undefined && query.serviceName !== cursor.serviceName],
    ["q", query.q !== undefined && query.q !== (cursor.q ?? "")],
    ["where", query.where !== undefined && JSON.stringify(query.where) !== JSON.stringify(cursor.where ?? [])],
    ["total", query.total !== undefined && query.total !== (cursor.total ?? "exact")],
    ["limit", query.limit !== undefined && query.limit !== cursor.limit],
  ];
  const different = differs.filter(([, d]) => d).map(([field]) => field);
  if (different.length > 0) {
    throw new ApiError("validation_failed", "Request validation failed", {
      details: different.map((path) => ({ path, message: "differs from the cursor's; drop the field or the cursor" })),
    });
  }
  return {
    filter: {
      tenantId,
      startTime: new Date(parseTimestamp(cursor.startTime)),
      endTime: new Date(parseTimestamp(cursor.endTime)),
      eventType: cursor.eventType,
      serviceName: cursor.serviceName,
      terms: searchTerms(cursor.q),
      where: cursor.where,
    },
    page: {
      page: cursor.page,
      limit: cursor.limit,
      after: { timestamp: cursor.after.timestamp, eventId: cursor.after.eventId },
      q: cursor.q,
      total: cursor.total,
    },
  };
}

function resolveFilter(tenantId: string, query: QueryRequest, now: number): EventFilter {
  const endTime = new Date(query.endTime ? parseTimestamp(query.endTime) : now);
  const startTime = new Date(query.startTime ? parseTimestamp(query.startTime) : Math.max(MIN_TIME_MS, endTime.getTime() - DAY_MS));
  if (startTime > endTime) throw invalid("startTime", "startTime must not be after endTime");
  return {
    tenantId,
    startTime,
    endTime,
    eventType: query.eventType,
    serviceName: query.serviceName,
    terms: searchTerms(query.q),
    where: query.where,
  };
}

/** "field:http.status" → { field: "http.status" }. */
function groupByOf(groupBy: QueryRequest["groupBy"]): GroupBy | undefined {
  if (groupBy === undefined || groupBy === "service" || groupBy === "eventType") return groupBy;
  return { field: groupBy.slice(FIELD_GROUP_PREFIX.length) };
}

function invalid(path: string, message: string) {
  return new ApiError("validation_failed", "Request validation failed", { details: [{ path, message }] });
}
