import { z } from "@hono/zod-openapi";
import { EventTypeSchema, ServiceNameSchema } from "../events/event-schema";
import { QSchema } from "../query/search.schemas";
import { MAX_TOKEN_LENGTH } from "./token-auth";

/** GET /tail's query: /query's filters, `where` as JSON text (a query string holds no arrays of objects). */
export const TailQuerySchema = z.object({
  serviceName: ServiceNameSchema.optional().openapi({ description: "Exact, case-sensitive service name" }),
  eventType: EventTypeSchema.optional(),
  q: QSchema.optional(),
  where: z
    .string()
    .max(256 * 1024)
    .optional()
    .openapi({ description: "The conditions of /query's `where`, as JSON text", example: '[{"field":"level","op":"eq","value":"error"}]' }),
  token: z
    .string()
    .max(MAX_TOKEN_LENGTH)
    .optional()
    .openapi({ description: "From POST /tail/token, for clients that cannot send X-API-Key (the browser's EventSource); never the key itself" }),
  lastEventId: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: "Resume after this event id, as the Last-Event-ID header does (the header wins)" }),
});

export type TailQuery = z.infer<typeof TailQuerySchema>;

export const TailTokenSchema = z
  .object({
    token: z.string().openapi({ description: "Pass as `token` to GET /tail; opens tails of your tenant until it expires" }),
    expiresAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("TailToken");
