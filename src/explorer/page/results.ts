/// <reference lib="dom" />
/**
 * Puts one loaded view on the page: the chart and its heading, the group-by
 * panels, the service suggestions and the events table; or, when the view
 * failed to load, empties them so nothing from the previous view stands
 * under the new controls.
 */
import type { Chart, ChartInput } from "./chart";
import type { Controls } from "./controls";
import { byId, h } from "./dom";
import type { EventsTable } from "./events-table";
import { renderFacet } from "./facets";
import { formatCount, formatMinute, formatRelative, formatUtc, zoneLabel, type Zone } from "./format";
import { pickInterval, type EventType, type Scalar, type TimeWindow, type ViewState } from "./state";
import type { ViewData } from "./view-data";

export interface ResultsOptions {
  chart: Chart;
  table: EventsTable;
  controls: Controls;
  /** A panel's key was pressed (undefined: pressed again, to clear). */
  pickService: (service: string | undefined) => void;
  pickType: (type: EventType | undefined) => void;
  pickLevel: (field: string, value: Scalar | undefined) => void;
}

export function createResults(options: ResultsOptions) {
  const { chart, table, controls } = options;
  const el = {
    chartSub: byId("chart-sub"),
    chartEmpty: byId("chart-empty"),
    facetService: byId("facet-service"),
    facetType: byId("facet-type"),
    facetLevel: byId("facet-level"),
    levelTitle: byId("by-level-title"),
  };
  /** Whether the long panels show all their rows; kept while views change. */
  const expanded = { service: false, level: false };
  let shown: { data: ViewData; view: ViewState } | undefined;

  const chartInput = (data: ViewData, view: ViewState): ChartInput => ({
    window: data.window,
    interval: data.interval,
    stack: view.stack,
    buckets: data.series.data,
    zone: view.zone,
  });

  function showChartHeading(data: ViewData, view: ViewState) {
    const { start, end } = data.window;
    const ago = view.range === "custom" ? "" : ` (until ${formatRelative(end)})`;
    el.chartSub.textContent = `${formatCount(data.series.total)} events · per ${data.interval.label} · ${formatMinute(start, view.zone)} – ${formatMinute(end, view.zone)} ${zoneLabel(view.zone, end.getTime())}${ago}`;
    el.chartSub.title = `${formatUtc(start)} – ${formatUtc(end)}`;
  }

  function showFacets(data: ViewData, view: ViewState) {
    renderFacet(el.facetService, {
      noun: "service",
      rows: data.services,
      active: view.service,
      expanded: expanded.service,
      onPick: (key) => options.pickService(key === undefined ? undefined : String(key)),
      onExpand: (open) => {
        expanded.service = open;
        showFacets(data, view);
      },
    });
    renderFacet(el.facetType, {
      noun: "type",
      rows: data.types,
      active: view.eventType,
      expanded: true,
      onPick: (key) => options.pickType(key === undefined ? undefined : (String(key) as EventType)),
      onExpand: () => {},
    });
    const levels = data.levels;
    el.levelTitle.textContent = levels && levels.field !== "level" ? `By ${levels.field}` : "By level";
    if (!levels) {
      el.facetLevel.replaceChildren(h("li", { class: "muted" }, "No level, severity or severityText field"));
      return;
    }
    const active = view.where.find((c) => c.field === levels.field && c.op === "eq");
    renderFacet(el.facetLevel, {
      noun: "level",
      rows: levels.rows,
      active: active && "value" in active ? (active.value as Scalar) : undefined,
      expanded: expanded.level,
      onPick: (key) => options.pickLevel(levels.field, key),
      onExpand: (open) => {
        expanded.level = open;
        showFacets(data, view);
      },
    });
  }

  return {
    show(data: ViewData, view: ViewState) {
      shown = { data, view };
      showChartHeading(data, view);
      el.chartEmpty.hidden = data.series.total > 0;
      el.chartEmpty.textContent = "No events in this range. Try a wider range or fewer filters.";
      chart.render(chartInput(data, view));
      showFacets(data, view);
      const services = data.services.filter((row) => typeof row.key === "string").map((row) => ({ key: row.key as string, count: row.count }));
      controls.setServices(services);
      controls.suggestService(data.series.total === 0 ? view.service : undefined, services.map((s) => s.key));
      table.show(data.page, data.series.total, { zone: view.zone, mark: view.event });
    },

    showFailed(window: TimeWindow, view: ViewState) {
      shown = undefined;
      el.chartSub.textContent = "Not loaded";
      el.chartEmpty.hidden = false;
      el.chartEmpty.textContent = "This view could not be loaded; see the message above.";
      chart.render({ window, interval: pickInterval(window), stack: view.stack, buckets: [], zone: view.zone });
      for (const list of [el.facetService, el.facetType, el.facetLevel]) list.replaceChildren(h("li", { class: "muted" }, "Not loaded"));
      table.clear("Events not loaded for this view.");
    },

    /** UTC ↔ local: the same data drawn again, nothing asked of the server. */
    showZone(zone: Zone) {
      table.setZone(zone);
      if (!shown) return;
      shown = { data: shown.data, view: { ...shown.view, zone } };
      showChartHeading(shown.data, shown.view);
      chart.render(chartInput(shown.data, shown.view));
    },
  };
}
