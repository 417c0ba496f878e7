/**
 * Synthetic events shared by every phase: 8 services, 3 event types with a
 * skewed mix, realistic payloads (below), random UUID ids (the worst case
 * for the primary-key B-tree, and what clients usually send).
 */
export const SERVICES = ["checkout", "payments", "auth", "search", "inventory", "shipping", "frontend", "notifications"] as const;
export const EVENT_TYPES = ["log", "metric", "trace"] as const;
export type BenchEventType = (typeof EVENT_TYPES)[number];

/** The mix used everywhere: 60% log, 30% metric, 10% trace. */
export function pickType(u: number): BenchEventType {
  return u < 0.6 ? "log" : u < 0.9 ? "metric" : "trace";
}

/** Skewed towards the first services (u² mapping): checkout ~35%, notifications ~6%. */
export function pickService(u: number): string {
  return SERVICES[Math.min(SERVICES.length - 1, Math.floor(SERVICES.length * u * u))]!;
}

/**
 * Realistic payloads, as search meets them: log messages of real words
 * (skewed, so some words are everywhere and others rare), levels, HTTP
 * methods, routes and statuses, durations, user ids and trace ids; metrics
 * and spans shaped like what OpenTelemetry sends. fill.ts builds the same
 * shapes in SQL for the query data set.
 */
export const WORDS = (
  "user order cart payment session cache database connection timeout retry upstream service token account " +
  "invoice shipment checkout inventory search index query response latency error warning failed success started " +
  "completed queued processing worker job batch message event stream partition replica leader follower lock " +
  "transaction commit rollback insert update delete select table row column schema migration deploy release " +
  "version config feature flag experiment metric counter gauge histogram span trace parent child client server " +
  "gateway proxy balancer health check ready alive memory cpu disk network socket packet dropped accepted " +
  "rejected throttled limited quota exceeded expired renewed refreshed created removed archived restored " +
  "customer merchant product price discount coupon tax currency refund charge card declined authorized " +
  "captured settled pending verified email sms push notification template rendered sent delivered bounced " +
  "opened clicked login logout password reset mfa device browser mobile region zone cluster node pod container"
).split(" ");
/** In about one event in 100 000: the "rare word" of the search shapes. */
export const RARE_WORD = "deadlock";
/** Starts about 35% of log messages: the "common word". */
export const COMMON_WORD = "request";
export const LEVELS = ["debug", "info", "warn", "error"] as const;
/** Cumulative shares of LEVELS: 15% debug, 70% info, 10% warn, 5% error. */
export const LEVEL_CUMULATIVE = [0.15, 0.85, 0.95, 1];
export const ROUTES = [
  "/api/orders", "/api/orders/{id}", "/api/cart", "/api/cart/items", "/api/checkout", "/api/payments", "/api/payments/{id}/refund",
  "/api/users/{id}", "/api/login", "/api/logout", "/api/search", "/api/products", "/api/products/{id}", "/api/inventory",
  "/api/shipping/quote", "/api/notifications", "/health", "/metrics", "/api/coupons", "/api/invoices/{id}",
];
export const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
/** Cumulative shares of HTTP statuses. */
export const STATUSES: [number, number][] = [[200, 0.82], [201, 0.88], [204, 0.9], [400, 0.93], [404, 0.96], [429, 0.97], [500, 0.99], [503, 1]];

const pick = <T>(list: readonly T[], u = Math.random()) => list[Math.floor(u * list.length)]!;
const pickCumulative = <T>(values: readonly T[], cumulative: readonly number[], u = Math.random()) => values[cumulative.findIndex((c) => u < c)]!;
const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** 3 to 8 words, skewed towards the first of WORDS. */
export function message(): string {
  const words = Array.from({ length: 3 + Math.floor(Math.random() * 6) }, () => WORDS[Math.floor(WORDS.length * Math.random() ** 2)]!);
  if (Math.random() < 0.35) words.unshift(COMMON_WORD);
  if (Math.random() < 0.00001) words.push(RARE_WORD, "detected");
  return words.join(" ");
}

export function makePayload(type: BenchEventType, traceId = hex(16)): Record<string, unknown> {
  const route = pick(ROUTES);
  if (type === "metric") {
    return { name: "http.server.duration", value: Math.round(Math.random() * 50_000) / 100, unit: "ms", attributes: { route, method: pick(METHODS) } };
  }
  if (type === "trace") {
    return {
      traceId, spanId: hex(8), name: `${pick(METHODS)} ${route}`, kind: "server", durationMs: Math.round(Math.random() * 200_000) / 100,
      status: { code: Math.random() < 0.03 ? "error" : "ok" }, attributes: { "http.route": route, "http.status_code": pickCumulative(STATUSES.map((s) => s[0]), STATUSES.map((s) => s[1])) },
    };
  }
  return {
    level: pickCumulative(LEVELS, LEVEL_CUMULATIVE),
    message: message(),
    http: { method: pick(METHODS), route, status: pickCumulative(STATUSES.map((s) => s[0]), STATUSES.map((s) => s[1])) },
    durationMs: Math.round(Math.random() * 100_000) / 100,
    userId: Math.floor(Math.random() * 100_000),
    ...(Math.random() < 0.5 ? { traceId, spanId: hex(8) } : {}),
  };
}

export interface BenchEvent {
  eventId: string;
  eventType: BenchEventType;
  serviceName: string;
  /** ISO-8601 with milliseconds, UTC. */
  timestamp: string;
  payloadJson: string;
}

/** Timestamps are spread uniformly over [now - spreadMs, now] (events arrive in near real time). */
export function makeEvents(count: number, nowMs: number, spreadMs: number, ids?: string[]): BenchEvent[] {
  const events: BenchEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const eventType = pickType(Math.random());
    events[i] = {
      eventId: ids?.[i] ?? crypto.randomUUID(),
      eventType,
      serviceName: pickService(Math.random()),
      timestamp: new Date(nowMs - Math.floor(Math.random() * spreadMs)).toISOString(),
      payloadJson: JSON.stringify(makePayload(eventType)),
    };
  }
  return events;
}

/** The wire form clients send; built by hand (the fields need no escaping; the payload is JSON already). */
export function eventJson(e: BenchEvent): string {
  return `{"eventId":"${e.eventId}","eventType":"${e.eventType}","serviceName":"${e.serviceName}","timestamp":"${e.timestamp}","payload":${e.payloadJson}}`;
}

const encoder = new TextEncoder();

export function batchBody(events: BenchEvent[]): Uint8Array {
  return encoder.encode(`[${events.map(eventJson).join(",")}]`);
}

export function singleBody(event: BenchEvent): Uint8Array {
  return encoder.encode(eventJson(event));
}
