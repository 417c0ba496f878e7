/**
 * When loading fails: a server with a tight rate limit (real 429s with
 * Retry-After), and the same server stopped and started again (really
 * unreachable). The page must never show the previous view's data under the
 * new controls, nor a "Loading more…" that will not end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { chartTotal, hasChromium, requireChromium, settled, startExplorer, type ExplorerHarness } from "./harness";
import { makeDataSet } from "./fixtures";

const KEY = "limited-key";
// Few requests per short window: a test can spend them all, then see them come back.
const WINDOW_MS = 5000;

requireChromium();

describe.skipIf(!hasChromium)("the explorer when loading fails", () => {
  const data = makeDataSet();
  let app: ExplorerHarness;
  const path = `/?${new URLSearchParams({ from: data.from, to: data.to })}`;

  beforeAll(async () => {
    app = await startExplorer({ apiKeys: `${KEY}:limited-tenant`, env: { RATE_LIMIT_MAX_REQUESTS: "40", RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) } });
    await app.ingest(data.events, KEY); // one request of the 40
  }, 90_000);

  afterAll(() => app?.close());

  /**
   * Spends the key's requests for this window, as another tab or script of the
   * tenant would. A refused body (limit 0) counts like any other request and
   * never reaches the store, so the window is spent in well under its length.
   */
  async function spendRateLimit() {
    for (let round = 0; round < 10; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const response = await fetch(`${app.url}/query`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: '{"limit":0}' });
          await response.arrayBuffer();
          return response.status;
        }),
      );
      if (statuses.includes(429)) return;
    }
    throw new Error("the rate limit never answered 429");
  }

  const rows = (page: Page) => page.locator("#events-body tr").count();

  test("a rate-limited view shows no stale data, no endless 'Loading more…', a 24-hour retry time, and loads by itself when it may", async () => {
    const page = await app.open({ key: KEY, path });
    expect(await rows(page)).toBe(50);

    // The next page of the list is refused.
    await spendRateLimit();
    await page.locator("#events-sentinel").scrollIntoViewIfNeeded();
    const banner = page.getByRole("alert");
    await banner.getByText("Rate limited").waitFor();
    expect(await banner.textContent()).toMatch(/Retry in \d+ s \(at \d{2}:\d{2}:\d{2}\)\./);
    expect(await page.locator("#events-load-state").textContent()).toBe("");

    // A new view is refused: the old rows, chart and panels must not stand in for it.
    await page.locator("#events-title").scrollIntoViewIfNeeded();
    await spendRateLimit(); // still spent, however long the steps above took
    await page.locator('#facet-type button[data-key="log"]').click();
    await page.waitForFunction(() => document.querySelector("#chart-sub")?.textContent === "Not loaded");
    expect(await page.getByLabel("Type", { exact: true }).inputValue()).toBe("log");
    expect(await rows(page)).toBe(0);
    expect(await page.locator("#events-empty").textContent()).toBe("Events not loaded for this view.");
    expect(await page.locator("#facet-service").textContent()).toBe("Not loaded");
    expect(await page.locator("#events-load-state").textContent()).toBe("");
    expect(await banner.getByText("Rate limited").isVisible()).toBe(true);

    // When the window has room again the page retries on its own, and shows the view the controls say.
    await page.waitForFunction(() => document.querySelector("#chart-sub")?.textContent !== "Not loaded", undefined, { timeout: 15_000 });
    await settled(page);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    expect(await chartTotal(page)).toBe(data.events.filter((e) => e.eventType === "log").length);
    expect(await page.locator("#events-body tr .type-badge").allTextContents()).toEqual(Array(44).fill("log"));
  }, 30_000);

  test("a stopped server is shown as unreachable, with nothing stale; Retry works once it is back", async () => {
    // A fresh window: the test above spent this key's requests, then loaded a view with what came back.
    await Bun.sleep(WINDOW_MS);
    const page = await app.open({ key: KEY, path });
    expect(await rows(page)).toBe(50);
    await app.server.stop("SIGKILL");
    try {
      await page.getByRole("button", { name: "Refresh" }).click();
      const banner = page.getByRole("alert");
      await banner.getByText("Server unreachable").waitFor();
      expect(await rows(page)).toBe(0);
      expect(await page.locator("#chart-sub").textContent()).toBe("Not loaded");
    } finally {
      await app.restart();
    }
    await page.getByRole("alert").getByRole("button", { name: "Retry" }).click();
    await settled(page);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    expect(await chartTotal(page)).toBe(130);
    expect(await rows(page)).toBe(50);
  }, 30_000);

  test("the page threw no errors", () => {
    expect(app.pageErrors).toEqual([]);
  });
});
