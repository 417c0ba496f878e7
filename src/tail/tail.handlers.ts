import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import { stream } from "hono/streaming";
import { findTooDeep } from "../events/json-text";
import { ApiError, serviceUnavailable } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { zodIssuesToDetails } from "../http/router";
import { searchTerms, WhereSchema } from "../query/search.schemas";
import type { FieldCondition } from "../storage/event-store";
import type { LiveTail } from "./live-tail";
import { eventMatcher } from "./matcher";
import { REFRESH_MS } from "./tail-log";
import { parsePosition, TailSubscription, type TailMessage, type TailPosition } from "./tail-subscription";
import type { TailQuery } from "./tail.schemas";

/** How long an ended tail may go without a write taken before the stream is cut. */
const END_WRITE_MS = 1000;

/**
 * How long an opening tail waits after telling the replicas, so a publisher
 * that had just found the tenant "not live" hears of it before the tail
 * counts as open (Redis only; in one process the news is immediate).
 */
const OPEN_GRACE_MS = 100;

export async function handleTailToken(c: Context<AppEnv>) {
  const { config } = c.get("deps");
  const token = await liveTail(c).log.issueToken(c.get("tenantId"), config.TAIL_TOKEN_TTL_S).catch(unavailable);
  return c.json({ token, expiresAt: new Date(Date.now() + config.TAIL_TOKEN_TTL_S * 1000).toISOString() }, 200);
}

export async function handleTail(c: Context<AppEnv>, query: TailQuery) {
  const { config, store, isShuttingDown } = c.get("deps");
  const tail = liveTail(c);
  const tenantId = c.get("tenantId");
  const matches = eventMatcher({
    eventType: query.eventType,
    serviceName: query.serviceName,
    terms: searchTerms(query.q),
    where: parseWhere(query.where),
  });
  const after = resumePoint(c.req.header("last-event-id") ?? query.lastEventId);

  const holder = randomUUID();
  if (!(await tail.log.acquireSlot(tenantId, holder, config.TAIL_MAX_PER_TENANT).catch(unavailable))) {
    throw new ApiError("too_many_tails", `The tenant already has ${config.TAIL_MAX_PER_TENANT} live tails open; close one or try later`, {
      retryAfterSeconds: 5,
    });
  }
  let subscription: TailSubscription;
  try {
    await tail.log.markLive(tenantId);
    tail.publisher.tenantOpened(tenantId);
    if (tail.log.kind === "redis" && !after) await Bun.sleep(OPEN_GRACE_MS);
    subscription = await TailSubscription.open({
      log: tail.log,
      tenantId,
      after,
      matches,
      fetchByKeys: (keys) => store.eventsByKeys(tenantId, keys),
      maxQueued: config.TAIL_QUEUE_EVENTS,
    });
  } catch (error) {
    await tail.log.releaseSlot(tenantId, holder).catch(() => {});
    unavailable(error);
  }
  tail.open.add(subscription);
  // A tail is idle between events by design: Bun's idle timeout must not cut it (heartbeats keep proxies happy).
  (c.env as { timeout?: (request: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);

  c.header("Content-Type", "text/event-stream; charset=utf-8");
  c.header("Cache-Control", "no-cache, no-transform");
  // nginx and other buffering proxies pass each message on at once.
  c.header("X-Accel-Buffering", "no");
  return stream(c, async (out) => {
    out.onAbort(() => subscription.close());
    // When the last write was taken: heartbeats are due from it. Once the tail is ended (shutdown), a client
    // that goes END_WRITE_MS without taking a write is cut: a write blocked on its full socket would otherwise
    // hold the drain until the hard deadline. One still reading gets its queued messages.
    let progressAt = Date.now();
    const cut = subscription.whenEnded.then(async () => {
      progressAt = Date.now();
      for (let idle = 0; idle < END_WRITE_MS; idle = Date.now() - progressAt) await Bun.sleep(END_WRITE_MS - idle);
      return "cut" as const;
    });
    const send = async (text: string) => {
      if ((await Promise.race([out.write(text), cut])) === "cut") return false;
      progressAt = Date.now();
      return true;
    };
    try {
      await out.write(`retry: 2000\n: open\n\n`);
      const heartbeatMs = config.TAIL_HEARTBEAT_S * 1000;
      let refreshedAt = Date.now();
      for (;;) {
        if (isShuttingDown?.()) subscription.end("the server is shutting down; reconnect to resume");
        // Woken at least every REFRESH_MS, whatever the heartbeat: the slot and live mark expire without refreshes.
        const message = await subscription.next(Math.min(heartbeatMs, REFRESH_MS));
        if (out.aborted) break;
        if ((message || Date.now() - progressAt >= heartbeatMs) && !(await send(message ? format(message) : `: heartbeat ${new Date().toISOString()}\n\n`))) {
          out.abort();
          break;
        }
        if (message?.kind === "end") break;
        if (Date.now() - refreshedAt > REFRESH_MS) {
          refreshedAt = Date.now();
          await tail.log.refreshSlot(tenantId, holder).catch(() => subscription.end("the tail log is unavailable; reconnect to resume"));
        }
      }
    } finally {
      subscription.close();
      tail.open.delete(subscription);
      await tail.log.releaseSlot(tenantId, holder).catch(() => {});
    }
  });
}

function format(message: TailMessage): string {
  switch (message.kind) {
    case "event":
      return `id: ${message.id}\ndata: ${JSON.stringify(message.event)}\n\n`;
    case "dropped":
      return `event: dropped\ndata: ${JSON.stringify({ count: message.count, reason: message.reason })}\n\n`;
    case "end":
      return `event: end\ndata: ${JSON.stringify({ reason: message.reason })}\n\n`;
  }
}

function liveTail(c: Context<AppEnv>): LiveTail {
  const tail = c.get("deps").tail;
  if (!tail) throw serviceUnavailable("live tail is not configured on this server", 30);
  return tail;
}

/** Conditions nest a few levels (an `in` list of values); deeper text is refused before it is parsed. */
const MAX_WHERE_DEPTH = 16;

function parseWhere(text: string | undefined): FieldCondition[] | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    if (findTooDeep(text, MAX_WHERE_DEPTH, "single") !== undefined) throw new Error("too deep");
    value = JSON.parse(text);
  } catch {
    throw invalid([{ path: "where", message: `must be JSON text: an array of conditions, nested at most ${MAX_WHERE_DEPTH} deep` }]);
  }
  const parsed = WhereSchema.safeParse(value);
  if (!parsed.success) throw invalid(zodIssuesToDetails(parsed.error).map((d) => ({ ...d, path: d.path === "(body)" ? "where" : `where.${d.path}` })));
  return parsed.data;
}

function resumePoint(id: string | undefined): TailPosition | undefined {
  if (id === undefined || id === "") return undefined;
  const position = parsePosition(id);
  if (!position) throw invalid([{ path: "lastEventId", message: "not an event id this API sent" }]);
  return position;
}

function invalid(details: { path: string; message: string }[]) {
  return new ApiError("validation_failed", "Request validation failed", { details });
}

function unavailable(error: unknown): never {
  if (error instanceof ApiError) throw error;
  throw serviceUnavailable(`live tail is unavailable: ${(error as Error).message}`, 2);
}
