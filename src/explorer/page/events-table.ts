/// <reference lib="dom" />
/**
 * The events table: newest first, more pages by cursor as it scrolls into
 * view, live events added at the top, and j/k to move between rows.
 *
 * Each row's button is named by what it shows (the time, in the page's zone),
 * followed by what a screen reader needs to know (level, type, service).
 */
import type { EventsPage, StoredEvent } from "./api";
import { bdi, byId, h, isolated } from "./dom";
import { formatCount, formatRelative, formatTime, formatUtc, zoneLabel, type Zone } from "./format";
import { levelOf } from "./levels";
import { summaryParts } from "./summary";

export interface EventsTableOptions {
  onOpen: (event: StoredEvent) => void;
  /** The next page after `cursor`. */
  loadPage: (cursor: string, signal: AbortSignal) => Promise<EventsPage>;
  /** A failed page: true when the page showed the problem itself (a banner with its own retry). */
  onLoadProblem: (error: unknown, retry: () => void) => boolean;
}

function summaryCell(payload: Record<string, unknown>, skip: string[]): HTMLElement {
  const parts = summaryParts(payload, skip);
  if (parts.length === 0) return h("span", { class: "summary muted" }, "{}");
  const nodes: (Node | string)[] = [];
  parts.forEach((part, i) => {
    if (i > 0) nodes.push(h("span", { class: "sep", "aria-hidden": "true" }, " · "));
    if (part.key) nodes.push(h("span", { class: "s-key" }, bdi(part.key), "="));
    nodes.push(bdi(part.value));
  });
  return h("span", { class: "summary" }, ...nodes);
}

export function eventRow(event: StoredEvent, zone: Zone, now: number, marked: boolean): HTMLTableRowElement {
  const level = levelOf(event.payload);
  const described = `, ${level ? `${isolated(level.text)} ` : ""}${event.eventType} from ${isolated(event.serviceName)}, open payload`;
  return h(
    "tr",
    { "data-event-id": event.eventId, "aria-current": marked ? "true" : null, class: marked ? "marked" : null },
    h(
      "td",
      { class: "col-time" },
      h(
        "button",
        { type: "button", class: "row-open", "aria-haspopup": "dialog" },
        h("time", { datetime: event.timestamp, title: formatUtc(event.timestamp) }, formatTime(event.timestamp, zone)),
        h("span", { class: "sr-only" }, described),
      ),
      h("span", { class: "age", "data-time": event.timestamp }, formatRelative(event.timestamp, now)),
    ),
    h("td", { class: "col-level" }, level ? h("span", { class: `level-badge level-${level.tone}`, title: `${level.field}: ${isolated(level.text)}` }, bdi(level.text)) : ""),
    h("td", { class: "col-type" }, h("span", { class: `type-badge type-${event.eventType}` }, event.eventType)),
    h("td", { class: "col-service", title: isolated(event.serviceName) }, bdi(event.serviceName)),
    h("td", { class: "col-summary" }, summaryCell(event.payload, level ? [level.field] : [])),
  );
}

