import type { ErrorDetail } from "../http/api-error";
import type { NewEvent } from "../storage/event-store";
import { EventSchema, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH, storableTextProblem } from "./event-schema";
import { isCanonicalTimestamp, parseTimestamp } from "./timestamp";

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_DETAILS = 100;

export type ValidationOutcome =
  | { ok: true; events: NewEvent[] }
  | { ok: false; details: ErrorDetail[] };

/**
 * Validates a whole batch. All or nothing: one bad event fails the batch, and
 * the answer lists what is wrong (up to 100 problems) with index and path.
 */
export function validateEvents(items: unknown[], now: number): ValidationOutcome {
  const events: NewEvent[] = new Array(items.length);
  const details: ErrorDetail[] = [];
  const latest = now + DAY_MS;

  for (let index = 0; index < items.length && details.length < MAX_DETAILS; index++) {
    const parsed = EventSchema.safeParse(items[index]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        details.push({ index, path: issue.path.join(".") || "(event)", message: issue.message });
      }
      continue;
    }
    const { eventId, eventType, serviceName, timestamp, payload = {} } = parsed.data;

    const ms = parseTimestamp(timestamp);
    if (ms < 0 || ms > latest) {
      details.push({ index, path: "timestamp", message: "must be between 1970-01-01T00:00:00Z and 24 hours from now" });
      continue;
    }
    const payloadProblem = findPayloadProblem(payload);
    if (payloadProblem) {
      details.push({ index, path: payloadProblem.path, message: payloadProblem.message });
      continue;
    }
    const payloadJson = JSON.stringify(payload);
    if (Buffer.byteLength(payloadJson, "utf8") > MAX_PAYLOAD_BYTES) {
      details.push({ index, path: "payload", message: `must be at most ${MAX_PAYLOAD_BYTES} bytes serialized` });
      continue;
    }
    // Most clients already send toISOString()'s form; only others are rewritten.
    const stored = isCanonicalTimestamp(timestamp) ? timestamp : new Date(ms).toISOString();
    events[index] = { eventId, eventType, serviceName, timestamp: stored, payloadJson };
  }
  return details.length > 0 ? { ok: false, details } : { ok: true, events };
}

/**
 * Walks a payload for what PostgreSQL's jsonb cannot hold or what we refuse:
 * NUL characters, lone surrogates, non-finite numbers, nesting deeper than
 * MAX_PAYLOAD_DEPTH. Recursion is bounded by that depth.
 */
function findPayloadProblem(value: unknown, path = "payload", depth = 1): { path: string; message: string } | undefined {
  if (typeof value === "string") {
    const problem = storableTextProblem(value);
    return problem ? { path, message: problem } : undefined;
  }
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : { path, message: "numbers must be finite" };
  }
  if (typeof value !== "object" || value === null) return undefined;
  if (depth > MAX_PAYLOAD_DEPTH) return { path, message: `nesting deeper than ${MAX_PAYLOAD_DEPTH} levels` };

  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findPayloadProblem(value[i], `${path}.${i}`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const keyProblem = storableTextProblem(key);
    if (keyProblem) return { path: `${path}.${key}`, message: `key ${keyProblem}` };
    const problem = findPayloadProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}
