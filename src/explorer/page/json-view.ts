/// <reference lib="dom" />
/** Formatted, collapsible JSON built from native <details>, so it is keyboard and screen-reader friendly. */
import { h } from "./dom";

function primitive(value: unknown): HTMLElement {
  if (typeof value === "string") return h("span", { class: "j-string" }, JSON.stringify(value));
  if (typeof value === "number") return h("span", { class: "j-number" }, String(value));
  if (typeof value === "boolean") return h("span", { class: "j-bool" }, String(value));
  return h("span", { class: "j-null" }, "null");
}

function node(key: string | undefined, value: unknown, depth: number): HTMLElement {
  const label = key === undefined ? null : h("span", { class: "j-key" }, `${JSON.stringify(key)}: `);
  if (value === null || typeof value !== "object") return h("div", { class: "j-line" }, label, primitive(value));

  const isArray = Array.isArray(value);
  const entries = isArray ? (value as unknown[]).map((v, i) => [String(i), v] as const) : Object.entries(value as object);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return h("div", { class: "j-line" }, label, h("span", { class: "j-punct" }, open + close));

  const size = isArray ? `${entries.length} item${entries.length === 1 ? "" : "s"}` : `${entries.length} key${entries.length === 1 ? "" : "s"}`;
  return h(
    "details",
    { class: "j-node", open: depth < 3 },
    h("summary", null, label, h("span", { class: "j-punct" }, open), h("span", { class: "j-size" }, ` ${size} `), h("span", { class: "j-punct j-close-inline" }, close)),
    h("div", { class: "j-children" }, ...entries.map(([k, v]) => node(isArray ? undefined : k, v, depth + 1))),
    h("div", { class: "j-punct" }, close),
  );
}

export function jsonView(value: unknown): HTMLElement {
  return h("div", { class: "json-view" }, node(undefined, value, 0));
}
