import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../http/api-error";
import { apiKeySecurity } from "../http/router";
import { IngestBodySchema, IngestResponseSchema } from "./ingest.schemas";

/**
 * The ingest route as documented. Its body is read by the handler itself
 * (gzip, NDJSON, streaming size limit) and validated with the same EventSchema.
 */
export const ingestRoute = createRoute({
  method: "post",
  path: "/ingest",
  tags: ["Ingest"],
  summary: "Store a batch of events",
  description:
    "Stores one event or a batch, all or nothing, in one transaction. The 200 is sent after the commit. " +
    "Repeated (tenant, eventId, timestamp) triples are counted as duplicates and not stored again. " +
    "Accepts application/json or application/x-ndjson, optionally with Content-Encoding: gzip.",
  security: apiKeySecurity,
  request: {
    body: {
      required: true,
      content: {
        "application/json": { schema: IngestBodySchema },
        "application/x-ndjson": { schema: z.string().openapi({ description: "One Event JSON object per line", example: "" }) },
      },
    },
  },
  responses: {
    200: { description: "Events committed", content: { "application/json": { schema: IngestResponseSchema } } },
    ...errorResponses(400, 401, 413, 415, 429, 500, 503),
  },
});
