/**
 * The explorer on data as it comes from the field: 300 services, a
 * 128-character name without a space, a U+202E in a name and a message,
 * names with spaces at their ends or in another case, OpenTelemetry-style
 * `severityText`, an event every 5 minutes (a tall chart table), and a phone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Locator, Page } from "playwright-core";
import { browserTest, chartTotal, hasChromium, navigated, requireChromium, rowIds, search, settled, startExplorer, type ExplorerHarness } from "./harness";
import { BIDI_SERVICE, CASED_SERVICE, LONG_SERVICE, makeMessyDataSet, newestFirst, PADDED_SERVICE } from "./fixtures";

const KEY = "messy-key";

requireChromium();

/**
 * Whether "12" reads 1 then 2 on screen (left to right) inside `within`:
 * a U+202E earlier on the line, not isolated, draws it as "21".
 */
function digitsInOrder(within: Locator, digits = "12"): Promise<boolean> {
  return within.evaluate((root, text) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent!.indexOf(text);
      if (at < 0) continue;
      const rectOf = (offset: number) => {
        const range = document.createRange();
        range.setStart(node!, offset);
        range.setEnd(node!, offset + 1);
        return range.getBoundingClientRect();
      };
      return rectOf(at).left < rectOf(at + 1).left;
    }
    throw new Error(`"${text}" is not in ${root.outerHTML.slice(0, 200)}`);
  }, digits);
}

