/**
 * Synthetic events shared by every phase: 8 services, 3 event types with a
 * skewed mix, small realistic payloads, random UUID ids (the worst case for
 * the primary-key B-tree, and what clients usually send).
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

export const PAYLOADS: string[] = [
  `{"level":"info","message":"GET /api/orders 200","durationMs":42,"route":"/api/orders","status":200,"region":"eu-west-1"}`,
  `{"level":"warn","message":"slow upstream response","durationMs":1280,"upstream":"pricing","attempt":2}`,
  `{"name":"http.server.duration","value":17.5,"unit":"ms","attributes":{"route":"/api/cart","method":"POST"}}`,
  `{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"db.query","durationMs":3.2}`,
  `{"level":"error","message":"payment declined","code":"card_declined","userId":90211,"retryable":false}`,
  `{"level":"info","message":"user signed in","userId":1234,"method":"password","mfa":true}`,
];

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
    events[i] = {
      eventId: ids?.[i] ?? crypto.randomUUID(),
      eventType: pickType(Math.random()),
      serviceName: pickService(Math.random()),
      timestamp: new Date(nowMs - Math.floor(Math.random() * spreadMs)).toISOString(),
      payloadJson: PAYLOADS[i % PAYLOADS.length]!,
    };
  }
  return events;
}

/** The wire form clients send; built by hand (the fields need no escaping). */
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
