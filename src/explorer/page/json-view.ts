/// <reference lib="dom" />
/**
 * Formatted, collapsible JSON built from native <details>, so it is keyboard
 * and screen-reader friendly. Each value whose field the server can address
 * (a dot path: no key with a dot in it) is a button: pressing it adds
 * `field = value` to the view's conditions.
 */
import { bdi, h } from "./dom";
import { isFieldPath, isScalar, type Scalar } from "./state";

export interface JsonViewOptions {
  /** A value was pressed; `field` is its dot path (array indexes left out: the server matches any element). */
  onPick?: (field: string, value: Scalar) => void;
  /** A top-level traceId / trace_id was pressed. */
  onTrace?: (traceId: string) => void;
}

const TRACE_KEYS = ["traceId", "trace_id"];

function text(value: Scalar): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function kind(value: Scalar): string {
  if (typeof value === "string") return "j-string";
  if (typeof value === "number") return "j-number";
  if (typeof value === "boolean") return "j-bool";
  return "j-null";
}

function primitive(value: Scalar, path: string | undefined, options: JsonViewOptions): HTMLElement {
  const shown = bdi(text(value));
  if (typeof value === "string" && path !== undefined && TRACE_KEYS.includes(path) && options.onTrace) {
    return h("button", { type: "button", class: `j-value j-trace ${kind(value)}`, "data-field": path, title: "Open this trace's events", onclick: () => options.onTrace!(value) }, shown);
  }
  if (path !== undefined && isFieldPath(path) && isScalar(value) && options.onPick) {
    return h(
      "button",
      { type: "button", class: `j-value ${kind(value)}`, "data-field": path, title: `Filter: ${path} = ${text(value)}`, onclick: () => options.onPick!(path, value) },
      shown,
    );
  }
  return h("span", { class: kind(value) }, shown);
}

/** `path` is the dot path so far, or undefined once a key cannot be part of one (it holds a dot, or is empty). */
function node(key: string | undefined, value: unknown, path: string | undefined, depth: number, options: JsonViewOptions): HTMLElement {
  const label = key === undefined ? null : h("span", { class: "j-key" }, bdi(JSON.stringify(key)), ": ");
  if (value === null || typeof value !== "object") return h("div", { class: "j-line" }, label, primitive(value as Scalar, path, options));

  const isArray = Array.isArray(value);
  const entries = isArray ? (value as unknown[]).map((v, i) => [String(i), v] as const) : Object.entries(value as object);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return h("div", { class: "j-line" }, label, h("span", { class: "j-punct" }, open + close));

  const childPath = (k: string) => {
    if (isArray) return path; // any element of the array
    if (path === undefined || k === "" || k.includes(".")) return undefined;
    return path === "" ? k : `${path}.${k}`;
  };
  const size = isArray ? `${entries.length} item${entries.length === 1 ? "" : "s"}` : `${entries.length} key${entries.length === 1 ? "" : "s"}`;
  return h(
    "details",
    { class: "j-node", open: depth < 3 },
    h("summary", null, label, h("span", { class: "j-punct" }, open), h("span", { class: "j-size" }, ` ${size} `), h("span", { class: "j-punct j-close-inline" }, close)),
    h("div", { class: "j-children" }, ...entries.map(([k, v]) => node(isArray ? undefined : k, v, childPath(k), depth + 1, options))),
    h("div", { class: "j-punct" }, close),
  );
}

export function jsonView(value: unknown, options: JsonViewOptions = {}): HTMLElement {
  return h("div", { class: "json-view" }, node(undefined, value, "", 0, options));
}
