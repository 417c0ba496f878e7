/**
 * One line per event for the table. Payloads come back in PostgreSQL's jsonb
 * key order (shorter keys first), which says nothing about importance: a
 * `level` or `message` can sit behind a long `ua` or `id` and fall past the
 * cut. So the line starts with the message, then the well-known fields in a
 * fixed order, then the rest as stored.
 */

/** The first of these holding a string leads the line, without its key. */
const MESSAGE_KEYS = ["message", "msg", "body", "name", "eventName", "event"];
/** Then these, in this order, as key=value. */
const WELL_KNOWN_KEYS = [
  "status",
  "statusCode",
  "status_code",
  "code",
  "error",
  "err",
  "exception",
  "method",
  "route",
  "path",
  "url",
  "http",
  "durationMs",
  "duration",
  "value",
  "unit",
  "kind",
];

export interface SummaryPart {
  /** Absent for the message that leads the line. */
  key?: string;
  value: string;
}

function compact(value: unknown, room: number): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return String(value);
  // Only as much of a big object as can show.
  return JSON.stringify(value).slice(0, room + 1);
}

/**
 * The parts of the line, at most `max` characters in all (the last value cut
 * with "…"). `skip` leaves out fields shown elsewhere in the row (the level).
 */
export function summaryParts(payload: Record<string, unknown>, skip: readonly string[] = [], max = 200): SummaryPart[] {
  const keys = Object.keys(payload).filter((key) => !skip.includes(key));
  const lead = MESSAGE_KEYS.find((key) => keys.includes(key) && typeof payload[key] === "string");
  const ordered = [
    ...WELL_KNOWN_KEYS.filter((key) => keys.includes(key) && key !== lead),
    ...keys.filter((key) => key !== lead && !WELL_KNOWN_KEYS.includes(key)),
  ];
  const parts: SummaryPart[] = [];
  let room = max;
  const add = (part: SummaryPart) => {
    const cost = part.value.length + (part.key ? part.key.length + 1 : 0) + (parts.length ? 3 : 0);
    if (cost > room) part.value = `${part.value.slice(0, Math.max(0, part.value.length - (cost - room) - 1))}…`;
    parts.push(part);
    room -= cost;
  };
  if (lead) add({ value: payload[lead] as string });
  for (const key of ordered) {
    if (room <= 0) break;
    add({ key, value: compact(payload[key], room) });
  }
  return parts;
}

/** The line as plain text, e.g. for a screen reader's label. */
export const summaryText = (parts: SummaryPart[]) => parts.map((p) => (p.key ? `${p.key}=${p.value}` : p.value)).join(" · ") || "{}";
