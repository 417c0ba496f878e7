/// <reference lib="dom" />
/**
 * The volume chart: events per time bucket, stacked by series, drawn as SVG.
 * Drag across it (or pick a bucket with the arrow keys and press Enter) to
 * zoom. The same numbers are in a visually hidden table for screen readers
 * and tests.
 */
import type { Bucket, StoredEvent } from "./api";
import { bdi, h, isolated, svg } from "./dom";
import { formatCount, formatMinute, formatTick, zoneLabel, zoneOffsetMinutes, type Zone } from "./format";
import { EVENT_TYPES, type Interval, type Stack, type TimeWindow } from "./state";

export interface ChartInput {
  window: TimeWindow;
  interval: Interval;
  stack: Stack;
  buckets: Bucket[];
  zone: Zone;
}

interface Series {
  key: string;
  label: string;
  color: number;
  total: number;
}

interface Column {
  start: number;
  counts: Map<string, number>;
  total: number;
}

const HEIGHT = 220;
const MARGIN = { top: 12, right: 12, bottom: 26, left: 48 };
const MAX_SERIES = 7;
const OTHER = "\u0000other";
const TICK_STEPS = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080].map((m) => m * 60_000);
/** Room one x-axis label needs, gap included: "May 30" or "14:05" at 11 px. */
const TICK_SPACING_PX = 64;

function seriesFor(input: ChartInput): Series[] {
  const totals = new Map<string, number>();
  for (const b of input.buckets) totals.set(keyText(b), (totals.get(keyText(b)) ?? 0) + b.count);
  if (input.stack === "eventType") {
    // Fixed colours per type, so "log" always looks the same.
    const known = EVENT_TYPES.filter((t) => totals.has(t)).map((t) => ({ key: t, label: t, color: EVENT_TYPES.indexOf(t), total: totals.get(t)! }));
    const unknown = [...totals].filter(([k]) => !(EVENT_TYPES as readonly string[]).includes(k));
    return [...known, ...unknown.map(([key, total], i) => ({ key, label: key, color: 3 + (i % 4), total }))];
  }
  const ranked = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const top = ranked.slice(0, ranked.length > MAX_SERIES ? MAX_SERIES - 1 : MAX_SERIES);
  const series: Series[] = top.map(([key, total], i) => ({ key, label: key, color: i, total }));
  const rest = ranked.slice(top.length);
  // Says what the number next to it counts: "Other services (19): 6" read as 6 events of 19 services; "19 more: 6" did not.
  if (rest.length) series.push({ key: OTHER, label: `Other services (${formatCount(rest.length)})`, color: 7, total: rest.reduce((s, [, n]) => s + n, 0) });
  return series;
}

/** A bucket's key as the series it belongs to. */
function keyText(b: Bucket): string {
  return b.other ? OTHER : b.key === undefined || b.key === null ? "" : String(b.key);
}

