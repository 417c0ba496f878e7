/** A known data set for the explorer's browser tests, and the answers the page must show for it. */

const HOUR = 3_600_000;
export const SERVICES = ["checkout-api", "web-frontend", "ledger-worker"] as const;
const TYPES = ["log", "metric", "trace"] as const;

export interface SentEvent {
  eventId: string;
  eventType: (typeof TYPES)[number];
  serviceName: string;
  timestamp: string;
  payload: Record<string, unknown>;
}

function payloadFor(i: number, type: SentEvent["eventType"], service: string): Record<string, unknown> {
  if (type === "log") return { message: `request ${i} handled`, level: i % 7 === 0 ? "warn" : "info", route: "/cart", status: 200 + (i % 5) };
  if (type === "metric") return { name: "http.server.duration", value: Math.round(i * 1.7 * 100) / 100, unit: "ms", tags: { region: "eu-west-1", service } };
  return {
    name: `GET /orders/${i}`,
    traceId: `trace-${String(i).padStart(4, "0")}`,
    durationMs: 12 + (i % 40),
    attributes: { http: { method: "GET", status: i % 9 === 0 ? 500 : 200 }, retries: [1, 2], cached: false, note: null },
  };
}

/**
 * 130 events spread over five whole hours that end at the last full hour, in
 * three services with different volumes (65/39/26) and three types; plus 3
 * older events outside that window.
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
    payload: { message: "before the window" },
  }));
  return { events, outside, from: new Date(windowStart).toISOString(), to: new Date(lastHour).toISOString() };
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
