/** The explorer's URL state and bucket choice, without a browser. */
import { describe, expect, test } from "bun:test";
import { DEFAULT_STATE, parseState, pickInterval, resolveWindow, toSearch } from "../../src/explorer/page/state";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import { testConfig } from "../support/harness";

const span = (ms: number) => ({ start: new Date(0), end: new Date(ms) });
const MIN = 60_000;

describe("explorer state", () => {
  test("round-trips through the URL, and never carries a key", () => {
    const state = parseState("?from=2025-01-01T00:00:00Z&to=2025-01-01T06:00:00Z&type=trace&service=web&stack=service&key=secret");
    expect(state).toEqual({ range: "custom", from: "2025-01-01T00:00:00.000Z", to: "2025-01-01T06:00:00.000Z", eventType: "trace", service: "web", stack: "service" });
    expect(parseState(toSearch(state))).toEqual(state);
    expect(toSearch(state)).not.toContain("secret");
  });

  test("ignores what it does not understand", () => {
    expect(parseState("?range=3y&type=span&from=nope&to=2025-01-01T00:00:00Z")).toEqual(DEFAULT_STATE);
    expect(parseState("?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z").range).toBe("24h"); // reversed window
    expect(toSearch(DEFAULT_STATE)).toBe("?range=24h");
  });

  test("presets end now; custom ranges are absolute", () => {
    expect(resolveWindow({ range: "1h", stack: "eventType" }, 10 * 3_600_000)).toEqual({ start: new Date(9 * 3_600_000), end: new Date(10 * 3_600_000) });
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

  test("the page and its assets are open; the API and anything else need a key", async () => {
    // Routing only: a store that is never reached.
    const store = new Proxy({}, { get: () => { throw new Error("the store must not be reached"); } });
    const app = createApp({ config: testConfig(), store: store as never, limiter: createMemoryRateLimiter({ limit: 100, windowMs: 60_000 }), logger: createLogger({ level: "silent" }) });
    for (const path of ["/", "/explorer/app.js", "/explorer/styles.css"]) expect((await app.request(path)).status).toBe(200);
    for (const path of ["/query", "/ingest", "/explorer", "/index.html", "/v1/traces"]) {
      expect((await app.request(path, { method: path === "/explorer" || path === "/index.html" ? "GET" : "POST" })).status).toBe(401);
    }
  });
});