function columnsFor(input: ChartInput, series: Series[]): Column[] {
  const named = new Set(series.map((s) => s.key));
  const byStart = new Map<number, Column>();
  for (const b of input.buckets) {
    const start = Date.parse(b.bucket);
    const column = byStart.get(start) ?? { start, counts: new Map(), total: 0 };
    const key = named.has(keyText(b)) ? keyText(b) : OTHER;
    column.counts.set(key, (column.counts.get(key) ?? 0) + b.count);
    column.total += b.count;
    byStart.set(start, column);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** A round axis maximum and step: 1, 2 or 5 times a power of ten. */
function niceScale(max: number, ticks = 4): { top: number; step: number } {
  if (max <= 0) return { top: ticks, step: 1 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw && Number.isInteger(s)) ?? Math.ceil(raw);
  return { top: Math.ceil(max / step) * step, step };
}

export function createChart(root: HTMLElement, onZoom: (start: Date, end: Date) => void) {
  const plot = h("div", { class: "chart-plot", tabindex: 0, role: "group", "aria-roledescription": "chart", "aria-describedby": "chart-help" });
  const tooltip = h("div", { class: "chart-tooltip", role: "status", "aria-live": "polite", hidden: true });
  const legend = h("ul", { class: "chart-legend", "aria-label": "Series" });
  const table = h("table", { id: "chart-data" });
  // The wrapper, not the table, is visually hidden: a table ignores height: 1px and grew the page by its full height.
  root.replaceChildren(plot, tooltip, legend, h("div", { class: "sr-only" }, table));

  let input: ChartInput | undefined;
  let series: Series[] = [];
  let columns: Column[] = [];
  let domain = { start: 0, end: 1, slots: 1 };
  let focusSlot = -1;
  let drag: { from: number; to: number; pointer: number } | undefined;

  const plotWidth = () => Math.max(40, plot.clientWidth - MARGIN.left - MARGIN.right);
  const xOf = (ms: number) => MARGIN.left + ((ms - domain.start) / (domain.end - domain.start)) * plotWidth();
  const timeAt = (clientX: number) => {
    const x = clientX - plot.getBoundingClientRect().left - MARGIN.left;
    const ratio = Math.min(1, Math.max(0, x / plotWidth()));
    return domain.start + ratio * (domain.end - domain.start);
  };
  const slotAt = (ms: number) => Math.min(domain.slots - 1, Math.floor((ms - domain.start) / input!.interval.ms));

  function drawTicks(chart: SVGSVGElement, width: number, zone: Zone) {
    // As many labels as fit (about one per 64 px), on round times of the page's zone.
    const span = domain.end - domain.start;
    const tickStep = TICK_STEPS.find((s) => span / s <= plotWidth() / TICK_SPACING_PX) ?? TICK_STEPS[TICK_STEPS.length - 1]!;
    const offset = zoneOffsetMinutes(domain.start, zone) * 60_000;
    for (let t = Math.ceil((domain.start + offset) / tickStep) * tickStep - offset; t <= domain.end; t += tickStep) {
      const x = xOf(t);
      chart.append(
        svg("line", { class: "tick", x1: x, x2: x, y1: HEIGHT - MARGIN.bottom, y2: HEIGHT - MARGIN.bottom + 4 }),
        // Labels at the edges are kept inside the drawing.
        svg("text", { class: "axis", x, y: HEIGHT - 8, "text-anchor": x > width - 24 ? "end" : x < MARGIN.left + 16 ? "start" : "middle" }, formatTick(t, tickStep, zone)),
      );
    }
  }

  function draw() {
    if (!input) return;
    const width = plot.clientWidth || 600;
    const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const step = input.interval.ms;
    const { top, step: yStep } = niceScale(Math.max(0, ...columns.map((c) => c.total)));
    const yOf = (n: number) => MARGIN.top + innerH - (n / top) * innerH;
    const slotW = plotWidth() / domain.slots;
    const gap = slotW > 5 ? Math.min(4, slotW * 0.18) : 0;

    const chart = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, "aria-hidden": "true", focusable: "false" });
    for (let n = 0; n <= top; n += yStep) {
      chart.append(
        svg("line", { class: "grid", x1: MARGIN.left, x2: width - MARGIN.right, y1: yOf(n), y2: yOf(n) }),
        svg("text", { class: "axis", x: MARGIN.left - 8, y: yOf(n) + 4, "text-anchor": "end" }, formatCount(n)),
      );
    }
    drawTicks(chart, width, input.zone);
    chart.append(svg("line", { class: "baseline", x1: MARGIN.left, x2: width - MARGIN.right, y1: yOf(0), y2: yOf(0) }));

    for (const column of columns) {
      const x = xOf(column.start) + gap / 2;
      let base = 0;
      for (const s of series) {
        const count = column.counts.get(s.key) ?? 0;
        if (!count) continue;
        const y0 = yOf(base);
        const y1 = yOf(base + count);
        chart.append(svg("rect", { class: `bar c${s.color}`, x, y: y1, width: Math.max(1, slotW - gap), height: Math.max(1, y0 - y1) }));
        base += count;
      }
    }
    if (focusSlot >= 0) {
      const x = xOf(domain.start + focusSlot * step);
      chart.append(svg("rect", { class: "focus-slot", x, y: MARGIN.top, width: Math.max(2, slotW), height: innerH }));
    }
    if (drag) {
      const [a, b] = [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)];
      chart.append(svg("rect", { class: "selection", x: xOf(a), y: MARGIN.top, width: Math.max(1, xOf(b) - xOf(a)), height: innerH }));
    }
    plot.replaceChildren(chart);
  }

  function showTooltip(slot: number, clientX?: number) {
    if (!input || slot < 0) {
      tooltip.hidden = true;
      return;
    }
    const start = domain.start + slot * input.interval.ms;
    const column = columns.find((c) => c.start === start);
    const rows = series
      .filter((s) => column?.counts.get(s.key))
      .map((s) =>
        // Label and count in elements of their own: nothing in a name can move the number.
        h("li", null, h("span", { class: `swatch c${s.color}`, "aria-hidden": "true" }), bdi(s.label, { class: "tip-key" }), h("span", { class: "tip-count" }, formatCount(column!.counts.get(s.key)!))),
      );
    tooltip.replaceChildren(
      h("strong", null, `${formatMinute(start, input.zone)} ${zoneLabel(input.zone, start)} · ${formatCount(column?.total ?? 0)} events`),
      rows.length ? h("ul", null, ...rows) : "",
    );
    tooltip.hidden = false;
    const x = clientX !== undefined ? clientX - root.getBoundingClientRect().left : xOf(start);
    const left = Math.min(Math.max(8, x + 12), root.clientWidth - tooltip.offsetWidth - 8);
    tooltip.style.left = `${Math.max(0, left)}px`;
  }

  function zoomTo(a: number, b: number) {
    if (!input) return;
    const step = input.interval.ms;
    const start = Math.floor(Math.min(a, b) / step) * step;
    const end = Math.max(start + step, Math.ceil(Math.max(a, b) / step) * step);
    onZoom(new Date(start), new Date(end));
  }

  plot.addEventListener("pointerdown", (e) => {
    if (!input || e.button !== 0) return;
    const t = timeAt(e.clientX);
    drag = { from: t, to: t, pointer: e.pointerId };
    plot.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  plot.addEventListener("pointermove", (e) => {
    if (!input) return;
    const t = timeAt(e.clientX);
    if (drag && drag.pointer === e.pointerId) {
      drag.to = t;
      draw();
    }
    showTooltip(slotAt(t), e.clientX);
  });
  plot.addEventListener("pointerup", (e) => {
    if (!drag || drag.pointer !== e.pointerId) return;
    const { from, to } = drag;
    drag = undefined;
    draw();
    // A click (not a drag) does nothing; a drag zooms to the buckets it crossed.
    if (Math.abs(xOf(to) - xOf(from)) >= 6) zoomTo(from, to);
  });
  plot.addEventListener("pointercancel", () => {
    drag = undefined;
    draw();
  });
  plot.addEventListener("pointerleave", () => {
    if (!drag) tooltip.hidden = true;
  });
  plot.addEventListener("keydown", (e) => {
    if (!input) return;
    if (e.key === "Escape" && (drag || focusSlot >= 0)) {
      drag = undefined;
      focusSlot = -1;
      tooltip.hidden = true;
      draw();
      e.stopPropagation(); // handled: not the page's Escape
      return;
    }
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    const move = Object.hasOwn(moves, e.key) ? moves[e.key]! : undefined;
    if (move !== undefined) {
      const base = focusSlot < 0 ? (move > 0 ? -1 : domain.slots) : focusSlot;
      focusSlot = Math.min(domain.slots - 1, Math.max(0, base + move));
      draw();
      showTooltip(focusSlot);
      e.preventDefault();
    } else if (e.key === "Enter" && focusSlot >= 0) {
      const start = domain.start + focusSlot * input.interval.ms;
      zoomTo(start, start + input.interval.ms);
      e.preventDefault();
    }
  });
  plot.addEventListener("blur", () => {
    focusSlot = -1;
    tooltip.hidden = true;
    draw();
  });
  new ResizeObserver(() => draw()).observe(plot);

  function fillTable() {
    if (!input) return;
    const zone = input.zone;
    const per = input.stack === "service" ? "service" : "event type";
    table.dataset.interval = input.interval.name;
    table.dataset.total = String(columns.reduce((sum, c) => sum + c.total, 0));
    table.replaceChildren(
      h("caption", null, `Events per ${input.interval.label}, by ${per}`),
      h(
        "thead",
        null,
        h("tr", null, h("th", { scope: "col" }, `Bucket start (${zoneLabel(zone)})`), ...series.map((s) => h("th", { scope: "col" }, bdi(s.label))), h("th", { scope: "col" }, "Total")),
      ),
      h(
        "tbody",
        null,
        ...columns.map((c) =>
          h(
            "tr",
            { "data-bucket": new Date(c.start).toISOString(), "data-total": c.total },
            h("th", { scope: "row" }, h("time", { datetime: new Date(c.start).toISOString() }, formatMinute(c.start, zone))),
            ...series.map((s) => h("td", { "data-key": s.key === OTHER ? "(other)" : s.key }, c.counts.get(s.key) ?? 0)),
            h("td", null, c.total),
          ),
        ),
      ),
    );
  }

  function render(next: ChartInput) {
    // A copy: the buckets belong to a cached answer, and live events add to them.
    input = { ...next, buckets: next.buckets.map((b) => ({ ...b })) };
    series = seriesFor(input);
    columns = columnsFor(input, series);
    const step = next.interval.ms;
    const start = Math.floor(next.window.start.getTime() / step) * step;
    const lastColumn = columns.at(-1)?.start ?? start;
    const end = Math.max(start + step, Math.ceil(next.window.end.getTime() / step) * step, lastColumn + step);
    domain = { start, end, slots: Math.round((end - start) / step) };
    focusSlot = -1;
    drag = undefined;
    tooltip.hidden = true;
    const total = columns.reduce((s, c) => s + c.total, 0);
    plot.setAttribute(
      "aria-label",
      `Events per ${next.interval.label} from ${formatMinute(next.window.start, next.zone)} to ${formatMinute(next.window.end, next.zone)} ${zoneLabel(next.zone)}: ${formatCount(total)} in total`,
    );
    legend.replaceChildren(
      ...series.map((s) =>
        h(
          "li",
          { title: isolated(s.label) },
          h("span", { class: `swatch c${s.color}`, "aria-hidden": "true" }),
          bdi(s.label, { class: "legend-key" }),
          h("span", { class: "legend-count" }, formatCount(s.total)),
        ),
      ),
    );
    fillTable();
    draw();
  }

  return {
    render,
    /** Live events: one more each in its bucket, the window stretched to the newest. */
    addEvents(events: StoredEvent[]) {
      if (!input || events.length === 0) return;
      const step = input.interval.ms;
      let end = input.window.end.getTime();
      for (const event of events) {
        const ms = Date.parse(event.timestamp);
        if (ms < input.window.start.getTime()) continue;
        const bucket = new Date(Math.floor(ms / step) * step).toISOString();
        const key = input.stack === "service" ? event.serviceName : event.eventType;
        const known = input.buckets.find((b) => b.bucket === bucket && !b.other && b.key === key);
        if (known) known.count += 1;
        else input.buckets.push({ bucket, key, count: 1 });
        end = Math.max(end, ms);
      }
      render({ ...input, window: { start: input.window.start, end: new Date(end) } });
    },
    get total() {
      return columns.reduce((s, c) => s + c.total, 0);
    },
  };
}

export type Chart = ReturnType<typeof createChart>;
