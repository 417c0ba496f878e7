import type { StoredEvent } from "../events/event-types";
import { splitFieldPath } from "../events/field-path";
import { collectStrings, searchText } from "../events/search";
import type { EventFilter, FieldCondition, JsonScalar } from "../storage/event-store";

/**
 * The filters of /query as a test of one event, for live tails (which see
 * events before any query could). Each reads as the SQL of
 * storage/sql-filters.ts does, PostgreSQL's lax jsonpath included: a path
 * looks into arrays on its way, a comparison looks one array level deeper
 * still, `contains` does not.
 */
export type TailFilter = Pick<EventFilter, "eventType" | "serviceName" | "terms" | "where">;

export function eventMatcher(filter: TailFilter): (event: StoredEvent) => boolean {
  const terms = filter.terms ?? [];
  const where = filter.where ?? [];
  return (event) =>
    (!filter.eventType || event.eventType === filter.eventType) &&
    (!filter.serviceName || event.serviceName === filter.serviceName) &&
    (terms.length === 0 || hasTerms(event, terms)) &&
    where.every((condition) => holds(event.payload, condition));
}

function hasTerms(event: StoredEvent, terms: string[]): boolean {
  const text = searchText(collectStrings(event.payload), event.eventId);
  return terms.every((term) => text.includes(term));
}

type Json = JsonScalar | Json[] | { [key: string]: Json };

/** The values a dot path reaches, arrays on the way looked into one level. */
function reached(payload: unknown, field: string): Json[] {
  let items = [payload as Json];
  for (const key of splitFieldPath(field) ?? []) {
    const next: Json[] = [];
    for (const item of items) {
      for (const candidate of Array.isArray(item) ? item : [item]) {
        if (isObject(candidate) && Object.hasOwn(candidate, key)) next.push(candidate[key]!);
      }
    }
    items = next;
  }
  return items;
}

function holds(payload: unknown, condition: FieldCondition): boolean {
  const items = reached(payload, condition.field);
  switch (condition.op) {
    case "exists":
      return items.length > 0;
    case "neq":
      return !compared(items, (v) => v === condition.value);
    case "eq":
      return compared(items, (v) => v === condition.value);
    case "in":
      return compared(items, (v) => condition.value.some((w) => v === w));
    case "contains": {
      const needle = condition.value.toLowerCase();
      return items.some((item) => (Array.isArray(item) ? item : [item]).some((v) => typeof v === "string" && v.toLowerCase().includes(needle)));
    }
    default: {
      const bound = condition.value;
      const op = condition.op;
      return compared(items, (v) => {
        let order: number;
        if (typeof v === "number" && typeof bound === "number") order = v - bound;
        else if (typeof v === "string" && typeof bound === "string") order = codePointOrder(v, bound);
        else return false;
        return op === "gt" ? order > 0 : op === "gte" ? order >= 0 : op === "lt" ? order < 0 : order <= 0;
      });
    }
  }
}

/** A comparison looks into arrays two levels: the filter's own step, then its operand's. */
function compared(items: Json[], test: (value: JsonScalar) => boolean): boolean {
  for (const item of items) {
    for (const a of Array.isArray(item) ? item : [item]) {
      for (const b of Array.isArray(a) ? a : [a]) {
        if (!isObject(b) && !Array.isArray(b) && test(b)) return true;
      }
    }
  }
  return false;
}

function isObject(value: unknown): value is { [key: string]: Json } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Strings compare by code point, as PostgreSQL's jsonpath compares them in UTF-8. */
function codePointOrder(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
