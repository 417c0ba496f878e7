import type { Fragment } from "postgres";
import type { Range } from "./count-plan";
import type { EventFilter, FieldCondition, JsonScalar } from "./event-store";
import type { Db } from "./write-sql";
import { splitFieldPath } from "../events/field-path";

/**
 * The WHERE conditions of reads. `rowFilter` applies to event rows (the
 * tenant, the filters, free text and field conditions); `countFilter` to
 * count rows, which know the tenant, type, service and level only. The time
 * condition is added by each query, on the column and at the grain it reads.
 */
export function countFilter(tx: Db, filter: EventFilter, levels?: JsonScalar[]): Fragment {
  return tx`
    tenant_id = ${filter.tenantId}
    ${filter.eventType ? tx`AND event_type = ${filter.eventType}` : tx``}
    ${filter.serviceName ? tx`AND service_name = ${filter.serviceName}` : tx``}
    ${levels ? tx`AND level = ANY(ARRAY(SELECT level_key(jsonb_build_object('level', value::jsonb)) FROM unnest(${levels.map((v) => JSON.stringify(v))}::text[]) AS value))` : tx``}`;
}

export function rowFilter(tx: Db, filter: EventFilter): Fragment {
  const parts: Fragment[] = [countFilterOfRows(tx, filter)];
  for (const term of filter.terms ?? []) parts.push(tx`search_text LIKE ${likePattern(term)}`);
  if (filter.keys) {
    parts.push(tx`(ts, event_id) IN (SELECT * FROM unnest(${filter.keys.timestamps}::text[]::timestamptz[], ${filter.keys.ids}::text[]))`);
  }
  for (const condition of filter.where ?? []) parts.push(conditionSql(tx, condition));
  return parts.reduce((all, one) => tx`${all} AND ${one}`);
}

function countFilterOfRows(tx: Db, filter: EventFilter): Fragment {
  return tx`
    tenant_id = ${filter.tenantId}
    ${filter.eventType ? tx`AND event_type = ${filter.eventType}` : tx``}
    ${filter.serviceName ? tx`AND service_name = ${filter.serviceName}` : tx``}`;
}

/**
 * Whether `filter`'s totals can be read from the count tables: no free text,
 * and conditions only `eq`/`in` on the payload's level (rows are counted per
 * level key, sql/007 level_key). `levels`: the level values asked for, all
 * when undefined. Null when the rows must be counted one by one. Rows whose
 * level is an object or array are counted under '*' and a condition may
 * still match them: the reader checks a window holds none before it trusts
 * the count tables for a level condition.
 */
export function countableLevels(filter: EventFilter): { levels?: JsonScalar[] } | null {
  if (filter.terms?.length || filter.keys) return null;
  const where = filter.where ?? [];
  if (where.length === 0) return {};
  let levels: JsonScalar[] | undefined;
  for (const condition of where) {
    if (condition.field !== "level") return null;
    let values: JsonScalar[];
    if (condition.op === "eq") values = [condition.value];
    else if (condition.op === "in") values = condition.value;
    else return null;
    levels = levels ? levels.filter((v) => values.some((w) => sameScalar(v, w))) : values;
  }
  return { levels };
}

function sameScalar(a: JsonScalar, b: JsonScalar): boolean {
  return typeof a === typeof b && a === b;
}

/** A condition on a payload field as a jsonpath test (lax: arrays on the path match if any element does). */
function conditionSql(tx: Db, condition: FieldCondition): Fragment {
  const path = jsonPath(condition.field);
  switch (condition.op) {
    case "exists":
      return tx`payload @? ${path}::jsonpath`;
    case "eq":
      return tx`payload @? ${`${path} ? (@ == ${literal(condition.value)})`}::jsonpath`;
    case "neq":
      return tx`NOT (payload @? ${`${path} ? (@ == ${literal(condition.value)})`}::jsonpath)`;
    case "in":
      return tx`payload @? ${`${path} ? (${condition.value.map((v) => `@ == ${literal(v)}`).join(" || ")})`}::jsonpath`;
    case "contains":
      return tx`payload @? ${`${path} ? (@.type() == "string" && @ like_regex ${JSON.stringify(condition.value)} flag "iq")`}::jsonpath`;
    default: {
      const operator = { gt: ">", gte: ">=", lt: "<", lte: "<=" }[condition.op];
      return tx`payload @? ${`${path} ? (@ ${operator} ${literal(condition.value)})`}::jsonpath`;
    }
  }
}

/** `$."http"."status"`: each key a quoted jsonpath string, so no key is read as syntax. */
export function jsonPath(field: string): string {
  // Paths are validated before they get here (query/search.schemas.ts).
  return `$${splitFieldPath(field)!.map((key) => `.${JSON.stringify(key)}`).join("")}`;
}

function literal(value: JsonScalar): string {
  return JSON.stringify(value);
}

/** A LIKE pattern matching `term` anywhere, its characters literal. */
export function likePattern(term: string): string {
  return `%${escapeLike(term)}%`;
}

/** LIKE's wildcards and its escape character, made literal. */
function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
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
