import type { NewEvent, StoredEvent } from "../events/event-types";
import type { Committed } from "../storage/event-store";
import { identity } from "../storage/write-sql";

/** The events of a request that its commit inserted, as a query would return them. */
export function committedEvents(events: NewEvent[], committed: Committed): StoredEvent[] {
  const receivedAt = committed.receivedAt.toISOString();
  const seen = new Set<string>();
  const stored: StoredEvent[] = [];
  for (const event of events) {
    const key = identity(event.eventId, event.timestamp);
    // The first occurrence of an identity is the one stored.
    if (!committed.identities.has(key) || seen.has(key)) continue;
    seen.add(key);
    stored.push({
      eventId: event.eventId,
      eventType: event.eventType,
      serviceName: event.serviceName,
      timestamp: event.timestamp,
      payload: JSON.parse(event.payloadJson) as Record<string, unknown>,
      receivedAt,
    });
  }
  return stored;
}
