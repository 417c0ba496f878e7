import { ApiError } from "../http/api-error";
import type { EventType } from "../storage/event-store";

/**
 * Cursors are opaque to clients: base64url JSON holding the resolved window
 * and filters of the first request plus the last event returned. Following a
 * cursor keeps the same window, so pages stay stable while ingest goes on.
 */
export interface CursorState {
  startTime: string;
  endTime: string;
  eventType?: EventType;
  serviceName?: string;
  limit: number;
  /** Page number the cursor leads to. */
  page: number;
  after: { timestamp: string; eventId: string };
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): CursorState {
  try {
    const state = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as CursorState;
    if (
      typeof state.startTime === "string" &&
      typeof state.endTime === "string" &&
      Number.isInteger(state.limit) &&
      Number.isInteger(state.page) &&
      typeof state.after?.timestamp === "string" &&
      typeof state.after?.eventId === "string" &&
      !Number.isNaN(Date.parse(state.after.timestamp))
    ) {
      return state;
    }
  } catch {
    // fall through
  }
  throw new ApiError("validation_failed", "The cursor is not valid", {
    details: [{ path: "cursor", message: "not a cursor returned by this API" }],
  });
}
