/// <reference lib="dom" />
/**
 * The live stream: new events as they are stored, from GET /tail
 * (Server-Sent Events). EventSource cannot send headers, so the key buys a
 * short-lived token first (POST /tail/token) and the token goes in the URL.
 *
 * EventSource reconnects by itself after a dropped connection, sending
 * Last-Event-ID. It does not after the server ends the stream (`event: end`,
 * e.g. the token expired) or refuses it (401): then this file buys a new
 * token and reopens with `lastEventId=<last id>`, so nothing is missed.
 */
import { QueryProblem, tailToken, type StoredEvent } from "./api";
import type { Condition } from "./state";

export interface TailFilters {
  serviceName?: string;
  eventType?: string;
  q?: string;
  where?: Condition[];
}

export type LiveStatus = "connecting" | "live" | "reconnecting" | "off";

export interface LiveStreamOptions {
  key: () => string;
  onEvent: (event: StoredEvent) => void;
  /** The server skipped `count` events because this page read too slowly. */
  onDropped: (count: number) => void;
  onStatus: (status: LiveStatus, detail?: string) => void;
  /** The stream cannot run (key refused, no /tail on this server): it has stopped. */
  onFailure: (error: QueryProblem) => void;
}

/** Waits between attempts to reopen, longer each time the server keeps failing. */
const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000];

export function tailUrl(token: string, filters: TailFilters, lastEventId?: string): string {
  const params = new URLSearchParams({ token });
  if (filters.serviceName) params.set("serviceName", filters.serviceName);
  if (filters.eventType) params.set("eventType", filters.eventType);
  if (filters.q) params.set("q", filters.q);
  if (filters.where?.length) params.set("where", JSON.stringify(filters.where));
  if (lastEventId) params.set("lastEventId", lastEventId);
  return `/tail?${params}`;
}

export function createLiveStream(options: LiveStreamOptions) {
  let source: EventSource | undefined;
  let filters: TailFilters = {};
  let lastEventId: string | undefined;
  let running = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function closeSource() {
    source?.close();
    source = undefined;
    if (timer) clearTimeout(timer);
    timer = undefined;
  }

  function reopenLater(detail?: string) {
    closeSource();
    options.onStatus("reconnecting", detail);
    const wait = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
    attempt += 1;
    timer = setTimeout(() => void open(), wait);
  }

  async function open() {
    closeSource();
    if (!running) return;
    options.onStatus(lastEventId ? "reconnecting" : "connecting");
    let token: string;
    try {
      token = (await tailToken(options.key())).token;
    } catch (error) {
      if (!running) return;
      const fatal = error instanceof QueryProblem && (error.kind === "unauthorized" || error.kind === "not_found" || error.kind === "invalid");
      if (fatal) {
        stop();
        options.onFailure(error);
      } else reopenLater(error instanceof Error ? error.message : undefined);
      return;
    }
    if (!running) return;
    const stream = (source = new EventSource(tailUrl(token, filters, lastEventId)));
    stream.onopen = () => {
      attempt = 0;
      options.onStatus("live");
    };
    stream.onmessage = (message) => {
      if (message.lastEventId) lastEventId = message.lastEventId;
      let event: StoredEvent;
      try {
        event = JSON.parse(message.data) as StoredEvent;
      } catch {
        return; // not an event: nothing to show
      }
      options.onEvent(event);
    };
    stream.addEventListener("dropped", (message) => {
      const count = Number((JSON.parse((message as MessageEvent).data) as { count?: unknown }).count);
      if (Number.isFinite(count) && count > 0) options.onDropped(count);
    });
    stream.addEventListener("end", (message) => {
      let reason: string | undefined;
      try {
        reason = String((JSON.parse((message as MessageEvent).data) as { reason?: unknown }).reason ?? "");
      } catch {
        reason = undefined;
      }
      // A new token and the last id: EventSource would retry with the old token.
      if (source === stream) reopenLater(reason || undefined);
    });
    stream.onerror = () => {
      if (source !== stream) return;
      // CLOSED: refused (401 once the token expired, or any non-200); CONNECTING: EventSource is already retrying.
      if (stream.readyState === EventSource.CLOSED) reopenLater();
      else options.onStatus("reconnecting");
    };
  }

  function stop() {
    running = false;
    closeSource();
    options.onStatus("off");
  }

  return {
    get running() {
      return running;
    },
    /** Starts, or restarts with other filters (from now: the page has just loaded the view); false when already streaming them. */
    start(next: TailFilters): boolean {
      const same = running && JSON.stringify(next) === JSON.stringify(filters);
      if (same) return false;
      filters = next;
      running = true;
      attempt = 0;
      lastEventId = undefined;
      void open();
      return true;
    },
    stop,
  };
}
