const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
const tickTime = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const tickDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const numberFormat = new Intl.NumberFormat();

/** Local time for people, e.g. "May 03, 14:05:09". */
export const formatLocal = (iso: string | Date) => timeFormat.format(new Date(iso));

/** The exact UTC instant, e.g. "2025-05-03 12:05:09.120 UTC". */
export const formatUtc = (iso: string | Date) => `${new Date(iso).toISOString().replace("T", " ").replace("Z", "")} UTC`;

export const formatCount = (n: number) => numberFormat.format(n);

/** An axis label: the time of day, or the date at midnight and for day-wide ticks. */
export function formatTick(ms: number, stepMs: number): string {
  const date = new Date(ms);
  const midnight = date.getHours() === 0 && date.getMinutes() === 0;
  return stepMs >= 86_400_000 || midnight ? tickDay.format(date) : tickTime.format(date);
}

/** A value for `<input type="datetime-local">`, in local time. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const MESSAGE_KEYS = ["message", "msg", "body", "name", "metric", "span"];

function compact(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return String(value);
  return JSON.stringify(value);
}

/** One line for the table: the message first when there is one, then `key=value` pairs. */
export function summarize(payload: Record<string, unknown>, max = 160): string {
  const entries = Object.entries(payload);
  const lead = entries.find(([key, value]) => MESSAGE_KEYS.includes(key) && typeof value === "string");
  const rest = entries.filter((entry) => entry !== lead).map(([key, value]) => `${key}=${compact(value)}`);
  const text = [lead ? String(lead[1]) : undefined, ...rest].filter(Boolean).join("  ·  ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text || "{}";
}
