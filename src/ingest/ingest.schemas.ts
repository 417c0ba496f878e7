import { z } from "@hono/zod-openapi";
import { EventSchema } from "../events/event-schema";

/** /ingest's body and answer, as documented; each event is validated with EventSchema. */
export const IngestBodySchema = z
  .union([EventSchema, z.array(EventSchema).min(1)])
  .openapi("IngestBody", { description: "One event or an array of events; or NDJSON, one event per line" });

export const IngestResponseSchema = z
  .object({
    ingested: z.number().int().openapi({ description: "Events newly stored" }),
    duplicates: z.number().int().openapi({ description: "Events already stored, or repeated within the request" }),
    message: z.string().openapi({ example: "Events ingested successfully" }),
  })
  .openapi("IngestResponse");
