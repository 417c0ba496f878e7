/** Known data sets for the explorer's browser tests, and the answers the page must show for them. */

const HOUR = 3_600_000;
const MINUTE = 60_000;
export const SERVICES = ["checkout-api", "web-frontend", "ledger-worker"] as const;
const TYPES = ["log", "metric", "trace"] as const;

export interface SentEvent {
  eventId: string;
  eventType: (typeof TYPES)[number];
  serviceName: string;
  timestamp: string;
  payload: Record<string, unknown>;
}

export const traceIdFor = (n: number) => `trace-${String(n).padStart(4, "0")}`;

/** A long user agent and id: in jsonb's key order (short keys first) they come before level and message. */
const NOISE = {
  ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  id: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
};

function payloadFor(i: number, type: SentEvent["eventType"], service: string): Record<string, unknown> {
  if (type === "log") {
    const failed = i % 13 === 0;
    return {
      ...(failed ? NOISE : {}),
      message: failed ? `request ${i} failed: payment declined` : `request ${i} handled`,
      level: failed ? "error" : i % 7 === 0 ? "warn" : i % 11 === 0 ? "debug" : "info",
      route: "/cart",
      status: failed ? 502 : 200 + (i % 5),
      // Every sixth log belongs to a trace, with the traces below.
      ...(i % 6 === 0 ? { trace_id: traceIdFor(i / 6) } : {}),
    };
  }
  if (type === "metric") return { name: "http.server.duration", value: Math.round(i * 1.7 * 100) / 100, unit: "ms", tags: { region: "eu-west-1", service } };
  return {
    name: `GET /orders/${i}`,
    traceId: traceIdFor(Math.floor(i / 6)),
    durationMs: 12 + (i % 40),
    attributes: { http: { method: "GET", status: i % 9 === 0 ? 500 : 200 }, retries: [1, 2], cached: false, note: null },
  };
}

/**
 * 130 events spread over five whole hours that end at the last full hour, in
 * three services with different volumes (65/39/26) and three types; logs with
 * levels (4 errors), spans and logs sharing trace ids; plus 3 older events
 * outside that window.
 */
export function makeDataSet(now = Date.now()) {
  const lastHour = Math.floor(now / HOUR) * HOUR;
  const windowStart = lastHour - 6 * HOUR;
  const first = lastHour - 5 * HOUR;
  const events: SentEvent[] = [];
  for (let i = 0; i < 130; i++) {
    const type = TYPES[i % 3]!;
    const service = SERVICES[i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2];
    const ms = first + Math.floor((i * 5 * HOUR) / 130) + ((i * 137) % 1000);
    events.push({ eventId: `evt-${String(i).padStart(4, "0")}`, eventType: type, serviceName: service, timestamp: new Date(ms).toISOString(), payload: payloadFor(i, type, service) });
  }
  const outside: SentEvent[] = [0, 1, 2].map((i) => ({
    eventId: `old-${i}`,
    eventType: "log",
    serviceName: "checkout-api",
    timestamp: new Date(lastHour - 8 * HOUR + i * 60_000).toISOString(),
    payload: { message: "before the window", level: "info" },
  }));
  return { events, outside, from: new Date(windowStart).toISOString(), to: new Date(lastHour).toISOString() };
}

/** Another tenant's events: other services, so the first tenant's filters find nothing there. */
export function makeOtherTenantSet(now = Date.now()): SentEvent[] {
  return Array.from({ length: 20 }, (_, i) => ({
    eventId: `other-${i}`,
    eventType: "log" as const,
    serviceName: i % 2 ? "billing-api" : "billing-worker",
    timestamp: new Date(now - (i + 1) * 10 * MINUTE).toISOString(),
    payload: { message: `invoice ${i} sent`, level: "info" },
  }));
}

export const BIDI_SERVICE = "\u202Ebidi-svc";
export const LONG_SERVICE = `l${"o".repeat(126)}g`;
export const PADDED_SERVICE = " padded ";
export const CASED_SERVICE = "Checkout";
export const BIDI_MESSAGE = "\u202Eevil";

/**
 * Data as it comes from the field, for one tenant over the last 24 hours:
 * 300 services, one 128 characters long without a space, one with a U+202E
 * (right-to-left override) in it, one with spaces at both ends, one that
 * differs from a lowercase name only in case; a "ticker" service with a
 * metric every 5 minutes (280 chart buckets); and OpenTelemetry-style levels
 * in `severityText` only.
 */
export function makeMessyDataSet(now = Date.now()) {
  const FIVE = 5 * MINUTE;
  const lastSlot = Math.floor(now / FIVE) * FIVE;
  const events: SentEvent[] = [];
  const log = (eventId: string, serviceName: string, ms: number, payload: Record<string, unknown>, eventType: SentEvent["eventType"] = "log") =>
    events.push({ eventId, eventType, serviceName, timestamp: new Date(ms).toISOString(), payload });

  for (let i = 0; i < 280; i++) log(`m-${i}`, "ticker", lastSlot - (i + 1) * FIVE + 2000, { name: "queue.depth", value: i % 17, unit: "items" }, "metric");
  for (let i = 0; i < 295; i++) log(`s-${i}`, `svc-${String(i).padStart(3, "0")}`, lastSlot - (i + 1) * 4 * MINUTE - 17_000, { severityText: "INFO", body: "hello" });
  // Twelve in one 5-minute bucket: the tooltip must read 12, not 21.
  for (let i = 0; i < 12; i++) log(`bidi-${i}`, BIDI_SERVICE, lastSlot - 2 * FIVE + 10_000 + i * 1000, { severityText: "INFO", body: BIDI_MESSAGE, code: 12 });
  for (let i = 0; i < 2; i++) log(`long-${i}`, LONG_SERVICE, lastSlot - 4 * FIVE + 5000 + i, { severityText: "INFO", body: "long name" });
  for (let i = 0; i < 3; i++) log(`padded-${i}`, PADDED_SERVICE, lastSlot - 5 * FIVE + 5000 + i, { severityText: "INFO", body: "padded name" });
  for (let i = 0; i < 2; i++) log(`cased-${i}`, CASED_SERVICE, lastSlot - 6 * FIVE + 5000 + i, { severityText: "ERROR", body: "cased name" });
  return events;
}

/** Events per bucket start (ISO), as the time-bucket query counts them. */
export function expectedBuckets(events: SentEvent[], intervalMs: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) {
    const bucket = new Date(Math.floor(Date.parse(event.timestamp) / intervalMs) * intervalMs).toISOString();
    counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  return counts;
}

export const newestFirst = (events: SentEvent[]) =>
  [...events].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || b.eventId.localeCompare(a.eventId));

export const oldestFirst = (events: SentEvent[]) => newestFirst(events).reverse();
