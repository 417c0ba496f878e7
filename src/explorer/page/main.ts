/// <reference lib="dom" />
/**
 * The explorer page: wires the URL state, the API key (kept in sessionStorage
 * only) and the views (controls, chart, group-by panels, events, dialogs,
 * live stream). Each view is its own module; this file decides what to load
 * when the state changes, and what to show when loading fails.
 */
import { query, QueryProblem, type EventsPage, type StoredEvent } from "./api";
import { AnswerCache } from "./answer-cache";
import { createBanner } from "./banner";
import { createChart } from "./chart";
import { copyText } from "./clipboard";
import { createControls } from "./controls";
import { byId, h } from "./dom";
import { openEventDialog } from "./event-dialog";
import { createEventsTable } from "./events-table";
import { formatCount } from "./format";
import { createLiveFeed } from "./live-feed";
import { createResults } from "./results";
import { installShortcuts, SHORTCUTS } from "./shortcuts";
import { createTraceView } from "./trace-view";
import {
  isPreset,
  MAX_CONDITIONS,
  parseState,
  resolveWindow,
  toSearch,
  withAbsoluteRange,
  TENANT_FILTERS_CLEARED,
  type TimeWindow,
  type ViewState,
} from "./state";
import { loadView } from "./view-data";

const KEY_STORAGE = "telemetry-vault.explorer.apiKey";
/** A preset's window ("the last 24 h") is kept while filters change, so panels agree; after this long it moves to now. */
const WINDOW_REUSE_MS = 60_000;

const el = {
  keyForm: byId<HTMLFormElement>("key-form"),
  keyInput: byId<HTMLInputElement>("api-key"),
  forget: byId<HTMLButtonElement>("forget-key"),
  welcome: byId("welcome"),
  explorer: byId("explorer"),
  results: byId("results"),
  zoomOut: byId<HTMLButtonElement>("zoom-out"),
  refresh: byId<HTMLButtonElement>("refresh"),
  share: byId<HTMLButtonElement>("share"),
  shareBox: byId("share-box"),
  shareUrl: byId<HTMLInputElement>("share-url"),
  shareStatus: byId("share-status"),
  liveToggle: byId<HTMLButtonElement>("live-toggle"),
  announcer: byId("live"),
  eventDialog: byId<HTMLDialogElement>("event-dialog"),
  shortcutsDialog: byId<HTMLDialogElement>("shortcuts-dialog"),
};

let state: ViewState = parseState(location.search);
let apiKey = sessionStorage.getItem(KEY_STORAGE) ?? "";
/** Set by Forget: the next key is another tenant's, and this one's filters mean nothing there. */
let keyForgotten = false;
let viewWindow: TimeWindow = resolveWindow(state);
let windowResolvedAt = Date.now();
let generation = 0;
const cache = new AnswerCache();

const ask = <T>(body: Record<string, unknown>) => {
  const key = apiKey;
  return cache.get(body, () => query<T>(key, body));
};

const banner = createBanner({
  zone: () => state.zone,
  unauthorized() {
    sessionStorage.removeItem(KEY_STORAGE);
    apiKey = "";
    live.stop();
    traces.close();
    showWelcome();
    el.keyInput.focus();
    el.keyInput.select();
  },
});

const controls = createControls({ change: (patch) => setState(patch), window: () => viewWindow });

const chart = createChart(byId("chart"), (start, end) => {
  setState({ range: "custom", from: start.toISOString(), to: end.toISOString() });
  byId("chart").querySelector<HTMLElement>(".chart-plot")?.focus();
});

const table = createEventsTable({
  onOpen: (event) => openEvent(event),
  loadPage: (cursor, signal) => query<EventsPage>(apiKey, { cursor }, signal),
  onLoadProblem(error, retry) {
    if (error instanceof QueryProblem && ["unauthorized", "rate_limited", "unreachable", "unavailable"].includes(error.kind)) {
      banner.problem(error, retry);
      return true;
    }
    return false;
  },
});

const results = createResults({
  chart,
  table,
  controls,
  pickService: (service) => setState({ service }),
  pickType: (eventType) => setState({ eventType }),
  pickLevel(field, value) {
    const others = state.where.filter((c) => c.field !== field);
    setState({ where: value === undefined ? others : [...others, { field, op: "eq", value }] });
  },
});

