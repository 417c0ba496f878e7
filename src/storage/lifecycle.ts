import type { EventFilter, UsageDay } from "./event-store";
import type { TenantScope } from "./tenant-scope";

/** Rows one delete statement takes at most: a large delete never holds locks long enough to stall ingest. */
export const DELETE_BATCH = 5000;

/**
 * Deletes a tenant's events in a window with the optional filters, batch by
 * batch (sql/007 delete_events: each batch and its count decrements in one
 * transaction), until none are left.
 */
export async function deleteEvents(scope: TenantScope, appRole: string | undefined, filter: EventFilter): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [row] = await scope.run(filter.tenantId, (tx) => tx<{ n: number }[]>`
      SELECT delete_events(
        ${filter.tenantId}, ${appRole ?? null},
        ${filter.startTime.toISOString()}::timestamptz, ${filter.endTime.toISOString()}::timestamptz,
        ${filter.serviceName ?? null}, ${filter.eventType ?? null}, ${DELETE_BATCH}
      ) AS n`);
    if (row!.n === 0) return deleted;
    // -1: another deleter took the rows this batch picked; more may remain.
    if (row!.n > 0) deleted += row!.n;
  }
}

export async function usage(scope: TenantScope, tenantId: string, fromDay: string, toDay: string): Promise<UsageDay[]> {
  const rows = await scope.run(tenantId, (tx) => tx<{ day: string; events: string; duplicates: string; bytes: string; rate_limited: string }[]>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(events) AS events, sum(duplicates) AS duplicates, sum(bytes) AS bytes, sum(rate_limited) AS rate_limited
    FROM tenant_usage
    WHERE tenant_id = ${tenantId} AND day BETWEEN ${fromDay}::date AND ${toDay}::date
    GROUP BY day ORDER BY day`);
  return rows.map((r) => ({
    day: r.day,
    events: Number(r.events),
    duplicates: Number(r.duplicates),
    bytes: Number(r.bytes),
    rateLimited: Number(r.rate_limited),
  }));
}

export async function recordRateLimited(scope: TenantScope, appRole: string | undefined, tenantId: string, count: number): Promise<void> {
  await scope.run(tenantId, (tx) => tx`SELECT record_usage(${tenantId}, ${appRole ?? null}, 0, 0, 0, ${count})`);
}
