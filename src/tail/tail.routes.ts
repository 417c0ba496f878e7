import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../http/api-error";
import { apiKeySecurity } from "../http/router";
import { TailQuerySchema, TailTokenSchema } from "./tail.schemas";

export const tailRoute = createRoute({
  method: "get",
  path: "/tail",
  tags: ["Query"],
  summary: "Follow the tenant's events as they are committed (Server-Sent Events)",
  description:
    "Every event committed after the stream opens, through any replica, that matches the filters (those of POST /query). " +
    "Each SSE message is one event: `id` (send it back as Last-Event-ID to resume with no gap and no repeat) and `data`, " +
    "the event as /query returns it. `event: dropped` (data {count, reason}) says events were left out: the client read " +
    "too slowly, or the resume point is older than what is kept. `event: end` (data {reason}) closes the stream; " +
    "reconnect to go on. A comment every TAIL_HEARTBEAT_S seconds keeps proxies from closing an idle stream.",
  security: [...apiKeySecurity, { TailToken: [] }],
  request: { query: TailQuerySchema },
  responses: {
    200: { description: "The event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...errorResponses(400, 401, 429, 500, 503),
  },
});

export const tailTokenRoute = createRoute({
  method: "post",
  path: "/tail/token",
  tags: ["Query"],
  summary: "A short-lived token to open tails from a browser",
  description: "EventSource cannot send headers: it opens GET /tail?token=… instead, so the API key never appears in a URL.",
  security: apiKeySecurity,
  responses: {
    200: { description: "The token", content: { "application/json": { schema: TailTokenSchema } } },
    ...errorResponses(401, 429, 500, 503),
  },
});