describe.skipIf(!hasChromium)("the explorer on messy data", () => {
  const events = makeMessyDataSet();
  let app: ExplorerHarness;

  beforeAll(async () => {
    app = await startExplorer({ apiKeys: `${KEY}:messy-tenant` });
    await app.ingest(events, KEY);
  }, 90_000);

  afterAll(() => app?.close());

  const open = (path = "/?range=24h", viewport?: { width: number; height: number }) => app.open({ key: KEY, path, viewport });

  browserTest("the chart's hidden table adds no height: the page ends with its content and the list keeps loading", async () => {
    // One service, a metric in each of 280 buckets: the chart's table is the tallest thing on the page.
    const page = await open("/?range=24h&type=metric");
    expect(await page.locator("#chart-data tbody tr").count()).toBeGreaterThan(250);
    // A <table> ignores height: 1px; it was ~7,000 px of blank page below the content.
    const blank = await page.evaluate(() => document.documentElement.scrollHeight - (document.querySelector("main")!.getBoundingClientRect().bottom + window.scrollY));
    expect(blank).toBeLessThanOrEqual(1);
    for (let rows = 50; rows < 150; rows += 50) {
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForFunction((n) => document.querySelectorAll("#events-body tr").length > n, rows);
    }
  });

  browserTest("a 128-character name and 300 services fit the by-service panel, which shows the top ones and the rest on demand", async () => {
    const page = await open();
    const panel = page.locator(".side-col");
    const overflow = () =>
      page.evaluate(() => {
        const side = document.querySelector(".side-col")!;
        return [document.documentElement.scrollWidth - window.innerWidth, side.scrollWidth - side.clientWidth];
      });
    expect(await overflow()).toEqual([0, 0]);
    const long = page.locator("#facet-service button", { hasText: LONG_SERVICE });
    expect(await long.getAttribute("title")).toBe(`\u2068${LONG_SERVICE}\u2069`);
    const [longBox, panelBox] = [(await long.boundingBox())!, (await page.locator("#facet-service").boundingBox())!];
    expect(longBox.x + longBox.width).toBeLessThanOrEqual(panelBox.x + panelBox.width + 0.5);
    expect(await long.locator(".facet-count").isVisible()).toBe(true);
    expect(await page.locator("#facet-service button.facet").count()).toBe(10);
    expect((await panel.boundingBox())!.height).toBeLessThan(860);

    await page.getByRole("button", { name: "Show all 300 services" }).click();
    expect(await page.locator("#facet-service button.facet").count()).toBe(300);
    // All 300 scroll inside the panel; the page does not grow by 11,000 px.
    const list = await page.locator("#facet-service").evaluate((el) => ({ height: el.clientHeight, content: el.scrollHeight }));
    expect(list.height).toBeLessThan(600);
    expect(list.content).toBeGreaterThan(list.height);
    expect(await overflow()).toEqual([0, 0]);
    await page.getByRole("button", { name: "Show fewer" }).click();
    expect(await page.locator("#facet-service button.facet").count()).toBe(10);
  });

  browserTest("a right-to-left override in a name or a message reverses nothing after it", async () => {
    const page = await open("/?range=24h&stack=service");
    // The tooltip of the bucket holding its twelve events: "‮bidi-svc" then 12, not 21.
    const bar = page.locator(".chart-plot rect.bar.c1"); // the second-largest series; the ticker is the first
    expect(await bar.count()).toBe(1);
    const box = (await bar.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const row = page.locator(".chart-tooltip li", { hasText: "bidi-svc" });
    await row.waitFor();
    expect(await digitsInOrder(row)).toBe(true);
    expect(await row.textContent()).toBe(`${BIDI_SERVICE}12`);
    // The panel and the table row the same.
    expect(await digitsInOrder(page.locator(`#facet-service button[data-key="${BIDI_SERVICE}"]`))).toBe(true);
    const message = page.locator('#events-body tr[data-event-id="bidi-11"] .summary');
    expect(await digitsInOrder(message)).toBe(true);
    expect(await message.textContent()).toBe("\u202Eevil · code=12");
  });

  browserTest("a name with spaces at its ends stays the filter through a reload; names are exact, and the page says so", async () => {
    const page = await open();
    let before = new URL(page.url()).search;
    await page.locator(`#facet-service button[data-key="${PADDED_SERVICE}"]`).click();
    await navigated(page, before);
    expect(search(page).get("service")).toBe(PADDED_SERVICE);
    await page.reload();
    await settled(page);
    expect(await page.getByLabel("Service", { exact: true }).inputValue()).toBe(PADDED_SERVICE);
    expect(await chartTotal(page)).toBe(3);
    expect(await page.locator(`#facet-service button[data-key="${PADDED_SERVICE}"]`).getAttribute("aria-pressed")).toBe("true");

    // Typed in another case: no events, and a pointer to the name that has them.
    expect(await page.locator("#service-hint").textContent()).toBe("Exact name, case-sensitive");
    const field = page.getByLabel("Service", { exact: true });
    before = new URL(page.url()).search;
    await field.fill(CASED_SERVICE.toLowerCase());
    await field.press("Enter");
    await navigated(page, before);
    expect(await chartTotal(page)).toBe(0);
    const suggestion = page.locator("#service-suggestion");
    expect(await suggestion.textContent()).toBe(`No service is named “checkout”: names are exact and case-sensitive. Show “${CASED_SERVICE}”`);
    before = new URL(page.url()).search;
    await suggestion.getByRole("button").click();
    await navigated(page, before);
    expect(search(page).get("service")).toBe(CASED_SERVICE);
    expect(await chartTotal(page)).toBe(2);
    expect(await suggestion.isHidden()).toBe(true);
  });

  browserTest("without a level field, the level panel uses OpenTelemetry's severityText", async () => {
    const page = await open();
    expect(await page.locator("#by-level-title").textContent()).toBe("By severityText");
    const errors = events.filter((e) => e.payload.severityText === "ERROR");
    expect(await page.locator('#facet-level button[data-key="ERROR"] .facet-count').textContent()).toBe(String(errors.length));
    expect(await page.locator('#events-body tr[data-event-id="cased-1"] .level-badge').textContent()).toBe("ERROR");
    const before = new URL(page.url()).search;
    await page.locator('#facet-level button[data-key="ERROR"]').click();
    await navigated(page, before);
    expect(search(page).getAll("where")).toEqual(['["severityText","eq","ERROR"]']);
    expect(await rowIds(page)).toEqual(newestFirst(errors).map((e) => e.eventId));
  });

  browserTest("7 days on a phone: several x-axis labels that do not overlap", async () => {
    const page = await open("/?range=7d", { width: 390, height: 844 });
    // The labels under the plot (the others are the y axis's).
    const labels = await page.$$eval(".chart-plot text", (texts) => {
      const bottom = document.querySelector(".chart-plot")!.getBoundingClientRect().bottom;
      return texts
        .map((t) => t.getBoundingClientRect())
        .filter((r) => r.top > bottom - 20)
        .map((r) => ({ left: r.left, right: r.right }))
        .sort((a, b) => a.left - b.left);
    });
    expect(labels.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < labels.length; i++) expect(labels[i]!.left).toBeGreaterThan(labels[i - 1]!.right);
  });

  browserTest("the tooltip names what its last row counts: the other services, and how many", async () => {
    const page = await open("/?range=24h&stack=service");
    expect(await page.locator(".chart-legend li").last().textContent()).toMatch(/^Other services \(29\d\)\d+$/);
    const other = page.locator(".chart-plot rect.bar.c7").first();
    const box = (await other.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const row = page.locator(".chart-tooltip li").last();
    await row.waitFor();
    expect(await row.locator(".tip-key").textContent()).toMatch(/^Other services \(29\d\)$/);
    expect(await row.locator(".tip-count").textContent()).toMatch(/^\d+$/);
  });

  browserTest("the table header stays in view while the list scrolls", async () => {
    const page: Page = await open();
    await page.locator("#events-body tr").nth(30).scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, 300));
    const header = await page.locator("#events-table thead th").first().boundingBox();
    const firstRow = await page.locator("#events-body tr").first().boundingBox();
    expect(firstRow!.y).toBeLessThan(0); // scrolled well past the top of the table
    expect(header!.y).toBeGreaterThanOrEqual(0);
    expect(header!.y).toBeLessThan(2);
  });

  test("the page threw no errors", () => {
    expect(app.pageErrors).toEqual([]);
  });
});
