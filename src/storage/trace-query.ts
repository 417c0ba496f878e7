import type { EventPage, PageRequest } from "./event-store";
import { withinBudget } from "./page-query";
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
      SELECT event_id, event_type, service_name, ts, payload, received_at,
             coalesce(payload_size, octet_length(payload::text)) AS size
      FROM events_all
      WHERE tenant_id = ${tenantId} AND trace_id = ${traceId.toLowerCase()}
        ${after ? tx`AND (ts, event_id) > (${instant(tx, new Date(after.timestamp))}, ${after.eventId})` : tx``}
      ORDER BY ts, event_id
      LIMIT ${limit + 1}`,
    limit,
    "oldest",
  );
}
