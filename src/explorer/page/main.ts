/// <reference lib="dom" />
/**
 * The explorer page: wires the controls, the URL state, the API key (kept in
 * sessionStorage only) and the four views (chart, group-by, events, dialog).
 */
import { query, QueryProblem, type EventsPage, type GroupCounts, type StoredEvent, type TimeBuckets } from "./api";
import { createChart } from "./chart";
import { byId, h } from "./dom";
import { eventRow, openEventDialog } from "./events";
import { renderFacet } from "./facets";
import { formatCount, formatLocal, formatUtc, toLocalInput } from "./format";
import { EVENT_TYPES, parseState, pickInterval, resolveWindow, toSearch, type EventType, type TimeWindow, type ViewState } from "./state";

const KEY_STORAGE = "telemetry-vault.explorer.apiKey";
const PAGE_SIZE = 50;

const el = {
  keyForm: byId<HTMLFormElement>("key-form"),
  keyInput: byId<HTMLInputElement>("api-key"),
  forget: byId<HTMLButtonElement>("forget-key"),
  banner: byId("banner"),
  welcome: byId("welcome"),
  explorer: byId("explorer"),
  controls: byId<HTMLFormElement>("controls"),
  customRange: byId("custom-range"),
  from: byId<HTMLInputElement>("from"),
  to: byId<HTMLInputElement>("to"),
  type: byId<HTMLSelectElement>("type-filter"),
  service: byId<HTMLInputElement>("service-filter"),
  serviceOptions: byId<HTMLDataListElement>("service-options"),
  stack: byId<HTMLSelectElement>("stack"),
  refresh: byId<HTMLButtonElement>("refresh"),
  results: byId("results"),
  chartSub: byId("chart-sub"),
  chartEmpty: byId("chart-empty"),
  zoomOut: byId<HTMLButtonElement>("zoom-out"),
  eventsBody: byId<HTMLTableSectionElement>("events-body"),
  eventsCount: byId("events-count"),
  eventsEmpty: byId("events-empty"),
  eventsTable: byId("events-table"),
  sentinel: byId("events-sentinel"),
  loadMore: byId<HTMLButtonElement>("load-more"),
  loadState: byId("events-load-state"),
  facetService: byId("facet-service"),
  facetType: byId("facet-type"),
  live: byId("live"),
  dialog: byId<HTMLDialogElement>("event-dialog"),
};

let state: ViewState = parseState(location.search);
let apiKey = sessionStorage.getItem(KEY_STORAGE) ?? "";
let currentWindow: TimeWindow = resolveWindow(state);
let generation = 0;
let controller: AbortController | undefined;
let retryTimer: ReturnType<typeof setInterval> | undefined;
const list = { cursor: null as string | null, loading: false, events: [] as StoredEvent[], total: 0 };

const chart = createChart(byId("chart"), (start, end) => {
  setState({ range: "custom", from: start.toISOString(), to: end.toISOString() });
  byId("chart").querySelector<HTMLElement>(".chart-plot")?.focus();
});

// ---- state and URL ----

function setState(patch: Partial<ViewState>, options: { push?: boolean } = {}) {
  const next: ViewState = { ...state, ...patch };
  if (next.range !== "custom") {
    delete next.from;
    delete next.to;
  }
  if (!next.service) delete next.service;
  if (!next.eventType) delete next.eventType;
  const changed = toSearch(next) !== toSearch(state) || next.range !== "custom";
  state = next;
  const search = toSearch(state);
  if (search !== location.search) history[options.push === false ? "replaceState" : "pushState"](null, "", search);
  syncControls();
  if (changed) void refresh();
}

window.addEventListener("popstate", () => {
  state = parseState(location.search);
  syncControls();
  void refresh();
});

function syncControls() {
  for (const radio of el.controls.querySelectorAll<HTMLInputElement>('input[name="range"]')) radio.checked = radio.value === state.range;
  el.customRange.hidden = state.range !== "custom";
  const window = resolveWindow(state);
  el.from.value = toLocalInput(window.start);
  el.to.value = toLocalInput(window.end);
  el.type.value = state.eventType ?? "";
  el.service.value = state.service ?? "";
  el.stack.value = state.stack;
}

// ---- loading ----

function setBusy(busy: boolean) {
  el.results.setAttribute("aria-busy", String(busy));
  document.body.classList.toggle("loading", busy);
}

