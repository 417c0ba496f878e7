import type { EventFilter } from "./event-store";
import { instant, likePattern } from "./sql-filters";
import type { Db } from "./write-sql";

/**
 * Free text under row-level security. LIKE may not run before the tenant
 * policy (it is not leakproof), so a search statement read as the service
 * could never use the trigram indexes. The search functions of sql/009 read
 * as the tables' owner for the tenant the transaction entered. First a
 * probe: if the newest PROBE_ROWS events of the window hold DENSE_MATCHES
 * or more matches, the word is common and the terms stay as they are (found
 * quickly walking newest first). Otherwise the keys of the matching events,
 * at most DB_SEARCH_SELECTIVE_KEYS: fewer than that, and the filter becomes
 * those keys (a rare word, found through the trigram indexes); that many or
 * more, and the terms stay.
 */
export const PROBE_ROWS = 2000;
export const DENSE_MATCHES = 20;

export interface EventKeys {
  ids: string[];
  /** ISO instants, in the order of `ids`. */
  timestamps: string[];
}

/** True when the filter has no free text left to narrow: none, already narrowed to keys, or found common. */
export function searchResolved(filter: EventFilter): boolean {
  return !filter.terms?.length || !!filter.keys || !!filter.termsCommon;
}

/** `filter` with its free text replaced by the keys it matches, when fewer than `selective`; else marked common. */
export async function narrowByTerms(tx: Db, filter: EventFilter, selective: number): Promise<EventFilter> {
  if (searchResolved(filter)) return filter;
  const patterns = filter.terms!.map(likePattern);
  const [probe] = await tx<{ n: number }[]>`
    SELECT search_probe(${patterns}::text[], ${instant(tx, filter.startTime)}, ${instant(tx, filter.endTime)},
                        ${filter.eventType ?? null}, ${filter.serviceName ?? null}, ${PROBE_ROWS}) AS n`;
  if (probe!.n >= DENSE_MATCHES) return { ...filter, termsCommon: true };
  const rows = await tx<{ event_id: string; ts: Date }[]>`
    SELECT event_id, ts FROM search_keys(
      ${patterns}::text[], ${instant(tx, filter.startTime)}, ${instant(tx, filter.endTime)},
      ${filter.eventType ?? null}, ${filter.serviceName ?? null}, ${selective})`;
  if (rows.length >= selective) return { ...filter, termsCommon: true };
  return { ...filter, terms: undefined, keys: { ids: rows.map((r) => r.event_id), timestamps: rows.map((r) => r.ts.toISOString()) } };
}

/** How many events match the filter's terms (and type, service): counted as the owner, by the trigram indexes or by time. */
export async function countTerms(tx: Db, filter: EventFilter): Promise<number> {
  const [row] = await tx<{ n: string }[]>`
    SELECT search_count(
      ${filter.terms!.map(likePattern)}::text[], ${instant(tx, filter.startTime)}, ${instant(tx, filter.endTime)},
      ${filter.eventType ?? null}, ${filter.serviceName ?? null}) AS n`;
  return Number(row!.n);
}
