/**
 * How the explorer writes times and numbers. Every clock is 24-hour, every
 * exact time shows milliseconds, and every time is in one zone the user picks
 * (their own or UTC), so no two places on the page disagree.
 */

export type Zone = "local" | "utc";

const cache = new Map<string, Intl.DateTimeFormat>();

/** Intl formatters are slow to build and the table formats hundreds of times: one per zone and shape. */
function formatter(zone: Zone, shape: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const id = `${zone}:${shape}`;
  let format = cache.get(id);
  if (!format) {
    // hourCycle h23 and not hour12: false, which some engines render as "24:05".
    format = new Intl.DateTimeFormat(undefined, { ...options, hourCycle: "h23", timeZone: zone === "utc" ? "UTC" : undefined });
    cache.set(id, format);
  }
  return format;
}

const asDate = (value: string | number | Date) => (value instanceof Date ? value : new Date(value));

/** An event's time, exact to the millisecond: "May 03, 14:05:09.120". */
export const formatTime = (value: string | number | Date, zone: Zone) =>
  formatter(zone, "exact", { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 }).format(asDate(value));

/** A window edge or a bucket start: "May 03, 14:05". */
export const formatMinute = (value: string | number | Date, zone: Zone) =>
  formatter(zone, "minute", { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(asDate(value));

/** A time later today, e.g. when a rate limit ends: "14:05:09". */
export const formatClock = (value: string | number | Date, zone: Zone) =>
  formatter(zone, "clock", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(asDate(value));

/** The exact UTC instant, whatever the zone: "2025-05-03 12:05:09.120 UTC". */
export const formatUtc = (value: string | number | Date) => `${asDate(value).toISOString().replace("T", " ").replace("Z", "")} UTC`;

/** Minutes east of UTC in the zone at that instant (local zones change with daylight saving time). */
export function zoneOffsetMinutes(ms: number, zone: Zone): number {
  return zone === "utc" ? 0 : -new Date(ms).getTimezoneOffset();
}

/** The zone as people read it next to a time: "UTC" or "UTC+05:30". */
export function zoneLabel(zone: Zone, at = Date.now()): string {
  const offset = zoneOffsetMinutes(at, zone);
  if (offset === 0) return "UTC";
  const abs = Math.abs(offset);
  return `UTC${offset > 0 ? "+" : "−"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** The browser's own zone name, e.g. "Europe/Berlin", for the zone toggle's description. */
export const localZoneName = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

const tickTime = (zone: Zone) => formatter(zone, "tick-time", { hour: "2-digit", minute: "2-digit" });
const tickDay = (zone: Zone) => formatter(zone, "tick-day", { month: "short", day: "numeric" });

/** An axis label: the time of day, or the date at midnight and for day-wide ticks. */
export function formatTick(ms: number, stepMs: number, zone: Zone): string {
  const minuteOfDay = (((ms / 60_000 + zoneOffsetMinutes(ms, zone)) % 1440) + 1440) % 1440;
  return stepMs >= 86_400_000 || minuteOfDay === 0 ? tickDay(zone).format(ms) : tickTime(zone).format(ms);
}

/**
 * How long ago, in a few characters: "now", "42s ago", "3m ago", "5h ago",
 * "2d ago" (and "in 5m" for clocks that run ahead). Short so it fits next to
 * the exact time in a table row.
 */
export function formatRelative(value: string | number | Date, now = Date.now()): string {
  const seconds = Math.round((now - asDate(value).getTime()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return "now";
  const [amount, unit] =
    abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.floor(abs / 60), "m"] : abs < 86_400 ? [Math.floor(abs / 3600), "h"] : [Math.floor(abs / 86_400), "d"];
  return seconds >= 0 ? `${amount}${unit} ago` : `in ${amount}${unit}`;
}

const numberFormat = new Intl.NumberFormat();
export const formatCount = (n: number) => numberFormat.format(n);

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * The custom range's text fields hold "YYYY-MM-DD HH:MM" (seconds optional) in
 * the page's zone: 24-hour whatever the browser's locale, which a native
 * datetime-local field is not.
 */
export function toInputValue(date: Date, zone: Zone): string {
  const shifted = new Date(date.getTime() + zoneOffsetMinutes(date.getTime(), zone) * 60_000);
  const seconds = shifted.getUTCSeconds() || shifted.getUTCMilliseconds() ? `:${pad(shifted.getUTCSeconds())}` : "";
  return `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())} ${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}${seconds}`;
}

const INPUT_PATTERN = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?\s*$/;

/** Reads a custom range field; undefined when it is not a real date and time. */
export function parseInputValue(text: string, zone: Zone): Date | undefined {
  const match = INPUT_PATTERN.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const ms = Number((match[7] ?? "0").padEnd(3, "0"));
  if (month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date =
    zone === "utc"
      ? new Date(Date.UTC(year!, month! - 1, day!, hour, minute, second, ms))
      : new Date(year!, month! - 1, day!, hour, minute, second, ms);
  // Date rolls 31 April over to 1 May; a field that says 31 April is wrong, not May.
  const check = zone === "utc" ? date.getUTCDate() : date.getDate();
  return Number.isNaN(date.getTime()) || check !== day ? undefined : date;
}
