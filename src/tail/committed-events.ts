import type { NewEvent, StoredEvent } from "../events/event-types";
import type { Committed } from "../storage/event-store";
import { identity, identityParts } from "../storage/write-sql";
import type { EventKey } from "./tail-log";

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

/** The keys of the events a commit inserted, when the request did not keep the events themselves. */
export function committedKeys(committed: Committed): { keys: EventKey[] } {
  return { keys: [...committed.identities].map(identityParts) };
}