const live = createLiveFeed({
  key: () => apiKey,
  table,
  chart,
  reading: () => document.querySelector("dialog[open]") !== null,
  onFailure(error) {
    setState({ live: false }, { history: "replace" });
    if (error.kind === "not_found") banner.show("failed", "Live is not available", "This server does not stream new events (no GET /tail).");
    else banner.problem(error, () => setState({ live: true }));
  },
  announce,
});

// ---- state and URL ----

/**
 * What decides which events the view holds. The zone, an open trace or a
 * marked row only change how it looks; Live only adds to what is shown.
 */
const dataKey = (s: ViewState) => toSearch({ ...s, zone: "local", trace: undefined, event: undefined, live: false });

function windowFor(next: ViewState, previous: ViewState, reload: boolean): TimeWindow {
  const sameRange = next.range === previous.range && next.from === previous.from && next.to === previous.to;
  const recent = Date.now() - windowResolvedAt < WINDOW_REUSE_MS;
  if (!reload && sameRange && (next.range === "custom" || (recent && !next.live))) return viewWindow;
  windowResolvedAt = Date.now();
  return resolveWindow(next);
}

function setState(patch: Partial<ViewState>, options: { history?: "push" | "replace" | "none"; reload?: boolean } = {}) {
  const next: ViewState = { ...state, ...patch };
  if (next.range !== "custom") {
    delete next.from;
    delete next.to;
  } else next.live = false; // Live follows "now": zooming into a fixed range ends it
  for (const field of ["service", "eventType", "q", "trace", "event"] as const) if (!next[field]) delete next[field];
  // A marked row belongs to the view that marked it.
  if (!Object.hasOwn(patch, "event") && dataKey(next) !== dataKey(state)) delete next.event;
  apply(next, options.history ?? "push", options.reload ?? false);
}

function apply(next: ViewState, history: "push" | "replace" | "none", reload: boolean) {
  const previous = state;
  state = next;
  const search = toSearch(state);
  if (history !== "none" && search !== location.search) window.history[history === "push" ? "pushState" : "replaceState"](null, "", search);
  // Going live starts from a fresh view up to now; stopping keeps what is on screen.
  const wentLive = state.live && !previous.live;
  const dataChanged = reload || wentLive || dataKey(previous) !== dataKey(state);
  if (dataChanged) viewWindow = windowFor(state, previous, reload || wentLive);
  controls.show(state, viewWindow);
  if (dataChanged) void refresh({ reload });
  else if (previous.zone !== state.zone) results.showZone(state.zone);
  if (!state.live) live.stop();
  syncTrace();
}

window.addEventListener("popstate", () => apply(parseState(location.search), "none", false));

// ---- loading ----

function setBusy(busy: boolean) {
  el.results.setAttribute("aria-busy", String(busy));
  document.body.classList.toggle("loading", busy);
}

async function refresh({ reload = false } = {}) {
  if (!apiKey) return showWelcome();
  el.welcome.hidden = true;
  el.explorer.hidden = false;
  if (reload) cache.clear();
  const gen = ++generation;
  const view = state;
  table.stopLoading();
  setBusy(true);
  try {
    const data = await loadView(ask, view, viewWindow);
    if (gen !== generation) return;
    banner.hide();
    results.show(data, view);
    announce(data.series.total === 0 ? "No events in this range" : `${formatCount(data.series.total)} events; showing the newest ${formatCount(table.events.length)}`);
    if (view.live) live.start({ serviceName: view.service, eventType: view.eventType, q: view.q, where: view.where.length ? view.where : undefined });
  } catch (error) {
    if (gen !== generation) return;
    // Nothing from the previous view may stand under the new controls.
    results.showFailed(viewWindow, view);
    banner.problem(error, () => void refresh());
    announce("The view could not be loaded");
  } finally {
    if (gen === generation) setBusy(false);
  }
}

function announce(text: string) {
  el.announcer.textContent = text;
}

// ---- the event dialog, traces and surrounding events ----

