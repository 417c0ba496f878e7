import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Paths pino replaces with "[redacted]" wherever a caller logs an object that
 * holds them. Request headers are never logged by our middleware, but this
 * catches any future `logger.info({ headers })` too.
 */
export const REDACT_PATHS = [
  "apiKey",
  "*.apiKey",
  "key",
  "headers['x-api-key']",
  "*.headers['x-api-key']",
  "req.headers['x-api-key']",
  "headers.authorization",
  "*.headers.authorization",
  "config.API_KEYS",
  "API_KEYS",
  "password",
  "*.password",
  "parameters",
  "*.parameters",
  "args",
  "*.args",
];

export interface LoggerOptions {
  level: string;
  /** Human-readable output (pino-pretty) for a terminal; JSON otherwise. */
  pretty?: boolean;
  destination?: DestinationStream;
}

export function createLogger({ level, pretty = false, destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service: "telemetry-vault" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    // postgres.js errors carry the statement's parameters; keep only safe fields.
    serializers: { err: safeError },
  };
  if (destination) return pino(options, destination);
  if (pretty) {
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  return pino(options);
}

function safeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { name, message, stack } = error;
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: unknown }).cause;
  return { type: name, message, stack, ...(code ? { code } : {}), ...(cause ? { cause: safeError(cause) } : {}) };
}
