import postgres from "postgres";

/**
 * Raised when storage cannot answer right now (down, restarting, saturated,
 * statement timeout). The HTTP layer turns it into 503 + Retry-After, which
 * clients and OpenTelemetry exporters retry; a 500 would make them drop data.
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}

/** SQLSTATE classes that describe a passing condition rather than a bug. */
const TRANSIENT_SQLSTATE_CLASSES = new Set([
  "08", // connection exception
  "40", // serialization failure, deadlock
  "53", // insufficient resources (too many connections, disk full)
  "57", // operator intervention: query_canceled (statement timeout), admin shutdown, cannot connect now
  "58", // system error (I/O)
]);

const TRANSIENT_SQLSTATES = new Set(["55P03" /* lock_not_available */, "55006" /* object in use */]);

export function isTransientStorageError(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (error instanceof postgres.PostgresError) {
    const state = String(error.code ?? "");
    return TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2)) || TRANSIENT_SQLSTATES.has(state);
  }
  // Anything else thrown by the driver is about the connection itself:
  // ECONNREFUSED, ECONNRESET, CONNECT_TIMEOUT, CONNECTION_CLOSED/ENDED/DESTROYED.
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_\w+)$/.test(code);
}

/** Rethrows transient failures as StorageUnavailableError, others unchanged. */
export function translateStorageError(error: unknown): never {
  if (error instanceof StorageUnavailableError) throw error;
  if (isTransientStorageError(error)) {
    const reason = error instanceof postgres.PostgresError && error.code === "57014"
      ? "database statement timed out"
      : "database unavailable";
    throw new StorageUnavailableError(reason, { cause: error });
  }
  throw error;
}