function openEvent(event: StoredEvent) {
  openEventDialog(event, state.zone, {
    filter(field, value) {
      const where = state.where.filter((c) => !(c.field === field && c.op === "eq"));
      setState({ where: [...where, { field, op: "eq" as const, value }].slice(-MAX_CONDITIONS) });
    },
    openTrace: (traceId) => setState({ trace: traceId }),
    surrounding(around) {
      const at = Date.parse(around.timestamp);
      setState({
        range: "custom",
        from: new Date(at - 60_000).toISOString(),
        to: new Date(at + 60_000).toISOString(),
        service: around.serviceName,
        eventType: undefined,
        q: undefined,
        where: [],
        live: false,
        event: around.eventId,
      });
    },
  });
}
el.eventDialog.addEventListener("close", () => live.resume());
byId("close-dialog").addEventListener("click", () => el.eventDialog.close());
el.eventDialog.addEventListener("click", (e) => e.target === el.eventDialog && el.eventDialog.close()); // the backdrop

const traces = createTraceView({
  key: () => apiKey,
  zone: () => state.zone,
  openEvent: (event) => openEvent(event),
  closed: () => setState({ trace: undefined }),
  problem: (error, retry) => banner.problem(error, retry),
});

function syncTrace() {
  if (!apiKey || !state.trace) traces.close();
  else traces.open(state.trace);
}

// ---- the key ----

function showWelcome() {
  generation++;
  setBusy(false);
  el.welcome.hidden = false;
  el.explorer.hidden = true;
  syncKeyButtons();
}

/** Forget shows whenever a key is kept, a reload included. */
function syncKeyButtons() {
  el.forget.hidden = !apiKey;
}

el.keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const value = el.keyInput.value.trim();
  if (!value) return el.keyInput.focus();
  // Another tenant's key: its services, values and traces are not this one's.
  const otherTenant = value !== apiKey && (apiKey !== "" || keyForgotten);
  apiKey = value;
  keyForgotten = false;
  sessionStorage.setItem(KEY_STORAGE, value);
  cache.clear();
  syncKeyButtons();
  banner.hide();
  live.stop();
  setState(otherTenant ? TENANT_FILTERS_CLEARED : {}, { reload: true });
});

el.forget.addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  apiKey = "";
  keyForgotten = true;
  cache.clear();
  el.keyInput.value = "";
  live.stop();
  banner.hide();
  traces.close();
  showWelcome();
  el.keyInput.focus();
});

// ---- the other controls ----

el.refresh.addEventListener("click", () => setState({}, { reload: true }));

el.zoomOut.addEventListener("click", () => {
  const span = viewWindow.end.getTime() - viewWindow.start.getTime();
  const now = Date.now();
  const end = Math.min(now, viewWindow.end.getTime() + span / 2);
  setState({ range: "custom", from: new Date(end - span * 2).toISOString(), to: new Date(end).toISOString() });
});

el.share.addEventListener("click", async () => {
  const url = new URL(toSearch(withAbsoluteRange(state, viewWindow)), location.href).href;
  el.shareBox.hidden = false;
  el.shareUrl.value = url;
  el.shareUrl.select();
  el.shareStatus.textContent = (await copyText(url)) ? "Link copied" : "Copy the link above";
});

el.liveToggle.addEventListener("click", () => toggleLive());

function toggleLive() {
  if (state.live) return setState({ live: false });
  // Live follows "now": a custom range gives way to the last hour.
  setState({ live: true, ...(isPreset(state.range) ? {} : { range: "1h" as const }) });
}

// ---- keyboard ----

byId("shortcut-list").replaceChildren(...SHORTCUTS.flatMap((s) => [h("dt", null, h("kbd", null, s.keys)), h("dd", null, s.does)]));
const showShortcuts = () => el.shortcutsDialog.showModal();
byId("show-shortcuts").addEventListener("click", showShortcuts);
byId("close-shortcuts").addEventListener("click", () => el.shortcutsDialog.close());

installShortcuts({
  search: () => {
    if (el.explorer.hidden) return;
    controls.search.focus();
    controls.search.select();
  },
  next: () => table.move(1),
  previous: () => table.move(-1),
  open() {
    const event = table.focusedEvent();
    if (event) openEvent(event);
    return event !== undefined;
  },
  close() {
    el.shareBox.hidden = true;
  },
  live: () => apiKey && toggleLive(),
  help: showShortcuts,
});

// ---- start ----

history.replaceState(null, "", toSearch(state));
el.keyInput.value = apiKey;
syncKeyButtons();
controls.show(state, viewWindow);
void refresh();
syncTrace();
