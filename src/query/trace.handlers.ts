import type { Context } from "hono";
import type { z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { withSpan } from "../http/middleware/tracing";
import { decodeTraceCursor, encodeTraceCursor } from "./cursor";
import { MAX_LIMIT, type TraceParamsSchema, type TraceQuerySchema } from "./query.schemas";

export async function handleTrace(c: Context<AppEnv>, params: z.infer<typeof TraceParamsSchema>, query: z.infer<typeof TraceQuerySchema>) {
  const { store } = c.get("deps");
  const tenantId = c.get("tenantId");
  const traceId = params.traceId.toLowerCase();
  const cursor = query.cursor === undefined ? undefined : decodeTraceCursor(query.cursor, tenantId, traceId);
  if (cursor && query.limit !== undefined && query.limit !== cursor.limit) {
    throw new ApiError("validation_failed", "Request validation failed", {
      details: [{ path: "limit", message: "differs from the cursor's; drop the field or the cursor" }],
    });
  }
  const limit = cursor?.limit ?? query.limit ?? MAX_LIMIT;
  const { events, more, truncated } = await withSpan(c, "db.query.trace", { "db.system": "postgresql" }, () =>
    store.traceEvents(tenantId, traceId, limit, cursor?.after),
  );
  const last = events.at(-1);
  const nextCursor = last && more ? encodeTraceCursor(tenantId, traceId, { limit, after: { timestamp: last.timestamp, eventId: last.eventId } }) : null;
  return c.json({ traceId, data: events, nextCursor, ...(truncated ? { truncated: true as const } : {}) }, 200);
}
