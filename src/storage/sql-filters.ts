import type { Fragment } from "postgres";
import type { Range } from "./count-plan";
import type { EventFilter } from "./event-store";
import type { Db } from "./write-sql";

/**
 * The WHERE conditions every read shares: the tenant and the optional
 * filters. The time condition is added by each query, on the column and at
 * the grain it reads (raw timestamps or count slots).
 */
export function filterClause(tx: Db, filter: EventFilter): Fragment {
  return tx`
    tenant_id = ${filter.tenantId}
    ${filter.eventType ? tx`AND event_type = ${filter.eventType}` : tx``}
    ${filter.serviceName ? tx`AND service_name = ${filter.serviceName}` : tx``}`;
}

/** `(column >= from AND column < to) OR ...` over half-open ranges. */
export function inRanges(tx: Db, column: string, ranges: Range[]): Fragment {
  return ranges
    .map((r) => tx`(${tx(column)} >= ${instant(tx, r.from)} AND ${tx(column)} < ${instant(tx, r.to)})`)
    .reduce((all, one) => tx`${all} OR ${one}`);
}

/**
 * A timestamp parameter: ISO text of a validated instant, bound as a
 * timestamptz so that with the custom plans the service asks for the planner
 * sees the real window (index ranges, partition bounds). The client's own
 * serializer (open-store.ts serializeTimestamp) passes such text through
 * untouched. Windows end at 9999-12-31T23:59:59.999Z at most, and the
 * half-open bound after that is year 10000, which toISOString writes
 * "+010000-…" and PostgreSQL reads without the sign and the zero. A bad
 * instant throws here, before any statement is built.
 */
export function instant(tx: Db, value: Date | number): Fragment {
  return tx`${postgresIso(typeof value === "number" ? new Date(value) : value)}::timestamptz`;
}

export function postgresIso(date: Date): string {
  const text = date.toISOString();
  return text.startsWith("+0") ? text.slice(2) : text;
}