async function refresh() {
  clearRetry();
  if (!apiKey) return showWelcome();
  el.welcome.hidden = true;
  el.explorer.hidden = false;
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  const gen = ++generation;
  const window = (currentWindow = resolveWindow(state));
  const interval = pickInterval(window);
  const range = { startTime: window.start.toISOString(), endTime: window.end.toISOString() };
  const filters = { eventType: state.eventType, serviceName: state.service };
  setBusy(true);
  try {
    const [series, byService, byType, page] = await Promise.all([
      query<TimeBuckets>(apiKey, { ...range, ...filters, interval: interval.name, groupBy: state.stack }, signal),
      // Each facet ignores its own filter, so another key is always one press away.
      query<GroupCounts>(apiKey, { ...range, eventType: state.eventType, groupBy: "service" }, signal),
      query<GroupCounts>(apiKey, { ...range, serviceName: state.service, groupBy: "eventType" }, signal),
      query<EventsPage>(apiKey, { ...range, ...filters, limit: PAGE_SIZE }, signal),
    ]);
    if (gen !== generation) return;
    hideBanner();
    el.chartSub.textContent = `${formatCount(series.total)} events · per ${interval.label} · ${formatLocal(window.start)} – ${formatLocal(window.end)}`;
    el.chartSub.title = `${formatUtc(window.start)} – ${formatUtc(window.end)}`;
    el.chartEmpty.hidden = series.total > 0;
    chart.render({ window, interval, stack: state.stack, buckets: series.data });
    const services = byService.data.map((row) => ({ key: String(row.key), count: row.count }));
    const types = byType.data.map((row) => ({ key: String(row.key), count: row.count }));
    renderFacet(el.facetService, "Service", { rows: services, active: state.service }, (key) => setState({ service: key }));
    renderFacet(el.facetType, "Type", { rows: types, active: state.eventType }, (key) => setState({ eventType: key as EventType | undefined }));
    el.serviceOptions.replaceChildren(...services.map((row) => h("option", { value: row.key }, `${formatCount(row.count)} events`)));
    list.events = [];
    list.total = page.pagination.total ?? 0;
    el.eventsBody.replaceChildren();
    appendPage(page);
    announce(series.total === 0 ? "No events in this range" : `${formatCount(page.pagination.total ?? 0)} events; showing the newest ${formatCount(list.events.length)}`);
  } catch (error) {
    if (gen !== generation || signal.aborted) return;
    showProblem(error);
  } finally {
    if (gen === generation) setBusy(false);
  }
}

function appendPage(page: EventsPage) {
  list.events.push(...page.data);
  list.cursor = page.nextCursor;
  el.eventsBody.append(...page.data.map(eventRow));
  el.eventsEmpty.hidden = list.events.length > 0;
  el.eventsTable.hidden = list.events.length === 0;
  el.eventsCount.textContent = list.total ? `${formatCount(list.events.length)} of ${formatCount(list.total)}, newest first` : "";
  el.loadMore.hidden = !list.cursor;
  el.loadMore.textContent = "Load more";
  el.loadState.textContent = "";
  requestAnimationFrame(loadMoreIfVisible);
}

async function loadMore() {
  if (!list.cursor || list.loading || !apiKey) return;
  list.loading = true;
  const gen = generation;
  el.loadState.textContent = "Loading more…";
  el.results.setAttribute("aria-busy", "true");
  try {
    const page = await query<EventsPage>(apiKey, { cursor: list.cursor }, controller?.signal);
    if (gen !== generation) return;
    appendPage(page);
    announce(`Showing ${formatCount(list.events.length)} of ${formatCount(list.total)} events`);
  } catch (error) {
    if (gen !== generation || controller?.signal.aborted) return;
    if (error instanceof QueryProblem && (error.kind === "unauthorized" || error.kind === "rate_limited")) showProblem(error, loadMore);
    else {
      el.loadState.textContent = `Could not load more: ${error instanceof Error ? error.message : String(error)}`;
      el.loadMore.textContent = "Try again";
    }
  } finally {
    list.loading = false;
    if (gen === generation) el.results.setAttribute("aria-busy", "false");
  }
}

function loadMoreIfVisible() {
  if (list.cursor && !list.loading && el.sentinel.getBoundingClientRect().top < window.innerHeight + 300) void loadMore();
}

new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadMore(), { rootMargin: "0px 0px 300px 0px" }).observe(el.sentinel);

// ---- problems ----

function showBanner(kind: string, title: string, message: string, action?: { label: string; run: () => void }) {
  el.banner.dataset.kind = kind;
  el.banner.replaceChildren(
    h("div", { class: "banner-text" }, h("strong", { class: "banner-title" }, title), h("span", { id: "banner-message" }, message)),
    action ? h("button", { type: "button", class: "banner-action", onclick: action.run }, action.label) : "",
  );
  el.banner.hidden = false;
}

function hideBanner() {
  el.banner.hidden = true;
  el.banner.replaceChildren();
  delete el.banner.dataset.kind;
}

function clearRetry() {
  if (retryTimer) clearInterval(retryTimer);
  retryTimer = undefined;
}

