/**
 * WCAG contrast of text as the browser draws it: the element's computed
 * colour against the backgrounds under it, translucent layers (a badge's 14%
 * tint) blended the way the browser blends them.
 *
 * `textContrast` runs inside the page (page.evaluate): it is self-contained.
 */

export interface ContrastReading {
  selector: string;
  text: string;
  ratio: number;
  fontSize: string;
}

export function textContrast(selectors: string[]): ContrastReading[] {
  type Rgba = [number, number, number, number];

  function parse(colour: string): Rgba {
    const rgb = /^rgba?\(([^)]+)\)$/.exec(colour);
    if (rgb) {
      const [r, g, b, a] = rgb[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
      return [r!, g!, b!, a ?? 1];
    }
    // color-mix(in srgb, …) computes to color(srgb r g b / a), channels from 0 to 1.
    const srgb = /^color\(srgb ([^)]+)\)$/.exec(colour);
    if (srgb) {
      const [channels, alpha] = srgb[1]!.split("/");
      const [r, g, b] = channels!.trim().split(/\s+/).map(Number);
      return [r! * 255, g! * 255, b! * 255, alpha === undefined ? 1 : Number(alpha)];
    }
    throw new Error(`a colour this check cannot read: ${colour}`);
  }

  const over = (top: Rgba, bottom: Rgba): Rgba => {
    const a = top[3];
    return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
  };

  function luminance([r, g, b]: Rgba): number {
    const channel = (c: number) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  }

  /** The colour behind an element: its own background and its ancestors', down to the first opaque one. */
  function backdrop(el: Element): Rgba {
    const layers: Rgba[] = [];
    for (let node: Element | null = el; node; node = node.parentElement) {
      const layer = parse(getComputedStyle(node).backgroundColor);
      if (layer[3] > 0) layers.push(layer);
      if (layer[3] >= 1) break;
    }
    let colour: Rgba = [255, 255, 255, 1]; // the canvas, if nothing is opaque
    const root = parse(getComputedStyle(document.documentElement).backgroundColor);
    if (root[3] >= 1) colour = root;
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  }

  const readings: ContrastReading[] = [];
  for (const selector of selectors) {
    const found = [...document.querySelectorAll(selector)].filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && el.textContent?.trim();
    });
    if (found.length === 0) throw new Error(`nothing visible matches ${selector}`);
    for (const el of found.slice(0, 3)) {
      const style = getComputedStyle(el);
      const bg = backdrop(el);
      const fg = over(parse(el instanceof SVGElement ? style.fill : style.color), bg);
      const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      readings.push({ selector, text: el.textContent!.trim().slice(0, 40), ratio: Math.round(((light! + 0.05) / (dark! + 0.05)) * 100) / 100, fontSize: style.fontSize });
    }
  }
  return readings;
}
