/// <reference lib="dom" />
/** The group-by panel: counts per key; pressing a key filters by it, pressing it again clears the filter. */
import { h } from "./dom";
import { formatCount } from "./format";

export interface FacetInput {
  rows: { key: string; count: number }[];
  active?: string;
}

export function renderFacet(list: HTMLElement, name: string, input: FacetInput, onPick: (key: string | undefined) => void) {
  const max = Math.max(1, ...input.rows.map((r) => r.count));
  if (input.rows.length === 0) {
    list.replaceChildren(h("li", { class: "muted" }, "No events"));
    return;
  }
  list.replaceChildren(
    ...input.rows.map((row) => {
      const pressed = row.key === input.active;
      const bar = h("span", { class: "facet-bar", "aria-hidden": "true" });
      bar.style.width = `${Math.max(2, (row.count / max) * 100)}%`;
      return h(
        "li",
        null,
        h(
          "button",
          {
            type: "button",
            class: "facet",
            "aria-pressed": pressed ? "true" : "false",
            "data-key": row.key,
            "aria-label": `${name} ${row.key}: ${formatCount(row.count)} events${pressed ? ", filtering; press to clear" : ", press to filter"}`,
            onclick: () => onPick(pressed ? undefined : row.key),
          },
          bar,
          h("span", { class: "facet-key" }, row.key),
          h("span", { class: "facet-count" }, formatCount(row.count)),
        ),
      );
    }),
  );
}