function showProblem(error: unknown, retry: () => void = () => void refresh()) {
  if (!(error instanceof QueryProblem)) {
    showBanner("failed", "Something went wrong", error instanceof Error ? error.message : String(error), { label: "Retry", run: retry });
    return;
  }
  switch (error.kind) {
    case "unauthorized":
      sessionStorage.removeItem(KEY_STORAGE);
      apiKey = "";
      showWelcome();
      showBanner("unauthorized", "Key not accepted", "The server did not accept this API key (401). Check it and connect again.");
      el.keyInput.focus();
      el.keyInput.select();
      return;
    case "rate_limited": {
      const seconds = error.retryAfterSeconds ?? 5;
      const at = new Date(Date.now() + seconds * 1000);
      const tick = () => {
        const left = Math.max(0, Math.ceil((at.getTime() - Date.now()) / 1000));
        const text = `Too many requests for this key. Retry in ${left} s (at ${at.toLocaleTimeString()}).`;
        if (el.banner.dataset.kind === "rate_limited") {
          const message = document.getElementById("banner-message");
          if (message) message.textContent = text;
        } else showBanner("rate_limited", "Rate limited", text, { label: "Retry now", run: retry });
        if (left === 0) {
          clearRetry();
          retry();
        }
      };
      clearRetry();
      hideBanner();
      tick();
      retryTimer = setInterval(tick, 1000);
      return;
    }
    case "unreachable":
      showBanner("unreachable", "Server unreachable", "The Telemetry Vault server could not be reached. Check that it is running and that you are online.", {
        label: "Retry",
        run: retry,
      });
      return;
    case "unavailable":
      showBanner(
        "unavailable",
        "Service unavailable",
        `${error.message}${error.retryAfterSeconds ? ` Retry in ${error.retryAfterSeconds} s.` : ""}`,
        { label: "Retry", run: retry },
      );
      return;
    case "invalid":
      showBanner("invalid", "Query rejected", error.message);
      return;
    default:
      showBanner("failed", `Request failed${error.status ? ` (${error.status})` : ""}`, error.message, { label: "Retry", run: retry });
  }
}

function showWelcome() {
  controller?.abort();
  generation++;
  setBusy(false);
  el.welcome.hidden = false;
  el.explorer.hidden = true;
  el.forget.hidden = !apiKey;
}

function announce(text: string) {
  el.live.textContent = text;
}

// ---- controls ----

el.keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const value = el.keyInput.value.trim();
  if (!value) return el.keyInput.focus();
  apiKey = value;
  sessionStorage.setItem(KEY_STORAGE, value);
  el.forget.hidden = false;
  hideBanner();
  void refresh();
});

el.forget.addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  apiKey = "";
  el.keyInput.value = "";
  hideBanner();
  showWelcome();
  el.keyInput.focus();
});

el.controls.addEventListener("change", (e) => {
  const target = e.target as HTMLInputElement | HTMLSelectElement;
  if (target.name === "range") {
    if (target.value === "custom") {
      el.customRange.hidden = false;
      el.from.value = toLocalInput(currentWindow.start);
      el.to.value = toLocalInput(currentWindow.end);
    } else setState({ range: target.value as ViewState["range"] });
  } else if (target === el.type) setState({ eventType: (el.type.value || undefined) as EventType | undefined });
  else if (target === el.service) setState({ service: el.service.value.trim() || undefined });
});
el.stack.addEventListener("change", () => setState({ stack: el.stack.value === "service" ? "service" : "eventType" }));
el.service.addEventListener("search", () => setState({ service: el.service.value.trim() || undefined }));

el.controls.addEventListener("submit", (e) => {
  e.preventDefault();
  const patch: Partial<ViewState> = { service: el.service.value.trim() || undefined };
  if (!el.customRange.hidden) {
    const from = new Date(el.from.value);
    const to = new Date(el.to.value);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to) {
      el.to.setCustomValidity("The end must be after the start");
      el.to.reportValidity();
      return;
    }
    el.to.setCustomValidity("");
    Object.assign(patch, { range: "custom", from: from.toISOString(), to: to.toISOString() });
  }
  setState(patch);
});
el.to.addEventListener("input", () => el.to.setCustomValidity(""));

el.refresh.addEventListener("click", () => void refresh());
el.loadMore.addEventListener("click", () => void loadMore());

el.zoomOut.addEventListener("click", () => {
  const span = currentWindow.end.getTime() - currentWindow.start.getTime();
  const now = Date.now();
  let end = currentWindow.end.getTime() + span / 2;
  if (end > now) end = now;
  const start = end - span * 2;
  setState({ range: "custom", from: new Date(start).toISOString(), to: new Date(end).toISOString() });
});

el.eventsBody.addEventListener("click", (e) => {
  const row = (e.target as HTMLElement).closest<HTMLTableRowElement>("tr[data-event-id]");
  if (!row || (e.target as HTMLElement).closest("a")) return;
  const event = list.events.find((ev) => ev.eventId === row.dataset.eventId);
  if (!event) return;
  openEventDialog(event);
});
byId("close-dialog").addEventListener("click", () => el.dialog.close());
el.dialog.addEventListener("click", (e) => {
  if (e.target === el.dialog) el.dialog.close(); // a click on the backdrop
});

// ---- start ----

for (const type of EVENT_TYPES) el.type.append(h("option", { value: type }, type));
history.replaceState(null, "", toSearch(state));
el.keyInput.value = apiKey;
syncControls();
void refresh();
