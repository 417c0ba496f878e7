import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../http/api-error";
import { apiKeySecurity } from "../http/router";
import { QueryRequestSchema, QueryResponseSchema, TraceParamsSchema, TracePageSchema, TraceQuerySchema } from "./query.schemas";

export const queryRoute = createRoute({
  method: "post",
  path: "/query",
  tags: ["Query"],
  summary: "List or count the tenant's events in a time window",
  description:
    "Without groupBy: events newest first (timestamp, then eventId, descending), paged by `page` or by `cursor`. " +
    "With groupBy: event counts per service, per event type or per value of a payload field. With interval: counts " +
    "per time bucket (and per groupBy key). `q` searches the text of events and `where` tests payload fields; both " +
    "compose with everything else. The window is inclusive at both ends; counts are exact.",
  security: apiKeySecurity,
  request: {
    body: { required: false, content: { "application/json": { schema: QueryRequestSchema } } },
  },
  responses: {
    200: { description: "Events or counts", content: { "application/json": { schema: QueryResponseSchema } } },
    ...errorResponses(400, 401, 413, 415, 429, 500, 503),
  },
});

export const traceRoute = createRoute({
  method: "get",
  path: "/traces/{traceId}",
  tags: ["Query"],
  summary: "Every event of one trace",
  description:
    "The tenant's events carrying the trace id, oldest first, whenever they happened: OTLP spans and logs, and /ingest " +
    "events whose payload has a top-level traceId or trace_id string. Unknown trace ids answer 200 with no events.",
  security: apiKeySecurity,
  request: { params: TraceParamsSchema, query: TraceQuerySchema },
  responses: {
    200: { description: "The trace's events", content: { "application/json": { schema: TracePageSchema } } },
    ...errorResponses(400, 401, 429, 500, 503),
  },
});
