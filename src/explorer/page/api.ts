/**
 * The explorer's calls to the server, each with the user's key in X-API-Key:
 * POST /query, GET /traces/{id} and POST /tail/token (for the live stream).
 */

// The answers' types come from the schemas the server validates and documents them with.
export type { StoredEvent } from "../../events/event-types";
export type { EventsPage, GroupCounts, TimeBuckets } from "../../query/query.schemas";
import type { StoredEvent } from "../../events/event-types";
import type { GroupCounts, TimeBuckets } from "../../query/query.schemas";
export type Bucket = TimeBuckets["data"][number];
export type GroupRow = GroupCounts["data"][number];

export type ProblemKind = "unauthorized" | "rate_limited" | "unreachable" | "unavailable" | "invalid" | "not_found" | "failed";

/** Why a call failed, in terms the page can show. */
export class QueryProblem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly status?: number,
    /** From Retry-After, for rate_limited and unavailable. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

function kindFor(status: number): ProblemKind {
  if (status === 401) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status === 502 || status === 503 || status === 504) return "unavailable";
  if (status === 400 || status === 413 || status === 422) return "invalid";
  return "failed";
}

async function call<T>(path: string, key: string, init: { method: "GET" | "POST"; body?: unknown }, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method,
      headers: { "x-api-key": key, ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new QueryProblem("unreachable", "The server could not be reached");
  }
  if (response.ok) return (await response.json()) as T;

  let message = `${response.status} ${response.statusText}`;
  try {
    const problem = (await response.json()) as { error?: { message?: string; details?: { path: string; message: string }[] } };
    const details = problem.error?.details?.map((d) => `${d.path}: ${d.message}`).join("; ");
    if (problem.error?.message) message = details ? `${problem.error.message} (${details})` : problem.error.message;
  } catch {
    // not our JSON error body (a proxy page, say): keep the status line
  }
  throw new QueryProblem(kindFor(response.status), message, response.status, retryAfterSeconds(response.headers.get("retry-after")));
}

export const query = <T>(key: string, body: Record<string, unknown>, signal?: AbortSignal) => call<T>("/query", key, { method: "POST", body }, signal);

export interface TracePage {
  traceId: string;
  data: StoredEvent[];
  nextCursor: string | null;
  truncated?: true;
}

/** One page of a trace's events, oldest first. */
export function fetchTrace(key: string, traceId: string, cursor?: string | null, signal?: AbortSignal): Promise<TracePage> {
  const params = new URLSearchParams(cursor ? { cursor } : { limit: "200" });
  return call<TracePage>(`/traces/${encodeURIComponent(traceId)}?${params}`, key, { method: "GET" }, signal);
}

/** A short-lived token for GET /tail: EventSource cannot send headers, so the key never goes in its URL. */
export const tailToken = (key: string) => call<{ token: string; expiresAt: string }>("/tail/token", key, { method: "POST" });

/** Retry-After is either delta-seconds or an HTTP date. */
function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : undefined;
}
