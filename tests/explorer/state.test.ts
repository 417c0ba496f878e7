/** The explorer's URL state, bucket choice, formatting and row summary, without a browser. */
import { describe, expect, test } from "bun:test";
import { DEFAULT_STATE, parseState, pickInterval, resolveWindow, toSearch, withAbsoluteRange, TENANT_FILTERS_CLEARED } from "../../src/explorer/page/state";
import { formatRelative, parseInputValue, toInputValue, zoneLabel } from "../../src/explorer/page/format";
import { levelOf, levelTone } from "../../src/explorer/page/levels";
import { summaryParts, summaryText } from "../../src/explorer/page/summary";
import { tailUrl } from "../../src/explorer/page/live";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import { testConfig } from "../support/harness";

const span = (ms: number) => ({ start: new Date(0), end: new Date(ms) });
const MIN = 60_000;

describe("explorer state", () => {
  test("round-trips through the URL, and never carries a key", () => {
    const where = encodeURIComponent('["http.status","eq",500]');
    const state = parseState(`?from=2025-01-01T00:00:00Z&to=2025-01-01T06:00:00Z&type=trace&service=web&q=timeout&where=${where}&stack=service&tz=utc&trace=abc&key=secret`);
    expect(state).toEqual({
      range: "custom",
      from: "2025-01-01T00:00:00.000Z",
      to: "2025-01-01T06:00:00.000Z",
      eventType: "trace",
      service: "web",
      q: "timeout",
      where: [{ field: "http.status", op: "eq", value: 500 }],
      stack: "service",
      zone: "utc",
      trace: "abc",
      live: false,
    });
    expect(parseState(toSearch(state))).toEqual(state);
    expect(toSearch(state)).not.toContain("secret");
    // Live follows now: only a preset range can be live.
    expect(parseState("?range=1h&live=1").live).toBe(true);
    expect(parseState("?from=2025-01-01T00:00:00Z&to=2025-01-01T06:00:00Z&live=1").live).toBe(false);
  });

  test("ignores what it does not understand, Object's own property names included", () => {
    expect(parseState("?range=3y&type=span&from=nope&to=2025-01-01T00:00:00Z")).toEqual({ ...DEFAULT_STATE, where: [] });
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
      expect(parseState(`?range=${name}&stack=${name}&type=${name}&tz=${name}&where=${name}`)).toEqual({ ...DEFAULT_STATE, where: [] });
    }
    expect(parseState("?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z").range).toBe("24h"); // reversed window
    expect(toSearch(DEFAULT_STATE)).toBe("?range=24h");
  });

  test("conditions keep their JSON type and are checked like the server checks them", () => {
    const read = (...conditions: string[]) => parseState(`?${conditions.map((c) => `where=${encodeURIComponent(c)}`).join("&")}`).where;
    expect(read('["a","eq","500"]', '["a","neq",500]', '["b","exists"]', '["c","in",[1,"x",null]]')).toEqual([
      { field: "a", op: "eq", value: "500" },
      { field: "a", op: "neq", value: 500 },
      { field: "b", op: "exists" },
      { field: "c", op: "in", value: [1, "x", null] },
    ]);
    expect(read('["a..b","eq",1]', '["a","like",1]', '["a","eq",{"x":1}]', '["a","exists",1]', '["a","contains",""]', "[1,2]")).toEqual([]);
    expect(read(...Array.from({ length: 12 }, (_, i) => `["f${i}","exists"]`))).toHaveLength(10);
  });

  test("a service keeps its spaces; a share link pins the window; another tenant drops the data filters", () => {
    expect(parseState("?service=%20padded%20").service).toBe(" padded ");
    const state = parseState("?range=1h&service=a&q=b&type=log&live=1");
    const pinned = withAbsoluteRange(state, { start: new Date(0), end: new Date(60_000) });
    expect(toSearch(pinned)).toBe("?from=1970-01-01T00%3A00%3A00.000Z&to=1970-01-01T00%3A01%3A00.000Z&type=log&service=a&q=b");
    expect(parseState(toSearch({ ...state, ...TENANT_FILTERS_CLEARED }))).toEqual({ ...DEFAULT_STATE, range: "1h", eventType: "log", live: true, where: [] });
  });

  test("presets end now; custom ranges are absolute", () => {
    expect(resolveWindow({ range: "1h" }, 10 * 3_600_000)).toEqual({ start: new Date(9 * 3_600_000), end: new Date(10 * 3_600_000) });
    const custom = parseState("?from=2025-01-01T00:00:00Z&to=2025-01-01T01:00:00Z");
    expect(resolveWindow(custom, 0).start.toISOString()).toBe("2025-01-01T00:00:00.000Z");
  });

  test("buckets: 15 min→1m, 1 h→1m, 24 h→5m, 7 d→1h, a year→1d", () => {
    expect(pickInterval(span(15 * MIN)).name).toBe("1m");
    expect(pickInterval(span(60 * MIN)).name).toBe("1m");
    expect(pickInterval(span(24 * 60 * MIN)).name).toBe("5m");
    expect(pickInterval(span(7 * 24 * 60 * MIN)).name).toBe("1h");
    expect(pickInterval(span(365 * 24 * 60 * MIN)).name).toBe("1d");
  });
});

