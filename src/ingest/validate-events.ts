import { EventSchema } from "../events/event-schema";
import type { NewEvent } from "../events/event-types";
import { MAX_LEVEL_LENGTH, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH, storableTextProblem } from "../events/limits";
import { normalizeEvent } from "../events/normalize";
import { traceIdOf } from "../events/search";
import { numberExpansion, storedNumberLength } from "../events/stored-size";
import { isCanonicalTimestamp, parseTimestamp } from "../events/timestamp";
import type { ErrorDetail } from "../http/api-error";

const MAX_DETAILS = 100;

export type ValidationOutcome =
  | { ok: true; events: NewEvent[] }
  | { ok: false; details: ErrorDetail[] };

/**
 * Validates a whole batch. All or nothing: one bad event fails the batch, and
 * the answer lists what is wrong (up to 100 problems) with index and path.
 */
export function validateEvents(items: unknown[], now: number, retentionDays?: number): ValidationOutcome {
  const events: NewEvent[] = new Array(items.length);
  const details: ErrorDetail[] = [];

  for (let index = 0; index < items.length && details.length < MAX_DETAILS; index++) {
    const parsed = EventSchema.safeParse(items[index]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        details.push({ index, path: issue.path.join(".") || "(event)", message: issue.message });
      }
      continue;
    }
    const { eventId, eventType, serviceName, timestamp, payload = {} } = parsed.data;
    const inspection = inspectPayload(payload);
    if (inspection.problem) {
      details.push({ index, ...inspection.problem });
      continue;
    }
    // The level is a key of the count tables (sql/007 level_key).
    if (typeof payload.level === "string" && payload.level.length > MAX_LEVEL_LENGTH) {
      details.push({ index, path: "payload.level", message: `must be at most ${MAX_LEVEL_LENGTH} characters` });
      continue;
    }
    const payloadJson = JSON.stringify(payload);
    const storedBytes = Buffer.byteLength(payloadJson, "utf8") + inspection.expansion;
    if (storedBytes > MAX_PAYLOAD_BYTES) {
      details.push({ index, ...oversizeProblem(storedBytes, inspection) });
      continue;
    }
    const normalized = normalizeEvent(
      {
        eventId,
        eventType,
        serviceName,
        timestampMs: parseTimestamp(timestamp),
        // Most clients already send toISOString()'s form; only others are rewritten.
        timestampText: isCanonicalTimestamp(timestamp) ? timestamp : undefined,
        payloadJson,
        payloadBytes: storedBytes,
        payloadStrings: inspection.strings,
        traceId: traceIdOf(payload),
      },
      now,
      retentionDays,
    );
    if (normalized.problem) details.push({ index, ...normalized.problem });
    else events[index] = normalized.event;
  }
  return details.length > 0 ? { ok: false, details } : { ok: true, events };
}

interface PayloadInspection {
  problem?: { path: string; message: string };
  /** Every string value, for the search text (events/search.ts). */
  strings: string[];
  /** Bytes jsonb needs beyond JSON.stringify's text, for numbers it keeps as plain decimals. */
  expansion: number;
  /** The number that grows the most when stored, if any grows. */
  widest?: { path: string; value: number; extra: number };
}

/**
 * Walks a payload for what PostgreSQL's jsonb cannot hold or what we refuse
 * (NUL characters, lone surrogates, non-finite numbers, nesting deeper than
 * MAX_PAYLOAD_DEPTH) and adds up how much its numbers grow when stored.
 * Recursion is bounded by that depth.
 */
function inspectPayload(payload: Record<string, unknown>): PayloadInspection {
  const result: PayloadInspection = { expansion: 0, strings: [] };
  const visit = (value: unknown, path: string, depth: number): boolean => {
    if (typeof value === "string") {
      const problem = storableTextProblem(value);
      if (problem) result.problem = { path, message: problem };
      result.strings.push(value);
      return !problem;
    }
    if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        result.problem = { path, message: "numbers must be finite" };
        return false;
      }
      const extra = numberExpansion(value);
      if (extra > 0) {
        result.expansion += extra;
        if (!result.widest || extra > result.widest.extra) result.widest = { path, value, extra };
      }
      return true;
    }
    if (typeof value !== "object" || value === null) return true;
    if (depth > MAX_PAYLOAD_DEPTH) {
      result.problem = { path, message: `nesting deeper than ${MAX_PAYLOAD_DEPTH} levels` };
      return false;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (!visit(value[i], `${path}.${i}`, depth + 1)) return false;
      return true;
    }
    for (const key of Object.keys(value)) {
      const keyProblem = storableTextProblem(key);
      if (keyProblem) {
        result.problem = { path: `${path}.${key}`, message: `key ${keyProblem}` };
        return false;
      }
      if (!visit((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1)) return false;
    }
    return true;
  };
  visit(payload, "payload", 1);
  return result;
}

/** Names the number to blame when numbers push the stored payload over the limit. */
function oversizeProblem(storedBytes: number, inspection: PayloadInspection): { path: string; message: string } {
  const limit = `must be at most ${MAX_PAYLOAD_BYTES} bytes as stored`;
  const widest = inspection.widest;
  if (!widest || storedBytes - inspection.expansion > MAX_PAYLOAD_BYTES) return { path: "payload", message: `${limit} (${storedBytes} bytes)` };
  return {
    path: widest.path,
    message:
      `${limit}: numbers are stored as exact decimals, and ${widest.value} takes ${storedNumberLength(widest.value)} digits, ` +
      `so the payload would take ${storedBytes} bytes; send it as a string, or round it`,
  };
}
