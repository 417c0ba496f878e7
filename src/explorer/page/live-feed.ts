/// <reference lib="dom" />
/**
 * The Live toggle: new events go to the top of the table and into the
 * chart's last bucket as they arrive. While the user reads (scrolled into the
 * list, or a payload open) they wait instead, so nothing moves under the
 * pointer, and a "n new events" marker says how many are waiting.
 */
import type { QueryProblem, StoredEvent } from "./api";
import type { Chart } from "./chart";
import { byId } from "./dom";
import type { EventsTable } from "./events-table";
import { formatCount } from "./format";
import { createLiveStream, type LiveStatus, type TailFilters } from "./live";

export interface LiveFeedOptions {
  key: () => string;
  table: EventsTable;
  chart: Chart;
  /** A dialog is open over the page. */
  reading: () => boolean;
  onFailure: (error: QueryProblem) => void;
  announce: (text: string) => void;
}

const STATUS_TEXT: Record<LiveStatus, string> = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", off: "" };

export function createLiveFeed(options: LiveFeedOptions) {
  const toggle = byId<HTMLButtonElement>("live-toggle");
  const status = byId("live-status");
  const marker = byId<HTMLButtonElement>("live-new");
  let waiting: StoredEvent[] = [];
  let skipped = 0;
  let scheduled = false;

  const stream = createLiveStream({
    key: options.key,
    onEvent(event) {
      waiting.push(event);
      schedule();
    },
    onDropped(count) {
      skipped += count;
      showStatus("live");
    },
    onStatus: (next, detail) => showStatus(next, detail),
    onFailure: (error) => {
      toggle.setAttribute("aria-pressed", "false");
      options.onFailure(error);
    },
  });

  function showStatus(next: LiveStatus, detail?: string) {
    const parts = [STATUS_TEXT[next]];
    if (detail) parts.push(`(${detail})`);
    if (next !== "off" && skipped) parts.push(`· ${formatCount(skipped)} skipped: they came faster than this page could take them`);
    status.textContent = parts.join(" ");
    status.dataset.status = next;
  }

  function showMarker() {
    marker.hidden = waiting.length === 0;
    marker.textContent = `${formatCount(waiting.length)} new event${waiting.length === 1 ? "" : "s"}`;
  }

  const paused = () => options.reading() || options.table.scrolledIntoList();

  /** Shows what waits, at most once a frame however fast events come. */
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      if (paused()) showMarker();
      else flush();
    });
  }

  function flush() {
    if (waiting.length === 0) return showMarker();
    const arrived = waiting;
    waiting = [];
    options.table.prepend([...arrived].reverse()); // newest on top
    options.chart.addEvents(arrived);
    options.announce(`${formatCount(arrived.length)} new event${arrived.length === 1 ? "" : "s"}`);
    showMarker();
  }

  marker.addEventListener("click", () => {
    byId("events-title").scrollIntoView({ block: "start" });
    flush();
  });
  // Back at the top of the list: what waited comes in.
  window.addEventListener("scroll", () => waiting.length && schedule(), { passive: true });

  return {
    /** Streams the view's filters (restarting only when they changed). */
    start(filters: TailFilters) {
      toggle.setAttribute("aria-pressed", "true");
      // Other filters: what waited was for the old ones.
      if (stream.start(filters)) {
        waiting = [];
        skipped = 0;
        showMarker();
      }
    },
    stop() {
      toggle.setAttribute("aria-pressed", "false");
      stream.stop();
      waiting = [];
      skipped = 0;
      showMarker();
    },
    /** A dialog closed or the view settled: show what waited, if the user is not reading. */
    resume: () => waiting.length && schedule(),
  };
}

export type LiveFeed = ReturnType<typeof createLiveFeed>;
