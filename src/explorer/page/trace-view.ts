/// <reference lib="dom" />
/**
 * One trace's events (GET /traces/{id}), oldest first, in a dialog: when each
 * started after the first, its service, level and name, and a bar for spans
 * with a duration. Each opens its payload.
 */
import { fetchTrace, type StoredEvent } from "./api";
import { bdi, byId, h } from "./dom";
import { formatCount, formatTime, zoneLabel, type Zone } from "./format";
import { levelOf } from "./levels";
import { summaryParts, summaryText } from "./summary";

export interface TraceViewOptions {
  key: () => string;
  zone: () => Zone;
  openEvent: (event: StoredEvent) => void;
  /** The dialog was closed (Escape, the close button, the backdrop). */
  closed: () => void;
  /** A failed page: the page shows it (a banner with a retry). */
  problem: (error: unknown, retry: () => void) => void;
}

const durationOf = (event: StoredEvent) => (typeof event.payload.durationMs === "number" && event.payload.durationMs >= 0 ? event.payload.durationMs : 0);

function formatOffset(ms: number): string {
  if (ms < 1000) return `+${ms.toFixed(0)} ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(3)} s`;
  return `+${(ms / 60_000).toFixed(1)} min`;
}

export function createTraceView(options: TraceViewOptions) {
  const dialog = byId<HTMLDialogElement>("trace-dialog");
  const title = byId("trace-title");
  const summary = byId("trace-summary");
  const list = byId("trace-events");
  const more = byId<HTMLButtonElement>("trace-more");
  let traceId: string | undefined;
  let events: StoredEvent[] = [];
  let cursor: string | null = null;
  let request: AbortController | undefined;

  function render() {
    const zone = options.zone();
    const first = events.length ? Date.parse(events[0]!.timestamp) : 0;
    const last = Math.max(first + 1, ...events.map((e) => Date.parse(e.timestamp) + durationOf(e)));
    const services = new Set(events.map((e) => e.serviceName));
    summary.textContent = events.length
      ? `${formatCount(events.length)}${cursor ? "+" : ""} events · ${formatCount(services.size)} service${services.size === 1 ? "" : "s"} · from ${formatTime(first, zone)} ${zoneLabel(zone, first)}, over ${formatOffset(last - first).slice(1)}`
      : "No events carry this trace id in this tenant.";
    list.replaceChildren(
      ...events.map((event) => {
        const start = Date.parse(event.timestamp) - first;
        const bar = h("span", { class: "trace-bar", "aria-hidden": "true" });
        bar.style.marginLeft = `${(start / (last - first)) * 100}%`;
        bar.style.width = `${Math.max(0.5, (durationOf(event) / (last - first)) * 100)}%`;
        const level = levelOf(event.payload);
        const name = summaryText(summaryParts(event.payload, level ? [level.field, "traceId", "trace_id"] : ["traceId", "trace_id"], 80));
        return h(
          "li",
          { "data-event-id": event.eventId },
          h(
            "button",
            { type: "button", class: "trace-row", "aria-haspopup": "dialog", onclick: () => options.openEvent(event) },
            h("span", { class: "trace-offset" }, formatOffset(start)),
            h("span", { class: `type-badge type-${event.eventType}` }, event.eventType),
            level ? h("span", { class: `level-badge level-${level.tone}` }, bdi(level.text)) : "",
            bdi(event.serviceName, { class: "trace-service" }),
            bdi(name, { class: "trace-name" }),
            h("span", { class: "trace-track" }, bar),
          ),
        );
      }),
    );
    more.hidden = !cursor;
  }

  async function load() {
    if (!traceId) return;
    request?.abort();
    const controller = (request = new AbortController());
    const id = traceId;
    more.disabled = true;
    try {
      const page = await fetchTrace(options.key(), id, cursor, controller.signal);
      if (controller.signal.aborted || id !== traceId) return;
      events.push(...page.data);
      cursor = page.nextCursor;
      render();
    } catch (error) {
      if (!controller.signal.aborted) options.problem(error, () => void load());
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener("click", () => void load());
  byId("close-trace").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => e.target === dialog && dialog.close());
  dialog.addEventListener("close", () => {
    request?.abort();
    if (traceId === undefined) return;
    traceId = undefined;
    options.closed();
  });

  return {
    get openId() {
      return traceId;
    },
    open(id: string) {
      if (traceId === id && dialog.open) return;
      traceId = id;
      events = [];
      cursor = null;
      title.replaceChildren("Trace ", h("code", null, bdi(id)));
      summary.textContent = "Loading…";
      list.replaceChildren();
      more.hidden = true;
      if (!dialog.open) dialog.showModal();
      void load();
    },
    /** Closed by the page (the URL no longer names a trace): no `closed` callback. */
    close() {
      traceId = undefined;
      if (dialog.open) dialog.close();
    },
  };
}

export type TraceView = ReturnType<typeof createTraceView>;
