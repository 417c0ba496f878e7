/// <reference lib="dom" />
/**
 * The dialog that shows one event: when it happened, its trace, its payload
 * (values are buttons that add a condition) and a way to the events around it.
 */
import type { StoredEvent } from "./api";
import { copyText } from "./clipboard";
import { bdi, byId, h } from "./dom";
import { formatRelative, formatTime, formatUtc, zoneLabel, type Zone } from "./format";
import { jsonView } from "./json-view";
import { levelOf } from "./levels";
import type { Scalar } from "./state";

export interface EventDialogActions {
  /** Add `field = value` to the view's conditions. */
  filter: (field: string, value: Scalar) => void;
  openTrace: (traceId: string) => void;
  /** The same service, a minute either side. */
  surrounding: (event: StoredEvent) => void;
}

/** The trace an event belongs to: a top-level traceId or trace_id string, as the server files it. */
export function traceIdOf(event: StoredEvent): string | undefined {
  const { traceId, trace_id } = event.payload;
  const id = typeof traceId === "string" ? traceId : typeof trace_id === "string" ? trace_id : undefined;
  return id?.trim() ? id : undefined;
}

export function openEventDialog(event: StoredEvent, zone: Zone, actions: EventDialogActions) {
  const dialog = byId<HTMLDialogElement>("event-dialog");
  const json = JSON.stringify(event.payload, null, 2);
  const level = levelOf(event.payload);
  const traceId = traceIdOf(event);
  const close = (then: () => void) => () => {
    dialog.close();
    then();
  };

  byId("event-dialog-title").replaceChildren(`${event.eventType} · `, bdi(event.serviceName));
  const meta: (HTMLElement | null)[] = [
    h("dt", null, "Event ID"),
    h("dd", null, h("code", null, bdi(event.eventId))),
    h("dt", null, "Time"),
    h(
      "dd",
      null,
      h("time", { datetime: event.timestamp }, `${formatTime(event.timestamp, zone)} ${zoneLabel(zone, Date.parse(event.timestamp))}`),
      // The exact UTC instant too, unless that is what the line already says.
      h("span", { class: "muted" }, ` · ${formatRelative(event.timestamp)}${zoneLabel(zone, Date.parse(event.timestamp)) === "UTC" ? "" : ` · ${formatUtc(event.timestamp)}`}`),
    ),
    h("dt", null, "Received"),
    h("dd", null, h("time", { datetime: event.receivedAt }, formatUtc(event.receivedAt))),
  ];
  if (level) meta.push(h("dt", null, "Level"), h("dd", null, h("span", { class: `level-badge level-${level.tone}` }, bdi(level.text))));
  if (traceId) {
    meta.push(
      h("dt", null, "Trace"),
      h("dd", null, h("button", { type: "button", class: "link-button", id: "open-trace", onclick: close(() => actions.openTrace(traceId)) }, h("code", null, bdi(traceId)))),
    );
  }
  byId("event-meta").replaceChildren(...meta.filter((node): node is HTMLElement => node !== null));

  byId("event-payload").replaceChildren(
    jsonView(event.payload, {
      onPick: (field, value) => close(() => actions.filter(field, value))(),
      onTrace: (id) => close(() => actions.openTrace(id))(),
    }),
  );
  byId("event-raw").textContent = json;
  byId<HTMLButtonElement>("surrounding").onclick = close(() => actions.surrounding(event));
  const copy = byId<HTMLButtonElement>("copy-payload");
  const copied = byId("copy-status");
  copied.textContent = "";
  copy.onclick = async () => {
    copied.textContent = (await copyText(json)) ? "Copied" : "Copy failed";
  };
  dialog.showModal();
}
