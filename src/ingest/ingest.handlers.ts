import type { Context } from "hono";
import { ApiError } from "../http/api-error";
import { retentionDaysOf } from "../config";
import type { AppEnv } from "../http/context";
import { withSpan } from "../http/middleware/tracing";
import { bodyFormat, parseEvents, type BodyFormat } from "./parse-events";
import { readBody } from "../http/read-body";
import { validateEvents } from "./validate-events";
import { committedEvents } from "../tail/committed-events";

export async function handleIngest(c: Context<AppEnv>) {
  const format = bodyFormat(c.req.header("content-type"));
  const bytes = await readBody(c.req.raw, c.get("deps").config.MAX_BODY_BYTES);
  // Parsed events take many times the body's bytes: see http/body-budget.ts.
  const { ingested, duplicates } = await c.get("bodyBudget").run(bytes.byteLength, () => ingestBody(c, bytes, format));
  c.set("ingestStats", { ingested, duplicates });
  return c.json({ ingested, duplicates, message: "Events ingested successfully" }, 200);
}

/** Parses, validates and stores one body: all of its events, or none. */
async function ingestBody(c: Context<AppEnv>, bytes: Uint8Array, format: BodyFormat) {
  const { config, store, tail, now = Date.now } = c.get("deps");
  const items = parseEvents(bytes, format);
  if (items.length > config.MAX_BATCH) {
    throw new ApiError("batch_too_large", `A batch holds at most ${config.MAX_BATCH} events; this one has ${items.length}`);
  }

  const outcome = validateEvents(items, now(), retentionDaysOf(config, c.get("tenantId")));
  if (!outcome.ok) {
    throw new ApiError("validation_failed", `${outcome.details.length} problem(s) in the batch; nothing was stored`, {
      details: outcome.details,
    });
  }

  const result = await withSpan(c, "db.ingest", { "db.system": "postgresql", "tv.events": outcome.events.length }, () =>
    store.ingest(c.get("tenantId"), outcome.events),
  );
  if (result.ingested > 0) tail?.publisher.publish(c.get("tenantId"), result.ingested, () => committedEvents(outcome.events, result.committed));
  return result;
}
