import type { StoredEvent } from "../events/event-types";
import type { EventPage, PageRequest } from "./event-store";
import { candidateColumns, toStoredEvent, withinBudget, type EventRow } from "./page-query";
import { instant } from "./sql-filters";
import type { Db } from "./write-sql";

/**
 * A trace's events, oldest first, by the trace id stored lowercased beside
 * each event (events/search.ts) and its partial index (sql/007): one index
 * probe per partition of the tenant, whatever the time.
 */
export function eventsOfTrace(tx: Db, tenantId: string, traceId: string, limit: number, after?: PageRequest["after"]): Promise<EventPage> {
  return withinBudget(
    tx,
    tx`
      SELECT ${candidateColumns(tx)}
      FROM events_all
      WHERE tenant_id = ${tenantId} AND trace_id = ${traceId.toLowerCase()}
        ${after ? tx`AND (ts, event_id) > (${instant(tx, new Date(after.timestamp))}, ${after.eventId})` : tx``}
      ORDER BY ts, event_id
      LIMIT ${limit + 1}`,
    limit,
    "oldest",
  );
}

/** The tenant's events with these (eventId, timestamp) keys, oldest first: what a live tail reads back of a large batch. */
export async function eventsByKeys(tx: Db, tenantId: string, keys: { eventId: string; timestamp: string }[]): Promise<StoredEvent[]> {
  const rows = await tx<EventRow[]>`
    SELECT event_id, event_type, service_name, ts, payload, received_at, true AS kept
    FROM events_all
    WHERE tenant_id = ${tenantId}
      AND (event_id, ts) IN (
        SELECT * FROM unnest(${keys.map((k) => k.eventId)}::text[], ${keys.map((k) => k.timestamp)}::text[]::timestamptz[])
      )
    ORDER BY ts, event_id`;
  return rows.map(toStoredEvent);
}
