/**
 * An event's level (error, warn, info…) for the level column, its colour and
 * the level panel. Payloads name it differently: `level` in most loggers,
 * `severity` in some, `severityText` in OpenTelemetry logs; the first one
 * present wins, in that order.
 */

export const LEVEL_FIELDS = ["level", "severity", "severityText"] as const;
export type LevelField = (typeof LEVEL_FIELDS)[number];

/** The colour families the page knows; anything else is shown plain. */
export type LevelTone = "error" | "warn" | "info" | "debug" | "other";

const TONES: [RegExp, LevelTone][] = [
  [/^(fatal|crit|critical|emerg|emergency|alert|panic|severe|err|error)\d*$/i, "error"],
  [/^(warn|warning)\d*$/i, "warn"],
  [/^(info|information|informational|notice)\d*$/i, "info"],
  [/^(debug|trace|verbose|fine|finer|finest)\d*$/i, "debug"],
];

/** pino's numeric levels (10 trace … 60 fatal), which this service itself logs with. */
const PINO_TONES: Record<string, LevelTone> = { "10": "debug", "20": "debug", "30": "info", "40": "warn", "50": "error", "60": "error" };

/** `ERROR`, `error`, OpenTelemetry's `ERROR2` and pino's 50 are one tone; unknown words are "other". */
export function levelTone(level: string): LevelTone {
  const text = level.trim();
  if (Object.hasOwn(PINO_TONES, text)) return PINO_TONES[text]!;
  return TONES.find(([pattern]) => pattern.test(text))?.[1] ?? "other";
}

export interface Level {
  field: LevelField;
  text: string;
  tone: LevelTone;
}

/** The event's level from the first level field holding a string (or a number, for numeric levels). */
export function levelOf(payload: Record<string, unknown>): Level | undefined {
  for (const field of LEVEL_FIELDS) {
    const value = payload[field];
    if ((typeof value === "string" && value.trim()) || typeof value === "number") {
      const text = String(value);
      return { field, text, tone: levelTone(text) };
    }
  }
  return undefined;
}