export function createEventsTable(options: EventsTableOptions) {
  const el = {
    body: byId<HTMLTableSectionElement>("events-body"),
    table: byId("events-table"),
    timeHead: byId("time-head"),
    count: byId("events-count"),
    empty: byId("events-empty"),
    sentinel: byId("events-sentinel"),
    loadMore: byId<HTMLButtonElement>("load-more"),
    loadState: byId("events-load-state"),
  };
  let events: StoredEvent[] = [];
  let total: number | null = 0;
  let cursor: string | null = null;
  let zone: Zone = "local";
  let marked: string | undefined;
  let loading: AbortController | undefined;

  function showCounts() {
    el.empty.hidden = events.length > 0;
    el.table.hidden = events.length === 0;
    el.count.textContent = total ? `${formatCount(events.length)} of ${formatCount(total)}, newest first` : "";
    el.loadMore.hidden = !cursor;
  }

  function append(list: StoredEvent[]) {
    const now = Date.now();
    events.push(...list);
    el.body.append(...list.map((e) => eventRow(e, zone, now, e.eventId === marked)));
  }

  function stopLoading() {
    loading?.abort();
    loading = undefined;
    el.loadState.textContent = "";
    el.loadMore.textContent = "Load more";
  }

  async function loadMore() {
    if (!cursor || loading) return;
    const controller = (loading = new AbortController());
    el.loadState.textContent = "Loading more…";
    try {
      const page = await options.loadPage(cursor, controller.signal);
      if (controller.signal.aborted) return;
      loading = undefined;
      el.loadState.textContent = "";
      append(page.data);
      cursor = page.nextCursor;
      showCounts();
      requestAnimationFrame(loadIfVisible);
    } catch (error) {
      if (controller.signal.aborted) return;
      loading = undefined;
      // Never leave "Loading more…" behind: the banner or the line below says what happened instead.
      el.loadState.textContent = "";
      if (!options.onLoadProblem(error, () => void loadMore())) {
        el.loadState.textContent = `Could not load more: ${error instanceof Error ? error.message : String(error)}`;
        el.loadMore.textContent = "Try again";
      }
    }
  }

  function loadIfVisible() {
    if (cursor && !loading && !el.table.hidden && el.sentinel.getBoundingClientRect().top < window.innerHeight + 300) void loadMore();
  }

  new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadIfVisible(), { rootMargin: "0px 0px 300px 0px" }).observe(el.sentinel);
  el.loadMore.addEventListener("click", () => void loadMore());
  el.body.addEventListener("click", (e) => {
    const button = (e.target as HTMLElement).closest(".row-open");
    const row = button?.closest<HTMLTableRowElement>("tr[data-event-id]");
    const event = row && events.find((ev) => ev.eventId === row.dataset.eventId);
    if (event) options.onOpen(event);
  });
  // Relative times ("3m ago") age while the page is open.
  setInterval(() => {
    const now = Date.now();
    for (const age of el.body.querySelectorAll<HTMLElement>(".age")) age.textContent = formatRelative(age.dataset.time!, now);
  }, 15_000);

  const rows = () => [...el.body.querySelectorAll<HTMLTableRowElement>("tr[data-event-id]")];

  return {
    get events(): readonly StoredEvent[] {
      return events;
    },
    /** A new view's first page. `mark` is an event to point out (aria-current). */
    show(page: EventsPage, count: number | null, view: { zone: Zone; mark?: string }) {
      stopLoading();
      zone = view.zone;
      marked = view.mark;
      el.timeHead.textContent = `Time (${zoneLabel(zone)})`;
      events = [];
      el.body.replaceChildren();
      append(page.data);
      cursor = page.nextCursor;
      total = count;
      el.empty.textContent = "No events in this range.";
      showCounts();
      el.body.querySelector('tr[aria-current="true"]')?.scrollIntoView({ block: "center" });
      requestAnimationFrame(loadIfVisible);
    },
    /** Nothing to show: the view failed to load. The old rows must not stand in for the new view. */
    clear(message: string) {
      stopLoading();
      events = [];
      cursor = null;
      total = 0;
      el.body.replaceChildren();
      showCounts();
      el.empty.textContent = message;
    },
    /** Live events, newest first, at the top. */
    prepend(list: StoredEvent[]) {
      const now = Date.now();
      const fresh = list.filter((e) => !events.some((known) => known.eventId === e.eventId && known.timestamp === e.timestamp));
      events.unshift(...fresh);
      el.body.prepend(...fresh.map((e) => Object.assign(eventRow(e, zone, now, false), { className: "fresh" })));
      if (total !== null) total += fresh.length;
      showCounts();
    },
    /** Times in another zone: the same rows, drawn again. */
    setZone(next: Zone) {
      zone = next;
      el.timeHead.textContent = `Time (${zoneLabel(zone)})`;
      const now = Date.now();
      el.body.replaceChildren(...events.map((e) => eventRow(e, zone, now, e.eventId === marked)));
    },
    /** j / k: focus the next or previous row's button (the first row when none has focus). */
    move(delta: 1 | -1) {
      const all = rows();
      if (all.length === 0) return;
      const current = all.findIndex((row) => row.contains(document.activeElement));
      const next = current < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + delta));
      const button = all[next]!.querySelector<HTMLButtonElement>(".row-open")!;
      button.focus({ preventScroll: true });
      all[next]!.scrollIntoView({ block: "nearest" });
      if (next === all.length - 1) loadIfVisible();
    },
    /** The row a keyboard user is on, for Enter. */
    focusedEvent(): StoredEvent | undefined {
      const row = (document.activeElement as HTMLElement | null)?.closest?.<HTMLTableRowElement>("#events-body tr[data-event-id]");
      return row ? events.find((e) => e.eventId === row.dataset.eventId) : undefined;
    },
    /** Whether the user has scrolled past the newest rows (live events then wait, so rows do not move under them). */
    scrolledIntoList(): boolean {
      const first = el.body.rows[0];
      return first !== undefined && first.getBoundingClientRect().top < 0;
    },
    stopLoading,
  };
}

export type EventsTable = ReturnType<typeof createEventsTable>;
