import type { Fragment } from "postgres";
import type { EventType, StoredEvent } from "../events/event-types";
import type { EventFilter, EventPage, PageRequest } from "./event-store";
import { instant, rowFilter } from "./sql-filters";
import type { Db } from "./write-sql";

/**
 * Stored payload bytes one page may carry. A page of 1,000 events of 64 KiB
 * would hold 64 MiB of JSON, several times that as objects, and again as the
 * answer; past this budget a page ends early and nextCursor continues it
 * (bench/README.md, "limits", has the memory it costs).
 */
export const PAGE_BYTE_BUDGET = 4 * 1024 * 1024;

export interface EventRow {
  event_id: string;
  event_type: EventType;
  service_name: string;
  ts: Date;
  /** Null for candidates past the page's end. */
  payload: Record<string, unknown> | null;
  received_at: Date;
  /** False for the candidates that only show more rows follow. */
  kept: boolean;
}

/**
 * One page of events, newest first: by offset, or after a (timestamp, id)
 * key.
 */
export function pageOfEvents(tx: Db, filter: EventFilter, limit: number, offset: number, after?: PageRequest["after"]): Promise<EventPage> {
  return withinBudget(
    tx,
    tx`
      SELECT ${candidateColumns(tx)}
      FROM events_all
      WHERE ${rowFilter(tx, filter)}
        AND ts BETWEEN ${instant(tx, filter.startTime)} AND ${instant(tx, filter.endTime)}
        ${after ? tx`AND (ts, event_id) < (${instant(tx, new Date(after.timestamp))}, ${after.eventId})` : tx``}
      ORDER BY ts DESC, event_id DESC
      LIMIT ${limit + 1}
      ${offset > 0 ? tx`OFFSET ${offset}` : tx``}`,
    limit,
    "newest",
  );
}

/** What withinBudget needs of a candidate: the event, and its payload's size (measured for rows from before sql/006). */
export function candidateColumns(tx: Db): Fragment {
  return tx`event_id, event_type, service_name, ts, payload, received_at, coalesce(payload_size, octet_length(payload::text)) AS size`;
}

/**
 * Up to `limit` + 1 candidates (event columns and a `size`, in `order`)
 * become a page: it keeps the first `limit` of them while their payloads
 * fit PAGE_BYTE_BUDGET (always at least one), and the rest only say that
 * more rows follow, without their payloads.
 */
export async function withinBudget(tx: Db, candidates: Fragment, limit: number, order: "newest" | "oldest"): Promise<EventPage> {
  const by = order === "newest" ? tx`ts DESC, event_id DESC` : tx`ts, event_id`;
  const rows = await tx<EventRow[]>`
    SELECT event_id, event_type, service_name, ts, received_at,
           CASE WHEN kept THEN payload END AS payload, kept
    FROM (
      SELECT *, (row_number() OVER w <= ${limit}
                 AND (sum(size) OVER w <= ${PAGE_BYTE_BUDGET} OR row_number() OVER w = 1)) AS kept
      FROM (${candidates}) AS candidates
      WINDOW w AS (ORDER BY ${by})
    ) AS page
    ORDER BY ${by}`;
  const kept = rows.filter((row) => row.kept);
  return {
    events: kept.map(toStoredEvent),
    more: rows.length > kept.length,
    truncated: kept.length < Math.min(rows.length, limit),
  };
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    serviceName: row.service_name,
    timestamp: row.ts.toISOString(),
    payload: row.payload!,
    receivedAt: row.received_at.toISOString(),
  };
}
