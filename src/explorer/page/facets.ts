/// <reference lib="dom" />
/**
 * A group-by panel: counts per key; pressing a key filters by it, pressing it
 * again clears the filter. Long lists show their top rows and a "Show all"
 * button, and then scroll inside the panel: 300 services once made an
 * 11,000 px sidebar.
 */
import type { GroupRow } from "./api";
import { bdi, h, isolated } from "./dom";
import { formatCount } from "./format";
import type { Scalar } from "./state";

export const FACET_CAP = 10;

export interface FacetOptions {
  /** What a key is, for screen readers: "service", "type", "level". */
  noun: string;
  rows: GroupRow[];
  /** The key the view is filtered by, if any. */
  active?: Scalar;
  expanded: boolean;
  onPick: (key: Scalar | undefined) => void;
  onExpand: (expanded: boolean) => void;
  cap?: number;
}

const same = (a: Scalar | undefined, b: Scalar | undefined) => a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);

function label(row: GroupRow): string {
  if (row.other) return "Other values";
  if (row.key === null) return "(no value)";
  return String(row.key);
}

/** A name whose spaces at either end matter says so in its tooltip, quoted: " checkout " is not "checkout". */
function title(row: GroupRow): string {
  const text = label(row);
  return typeof row.key === "string" && row.key !== row.key.trim() ? `“${isolated(row.key)}” (spaces at the ends are part of the name)` : isolated(text);
}

function facetButton(row: GroupRow, options: FacetOptions, max: number): HTMLElement {
  const bar = h("span", { class: "facet-bar", "aria-hidden": "true" });
  bar.style.width = `${Math.max(2, (row.count / max) * 100)}%`;
  const pickable = !row.other && row.key !== null;
  const pressed = pickable && same(row.key, options.active);
  const content = [
    bar,
    bdi(label(row), { class: `facet-key${pickable ? "" : " muted"}` }),
    h("span", { class: "facet-count" }, formatCount(row.count)),
    // The visible key and count start the accessible name, as they should; this says what they are.
    h("span", { class: "sr-only" }, ` events${pressed ? ", filtering; press to clear" : pickable ? ", press to filter" : ""}`),
  ];
  if (!pickable) return h("div", { class: "facet facet-static", title: title(row) }, ...content);
  return h(
    "button",
    {
      type: "button",
      class: "facet",
      "aria-pressed": pressed ? "true" : "false",
      "data-key": String(row.key),
      title: title(row),
      onclick: () => options.onPick(pressed ? undefined : (row.key as Scalar)),
    },
    ...content,
  );
}

export function renderFacet(list: HTMLElement, options: FacetOptions) {
  const cap = options.cap ?? FACET_CAP;
  // Values first; "(no value)" and "Other values" after them, however large.
  const rows = [...options.rows.filter((r) => !r.other && r.key !== null), ...options.rows.filter((r) => r.other || r.key === null)];
  if (rows.length === 0) {
    list.replaceChildren(h("li", { class: "muted" }, "No events"));
    return;
  }
  const max = Math.max(1, ...rows.map((r) => r.count));
  let shown = options.expanded || rows.length <= cap + 1 ? rows : rows.slice(0, cap);
  // The key being filtered by stays in view even when it is not among the top ones.
  const active = rows.find((r) => !r.other && same(r.key, options.active));
  if (active && !shown.includes(active)) shown = [...shown, active];
  const items = shown.map((row) => h("li", null, facetButton(row, options, max)));
  if (rows.length > cap + 1) {
    const more = h(
      "button",
      { type: "button", class: "facet-more", "aria-expanded": String(options.expanded), onclick: () => options.onExpand(!options.expanded) },
      options.expanded ? "Show fewer" : `Show all ${formatCount(rows.length)} ${options.noun === "service" ? "services" : "values"}`,
    );
    items.push(h("li", { class: "facet-more-row" }, more));
  }
  list.classList.toggle("expanded", options.expanded);
  list.replaceChildren(...items);
}
