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
 * A timestamp parameter, bound as text and cast in the SQL. Bound as a
 * timestamptz, the driver itself serializes it through a Date (strings
 * included), and throws on a value Date cannot write while the statement is
 * on its way (postgres.js 3.4.9; see tenant-scope.ts for what that did to a
 * connection). Here a bad instant throws before any statement is built.
 * Windows end at 9999-12-31T23:59:59.999Z at most, and the half-open bound
 * after that is year 10000, which toISOString writes "+010000-…" and
 * PostgreSQL reads without the sign and the zero.
 */
export function instant(tx: Db, value: Date | number): Fragment {
  const text = (typeof value === "number" ? new Date(value) : value).toISOString();
  return tx`${text.startsWith("+0") ? text.slice(2) : text}::text::timestamptz`;
}
