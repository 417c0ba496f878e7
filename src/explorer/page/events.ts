/// <reference lib="dom" />
/** Rows of the events table and the dialog that shows one event's payload. */
import type { StoredEvent } from "./api";
import { byId, h } from "./dom";
import { formatLocal, formatUtc, summarize } from "./format";
import { jsonView } from "./json-view";

export function eventRow(event: StoredEvent): HTMLTableRowElement {
  return h(
    "tr",
    { "data-event-id": event.eventId },
    h(
      "td",
      { class: "col-time" },
      h(
        "button",
        { type: "button", class: "row-open", "aria-haspopup": "dialog", "aria-label": `${event.eventType} from ${event.serviceName} at ${formatUtc(event.timestamp)}: open payload` },
        h("time", { datetime: event.timestamp, title: formatUtc(event.timestamp) }, formatLocal(event.timestamp)),
      ),
    ),
    h("td", { class: "col-type" }, h("span", { class: `type-badge type-${event.eventType}` }, event.eventType)),
    h("td", { class: "col-service" }, event.serviceName),
    h("td", { class: "col-summary" }, h("span", { class: "summary" }, summarize(event.payload))),
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http on another host): fall back to a selection copy.
    const area = h("textarea", { class: "sr-only", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

export function openEventDialog(event: StoredEvent) {
  const dialog = byId<HTMLDialogElement>("event-dialog");
  const json = JSON.stringify(event.payload, null, 2);
  byId("event-dialog-title").textContent = `${event.eventType} · ${event.serviceName}`;
  byId("event-meta").replaceChildren(
    h("dt", null, "Event ID"),
    h("dd", null, h("code", null, event.eventId)),
    h("dt", null, "Time"),
    h("dd", null, h("time", { datetime: event.timestamp }, formatLocal(event.timestamp)), h("span", { class: "muted" }, ` (${formatUtc(event.timestamp)})`)),
    h("dt", null, "Received"),
    h("dd", null, h("time", { datetime: event.receivedAt }, formatUtc(event.receivedAt))),
  );
  byId("event-payload").replaceChildren(jsonView(event.payload));
  byId("event-raw").textContent = json;
  const copy = byId<HTMLButtonElement>("copy-payload");
  const copied = byId("copy-status");
  copied.textContent = "";
  copy.onclick = async () => {
    copied.textContent = (await copyText(json)) ? "Copied" : "Copy failed";
  };
  dialog.showModal();
}
