import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../http/api-error";
import { apiKeySecurity } from "../http/router";
import { QueryRequestSchema, QueryResponseSchema } from "./query.schemas";

export const queryRoute = createRoute({
  method: "post",
  path: "/query",
  tags: ["Query"],
  summary: "List or count the tenant's events in a time window",
  description:
    "Without groupBy: events newest first (timestamp, then eventId, descending), paged by `page` or by `cursor`. " +
    "With groupBy: event counts per service or per event type. With interval: counts per time bucket " +
    "(and per groupBy key). The window is inclusive at both ends; counts are exact.",
  security: apiKeySecurity,
  request: {
    body: { required: false, content: { "application/json": { schema: QueryRequestSchema } } },
  },
  responses: {
    200: { description: "Events or counts", content: { "application/json": { schema: QueryResponseSchema } } },
    ...errorResponses(400, 401, 413, 415, 429, 500, 503),
  },
});