describe("explorer formatting", () => {
  test("range fields read and write 24-hour text in the chosen zone, and refuse dates that do not exist", () => {
    const at = new Date("2025-05-03T14:05:00.000Z");
    expect(toInputValue(at, "utc")).toBe("2025-05-03 14:05");
    expect(parseInputValue("2025-05-03 14:05", "utc")).toEqual(at);
    expect(parseInputValue("2025-05-03T14:05:07.5", "utc")?.toISOString()).toBe("2025-05-03T14:05:07.500Z");
    expect(parseInputValue("2025-04-31 10:00", "utc")).toBeUndefined();
    expect(parseInputValue("2025-05-03 24:00", "utc")).toBeUndefined();
    expect(parseInputValue("yesterday", "utc")).toBeUndefined();
    expect(zoneLabel("utc")).toBe("UTC");
  });

  test("relative times are short", () => {
    const now = Date.parse("2025-05-03T12:00:00Z");
    expect(formatRelative(now - 2000, now)).toBe("now");
    expect(formatRelative(now - 42_000, now)).toBe("42s ago");
    expect(formatRelative(now - 3 * MIN, now)).toBe("3m ago");
    expect(formatRelative(now - 5 * 60 * MIN, now)).toBe("5h ago");
    expect(formatRelative(now - 2 * 24 * 60 * MIN, now)).toBe("2d ago");
    expect(formatRelative(now + 5 * MIN, now)).toBe("in 5m");
  });

  test("levels come from level, severity or severityText, in that order, in a few tones", () => {
    expect(levelOf({ severityText: "ERROR", level: "info" })).toEqual({ field: "level", text: "info", tone: "info" });
    expect(levelOf({ severityText: "WARN2" })).toEqual({ field: "severityText", text: "WARN2", tone: "warn" });
    expect(levelOf({ message: "x" })).toBeUndefined();
    expect(["fatal", "Critical", "err", "warning", "notice", "TRACE", "chatty", "50", "30", "45"].map(levelTone)).toEqual([
      "error", "error", "error", "warn", "info", "debug", "other", "error", "info", "other",
    ]);
    expect(levelOf({ level: 50 })).toEqual({ field: "level", text: "50", tone: "error" });
  });

  test("the row summary leads with the message and well-known fields, whatever the stored key order", () => {
    // jsonb's order: shorter keys first, so `ua` and `id` came before level and message and pushed them past the cut.
    const payload = { id: "x".repeat(64), ua: "y".repeat(100), level: "error", route: "/cart", status: 502, message: "payment declined" };
    const parts = summaryParts(payload, ["level"]);
    expect(summaryText(parts).startsWith("payment declined · status=502 · route=/cart · id=")).toBe(true);
    expect(summaryText(parts).length).toBeLessThanOrEqual(200 + 3 * parts.length);
    expect(parts.at(-1)!.value.endsWith("…")).toBe(true);
  });

  test("the live stream's URL carries the token and the view's filters, never the key", () => {
    const url = tailUrl("tok", { serviceName: " a ", eventType: "log", q: "x y", where: [{ field: "level", op: "eq", value: "error" }] }, "41");
    const params = new URL(url, "http://localhost").searchParams;
    expect(Object.fromEntries(params)).toEqual({ token: "tok", serviceName: " a ", eventType: "log", q: "x y", where: '[{"field":"level","op":"eq","value":"error"}]', lastEventId: "41" });
  });
});

test("the page and its assets are open; the API and anything else need a key", async () => {
  // Routing only: a store that is never reached.
  const store = new Proxy({}, { get: () => { throw new Error("the store must not be reached"); } });
  const app = createApp({ config: testConfig(), store: store as never, limiter: createMemoryRateLimiter({ limit: 100, windowMs: 60_000 }), logger: createLogger({ level: "silent" }) });
  for (const path of ["/", "/explorer/app.js", "/explorer/styles.css"]) expect((await app.request(path)).status).toBe(200);
  for (const path of ["/query", "/ingest", "/explorer", "/index.html", "/v1/traces"]) {
    expect((await app.request(path, { method: path === "/explorer" || path === "/index.html" ? "GET" : "POST" })).status).toBe(401);
  }
});
