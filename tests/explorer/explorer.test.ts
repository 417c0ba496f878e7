/**
 * The explorer end to end: the real server process, a known data set
 * ingested over HTTP, and the page driven in Debian's chromium. This file
 * covers the core views, the URL, the key and what a view change costs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  browserTest,
  chartBuckets,
  chartTotal,
  hasChromium,
  INTERVAL_MS,
  KEY_STORAGE,
  navigated,
  queriesDuring,
  requireChromium,
  rowIds,
  search,
  settled,
  startExplorer,
  type ExplorerHarness,
} from "./harness";
import { expectedBuckets, makeDataSet, makeOtherTenantSet, newestFirst } from "./fixtures";

const KEY = "explorer-key";
const OTHER_KEY = "other-key";

requireChromium();

describe.skipIf(!hasChromium)("explorer in a real browser", () => {
  const data = makeDataSet();
  const all = [...data.events, ...data.outside];
  const other = makeOtherTenantSet();
  let app: ExplorerHarness;
  const windowPath = `/?${new URLSearchParams({ from: data.from, to: data.to })}`;

  beforeAll(async () => {
    app = await startExplorer({ apiKeys: `${KEY}:explorer-tenant,${OTHER_KEY}:other-tenant` });
    await Promise.all([app.ingest(all, KEY), app.ingest(other, OTHER_KEY)]);
  }, 90_000);

  afterAll(() => app?.close());

  browserTest("the page and its assets need no key, send strict headers and load nothing from elsewhere", async () => {
    const html = await fetch(`${app.url}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(html.headers.get("content-security-policy")).toContain("default-src 'none'");
    for (const asset of ["/explorer/app.js", "/explorer/styles.css"]) {
      const response = await fetch(`${app.url}${asset}`);
      expect(response.status).toBe(200);
      const etag = response.headers.get("etag")!;
      expect((await fetch(`${app.url}${asset}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    }
    // The API itself still wants a key.
    expect((await fetch(`${app.url}/query`, { method: "POST", body: "{}" })).status).toBe(401);

    const page = await app.open({ path: windowPath });
    expect(await page.getByRole("heading", { name: "Look at your telemetry" }).isVisible()).toBe(true);
    expect(await page.locator("#explorer").isHidden()).toBe(true);
  });

  browserTest("with the key, the chart's buckets and the panels match the ingested counts", async () => {
    const page = await app.open({ path: windowPath });
    await page.getByLabel("API key", { exact: true }).fill(KEY);
    await page.getByRole("button", { name: "Connect" }).click();
    await settled(page);
    expect(await page.evaluate((k) => sessionStorage.getItem(k), KEY_STORAGE)).toBe(KEY);
    expect(page.url()).not.toContain(KEY);

    const interval = await page.$eval("#chart-data", (t) => (t as HTMLElement).dataset.interval!);
    expect(interval).toBe("5m"); // 6 hours → 5-minute buckets
    expect(await chartBuckets(page)).toEqual(expectedBuckets(data.events, INTERVAL_MS[interval]!));
    expect(await chartTotal(page)).toBe(130);
    const logs = await page.$$eval('#chart-data tbody td[data-key="log"]', (cells) => cells.reduce((s, c) => s + Number(c.textContent), 0));
    expect(logs).toBe(data.events.filter((e) => e.eventType === "log").length);

    const facet = (list: string) =>
      page.$$eval(`${list} button`, (buttons) => buttons.map((b) => [(b as HTMLElement).dataset.key, b.querySelector(".facet-count")!.textContent]));
    expect(await facet("#facet-service")).toEqual([
      ["checkout-api", "65"],
      ["web-frontend", "39"],
      ["ledger-worker", "26"],
    ]);
    expect(await facet("#facet-type")).toEqual([
      ["log", "44"],
      ["metric", "43"],
      ["trace", "43"],
    ]);
    const levels = Object.fromEntries(await facet("#facet-level"));
    expect(levels).toMatchObject({ error: "4", info: String(data.events.filter((e) => e.payload.level === "info").length) });
    expect(await page.locator("#facet-level .facet-static").textContent()).toContain("(no value)"); // metrics and spans have none
    expect(await page.locator("#events-count").textContent()).toBe("50 of 130, newest first");
  });

  browserTest("the table lists the newest first and loads the next pages by cursor on scroll", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const expected = newestFirst(data.events);
    expect(await rowIds(page)).toEqual(expected.slice(0, 50).map((e) => e.eventId));

    const first = page.locator("#events-body tr").first();
    const newest = expected[0]!;
    expect(await first.locator(".col-type").textContent()).toBe(newest.eventType);
    expect(await first.locator(".col-service").textContent()).toBe(newest.serviceName);
    expect(await first.locator("time").getAttribute("datetime")).toBe(newest.timestamp);
    expect(await first.locator("time").getAttribute("title")).toBe(`${newest.timestamp.replace("T", " ").replace("Z", "")} UTC`);

    await page.locator("#events-sentinel").scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelectorAll("#events-body tr").length >= 100);
    await page.locator("#events-sentinel").scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelectorAll("#events-body tr").length === 130);
    expect(await rowIds(page)).toEqual(expected.map((e) => e.eventId));
    expect(await page.locator("#load-more").isHidden()).toBe(true);
    expect(await page.locator("#events-count").textContent()).toBe("130 of 130, newest first");
  });

  browserTest("a row opens its full payload as formatted JSON, equal to what was sent", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const trace = data.events.find((e) => e.eventId === "evt-0125")!;
    await page.locator(`#events-body tr[data-event-id="${trace.eventId}"] .row-open`).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.getByRole("heading", { level: 2 }).textContent()).toBe(`trace · ${trace.serviceName}`);
    expect(JSON.parse((await page.locator("#event-raw").textContent())!)).toEqual(trace.payload);
    expect(await page.locator("#event-payload details").count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator("#event-payload .j-key", { hasText: '"attributes"' }).count()).toBe(1);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  browserTest("pressing a service filters by it at the cost of 3 queries; stacking costs 2, the zone none; a reload shows the same view", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    // Before: every view change asked 4 questions. The service panel ignores its own filter, so it is not asked again.
    const asked = await queriesDuring(page, async () => {
      await page.locator('#facet-service button[data-key="web-frontend"]').click();
    });
    expect(asked).toBe(3);
    expect(search(page).get("service")).toBe("web-frontend");
    const only = data.events.filter((e) => e.serviceName === "web-frontend");
    expect(await chartTotal(page)).toBe(only.length);
    expect(await chartBuckets(page)).toEqual(expectedBuckets(only, 300_000));
    expect(await rowIds(page)).toEqual(newestFirst(only).map((e) => e.eventId));
    expect(await page.locator('#facet-service button[data-key="web-frontend"]').getAttribute("aria-pressed")).toBe("true");

    expect(
      await queriesDuring(page, async () => {
        await page.getByLabel("Stack by").selectOption("service");
      }),
    ).toBe(2);
    expect(await queriesDuring(page, () => page.locator('label[for="zone-utc"]').click())).toBe(0);
    expect(search(page).get("tz")).toBe("utc");

    const url = page.url();
    await page.reload();
    await settled(page);
    expect(page.url()).toBe(url);
    expect(await page.getByLabel("Service", { exact: true }).inputValue()).toBe("web-frontend");
    expect(await page.locator("#range-custom").isChecked()).toBe(true);
    expect(await page.locator("#zone-utc").isChecked()).toBe(true);
    expect(await chartTotal(page)).toBe(only.length);
    expect(await rowIds(page)).toEqual(newestFirst(only).map((e) => e.eventId));

    // Pressing it again clears the filter; Back returns to it.
    await page.locator('#facet-service button[data-key="web-frontend"]').click();
    await settled(page);
    expect(await chartTotal(page)).toBe(130);
    await page.goBack();
    await settled(page);
    expect(await chartTotal(page)).toBe(only.length);
  });

  browserTest("dragging across the chart zooms to the buckets crossed; presets and empty ranges", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const box = (await page.locator(".chart-plot").boundingBox())!;
    const before = new URL(page.url()).search;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await navigated(page, before);
    const [from, to] = [Date.parse(search(page).get("from")!), Date.parse(search(page).get("to")!)];
    expect(from).toBeGreaterThan(Date.parse(data.from));
    expect(to).toBeLessThan(Date.parse(data.to));
    const inside = data.events.filter((e) => Date.parse(e.timestamp) >= from && Date.parse(e.timestamp) <= to);
    expect(inside.length).toBeGreaterThan(0);
    expect(await chartTotal(page)).toBe(inside.length);

    // The keyboard does the same: pick the last bucket with End, zoom with Enter.
    const beforeKeys = new URL(page.url()).search;
    const bucketMs = INTERVAL_MS[await page.$eval("#chart-data", (t) => (t as HTMLElement).dataset.interval!)]!;
    await page.locator(".chart-plot").focus();
    await page.keyboard.press("End");
    expect(await page.locator(".chart-tooltip").isVisible()).toBe(true);
    await page.keyboard.press("Enter");
    await navigated(page, beforeKeys);
    expect(Date.parse(search(page).get("to")!) - Date.parse(search(page).get("from")!)).toBe(bucketMs);

    await page.locator('label[for="range-24h"]').click();
    await settled(page);
    expect(search(page).get("range")).toBe("24h");
    expect(await chartTotal(page)).toBe(all.length);

    await page.goto(`${app.url}/?from=2001-01-01T00:00:00.000Z&to=2001-01-02T00:00:00.000Z`);
    await settled(page);
    expect(await page.locator("#chart-empty").isVisible()).toBe(true);
    expect(await page.locator("#events-empty").isVisible()).toBe(true);
    expect(await chartTotal(page)).toBe(0);
  });

  browserTest("URL parameters named like Object's own properties are ignored, not trusted (?range=toString)", async () => {
    // Checked with `in`, "toString" was a preset: its window was NaN and the page stayed blank.
    const page = await app.open({ key: KEY, path: "/" });
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
      await page.goto(`${app.url}/?range=${name}&stack=${name}&type=${name}&tz=${name}&where=${name}&live=${name}`);
      await settled(page);
      expect(await page.locator("#range-24h").isChecked()).toBe(true);
      expect(await page.locator("#explorer").isVisible()).toBe(true);
      expect(await chartTotal(page)).toBe(all.length);
      expect(search(page).get("range")).toBe("24h");
    }
    expect(app.pageErrors).toEqual([]);
  });

  browserTest("a custom range that was wrong and is then corrected applies, with no stale error", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const before = new URL(page.url()).search;
    const from = page.getByLabel("From", { exact: true });
    const to = page.getByLabel("To", { exact: true });
    // The range is shown in the page's zone, as 24-hour text.
    expect(await from.inputValue()).toBe(data.from.slice(0, 16).replace("T", " "));
    await from.fill("2099-01-01 00:00");
    await page.getByRole("button", { name: "Apply" }).click();
    const error = page.locator("#range-error");
    expect(await error.textContent()).toBe("The end must be after the start");
    expect(new URL(page.url()).search).toBe(before);

    // Fixed in the other field than the one the error was put on.
    await from.fill("2001-01-01 00:00");
    expect(await error.textContent()).toBe("");
    expect(await to.getAttribute("aria-invalid")).toBeNull();
    await page.getByRole("button", { name: "Apply" }).click();
    await navigated(page, before);
    expect(search(page).get("from")).toBe("2001-01-01T00:00:00.000Z");
    expect(search(page).get("to")).toBe(data.to);
    expect(await chartTotal(page)).toBe(all.length);
  });

  browserTest("after a reload, Forget is still offered for the key the tab keeps, and forgets it", async () => {
    const page = await app.open({ path: windowPath });
    await page.getByLabel("API key", { exact: true }).fill(KEY);
    await page.getByRole("button", { name: "Connect" }).click();
    await settled(page);
    await page.reload();
    await settled(page);
    const forget = page.getByRole("button", { name: "Forget" });
    expect(await forget.isVisible()).toBe(true);
    await forget.click();
    expect(await page.evaluate((k) => sessionStorage.getItem(k), KEY_STORAGE)).toBeNull();
    expect(await page.getByRole("heading", { name: "Look at your telemetry" }).isVisible()).toBe(true);
  });

  browserTest("another key starts from its own tenant's data, without the previous tenant's filters", async () => {
    const page = await app.open({ key: KEY, path: `/?range=24h&service=checkout-api&q=request&where=${encodeURIComponent('["level","eq","info"]')}` });
    expect(await chartTotal(page)).toBeGreaterThan(0);
    await page.getByLabel("API key", { exact: true }).fill(OTHER_KEY);
    await page.getByRole("button", { name: "Connect" }).click();
    await settled(page);
    const params = search(page);
    expect([params.get("service"), params.get("q"), params.get("where")]).toEqual([null, null, null]);
    expect(params.get("range")).toBe("24h");
    expect(await chartTotal(page)).toBe(other.length);
    expect(await rowIds(page)).toEqual(newestFirst(other).map((e) => e.eventId));
    expect(await page.locator("#events-empty").isHidden()).toBe(true);
    expect(await page.getByLabel("Service", { exact: true }).inputValue()).toBe("");
  });

  browserTest("keyboard users reach the group-by panels before the endless events table; on a phone they come first too", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    await page.getByLabel("Type", { exact: true }).focus();
    let reached = "";
    let presses = 0;
    for (; presses < 40 && !reached; presses++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => {
        const active = document.activeElement;
        if (active?.closest("#facet-service")) return "panel";
        if (active?.closest("#events-body")) return "table";
        return "";
      });
    }
    expect(reached).toBe("panel");
    expect(presses).toBeLessThanOrEqual(20);

    await page.setViewportSize({ width: 390, height: 844 });
    const top = (selector: string) => page.locator(selector).evaluate((el) => el.getBoundingClientRect().top);
    expect(await top("#facet-service")).toBeLessThan(await top("#events-table"));
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  });

  browserTest("a wrong key is shown as not accepted and is not kept", async () => {
    const page = await app.open({ path: windowPath });
    await page.getByLabel("API key", { exact: true }).fill("not-a-real-key");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByRole("alert").getByText("Key not accepted").waitFor();
    expect(await page.evaluate((k) => sessionStorage.getItem(k), KEY_STORAGE)).toBeNull();
    expect(await page.locator("#explorer").isHidden()).toBe(true);
    expect(page.url()).not.toContain("not-a-real-key");
  });

  test("nothing was loaded from another origin and the page threw no errors", () => {
    expect(app.foreignRequests).toEqual([]);
    expect(app.pageErrors).toEqual([]);
  });
});
