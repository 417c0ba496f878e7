import type { Context } from "hono";
import type { z } from "zod";
import { parseTimestamp } from "../events/timestamp";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { readJsonBody } from "../http/json-body";
import { withSpan } from "../http/middleware/tracing";
import { DeleteRequestSchema, MAX_USAGE_DAYS, type UsageQuerySchema } from "./lifecycle.routes";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Delete bodies are small; this bounds what is read before validation. */
const MAX_DELETE_BODY_BYTES = 64 * 1024;

export async function handleDelete(c: Context<AppEnv>) {
  const request = await readJsonBody(c, DeleteRequestSchema, MAX_DELETE_BODY_BYTES);
  const { store, logger } = c.get("deps");
  const tenantId = c.get("tenantId");
  // A large delete takes longer than the server's idle timeout allows a
  // silent connection: this request may take as long as it needs.
  (c.env as { timeout?: (request: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
  const filter = {
    tenantId,
    startTime: new Date(parseTimestamp(request.startTime)),
    endTime: new Date(parseTimestamp(request.endTime)),
    eventType: request.eventType,
    serviceName: request.serviceName,
  };
  const deleted = await withSpan(c, "db.delete", { "db.system": "postgresql" }, () => store.deleteEvents(filter));
  // The audit line: who deleted what (the key by its fingerprint, never itself).
  logger.info(
    {
      requestId: c.get("requestId"),
      tenant: tenantId,
      keyFingerprint: c.get("keyFingerprint"),
      startTime: filter.startTime.toISOString(),
      endTime: filter.endTime.toISOString(),
      ...(filter.serviceName !== undefined ? { serviceName: filter.serviceName } : {}),
      ...(filter.eventType !== undefined ? { eventType: filter.eventType } : {}),
      deleted,
    },
    "events deleted",
  );
  return c.json({ deleted }, 200);
}

export async function handleUsage(c: Context<AppEnv>, query: z.infer<typeof UsageQuerySchema>) {
  const { store, now = Date.now } = c.get("deps");
  const end = query.endTime ? parseTimestamp(query.endTime) : now();
  const start = query.startTime ? parseTimestamp(query.startTime) : end - 29 * DAY_MS;
  if (start > end) throw invalid("startTime", "startTime must not be after endTime");
  const fromDay = new Date(start).toISOString().slice(0, 10);
  const toDay = new Date(end).toISOString().slice(0, 10);
  if ((Date.parse(toDay) - Date.parse(fromDay)) / DAY_MS + 1 > MAX_USAGE_DAYS) {
    throw invalid("startTime", `the window spans more than ${MAX_USAGE_DAYS} days`);
  }
  const data = await store.usage(c.get("tenantId"), fromDay, toDay);
  const total = data.reduce(
    (sum, d) => ({ events: sum.events + d.events, duplicates: sum.duplicates + d.duplicates, bytes: sum.bytes + d.bytes, rateLimited: sum.rateLimited + d.rateLimited }),
    { events: 0, duplicates: 0, bytes: 0, rateLimited: 0 },
  );
  return c.json({ data, total }, 200);
}

function invalid(path: string, message: string) {
  return new ApiError("validation_failed", "Request validation failed", { details: [{ path, message }] });
}
