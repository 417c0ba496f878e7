/**
 * A field path names a value inside a payload: keys joined by dots
 * (`http.status`). A key that holds a dot itself, as OpenTelemetry
 * attribute names do (`http.route`), writes it as `\.`, and a backslash as
 * `\\`: `attributes.http\.route`.
 */
export function splitFieldPath(path: string): string[] | undefined {
  const segments: string[] = [];
  let current = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "\\") {
      const next = path[i + 1];
      if (next !== "." && next !== "\\") return undefined;
      current += next;
      i++;
    } else if (c === ".") {
      segments.push(current);
      current = "";
    } else current += c;
  }
  segments.push(current);
  return segments;
}
