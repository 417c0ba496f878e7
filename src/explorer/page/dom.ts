/// <reference lib="dom" />
/** A tiny element builder: attributes as strings, `on*` functions as listeners, children as nodes or text. */

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

function apply(el: Element, props: Props | null | undefined, children: Child[]) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") el.setAttribute("class", String(value));
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "object" ? child : String(child));
  }
  return el;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  return apply(document.createElement(tag), props, children) as HTMLElementTagNameMap[K];
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): SVGElementTagNameMap[K] {
  return apply(document.createElementNS(SVG_NS, tag), props, children) as SVGElementTagNameMap[K];
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

/**
 * A string from the data (a service name, a message, a value), isolated from
 * the text around it. Without this a U+202E (right-to-left override) in a
 * service name reverses everything after it on the line, so "svc: 12" would
 * read "21 :…". Every user string goes on the page through here.
 */
export const bdi = (text: string, props?: Props | null) => h("bdi", props, text);

/** The same isolation for places that take plain text only (aria-label, title): FSI … PDI. */
export const isolated = (text: string) => `\u2068${text}\u2069`;
