/**
 * The explorer end to end: the real server process on the embedded store, a
 * known data set ingested over HTTP, and the page driven in Debian's chromium.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import postgres from "postgres";
import { random } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";
import { expectedBuckets, makeDataSet, newestFirst, SERVICES, type SentEvent } from "./fixtures";

const ROOT = join(import.meta.dir, "../..");
const ARTIFACTS = join(ROOT, "test-artifacts");
const CHROMIUM = "/usr/bin/chromium";
const KEY = "explorer-key";
const INTERVAL_MS: Record<string, number> = { "1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000 };

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) {
  test("chromium is installed for the explorer's browser tests", () => {
    throw new Error(`${CHROMIUM} is missing; run .ci/install-chromium`);
  });
} else if (!hasChromium) {
  console.warn(`[skip] explorer browser tests: ${CHROMIUM} is missing (run .ci/install-chromium)`);
}

describe.skipIf(!hasChromium)("explorer in a real browser", () => {
  const data = makeDataSet();
  const all = [...data.events, ...data.outside];
  let server: ServerProcess;
  let dataDir: string;
  let profileDir: string;
  let context: BrowserContext;
  let page: Page;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  // PostgreSQL when the suite has one (faster start), else the embedded store in a temp directory.
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const schema = `tv_explorer_${random()}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tv-explorer-data-"));
    profileDir = await mkdtemp(join(tmpdir(), "tv-explorer-profile-"));
    const store: Record<string, string> = databaseUrl ? { DATABASE_URL: databaseUrl, DB_SCHEMA: schema } : { DATA_DIR: dataDir };
    const [started, browser] = await Promise.all([
      startServer({ ...store, API_KEYS: `${KEY}:explorer-tenant,other-key:other-tenant`, LOG_LEVEL: "warn" }, { timeoutMs: 60_000 }),
      chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        viewport: { width: 1280, height: 860 },
        locale: "en-US",
        timezoneId: "UTC",
      }),
    ]);
    server = started;
    context = browser;
    context.on("request", (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith("data:")) foreignRequests.push(request.url());
    });
    await ingest(all, KEY);
    // Another tenant's events must never show up.
    await ingest(data.events.slice(0, 20).map((e) => ({ ...e, eventId: `other-${e.eventId}` })), "other-key");
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(String(error)));
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop("SIGKILL");
    if (databaseUrl) {
      const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
      await admin.end();
    }
    await rm(dataDir, { recursive: true, force: true });
    await rm(profileDir, { recursive: true, force: true });
  });

  async function ingest(events: SentEvent[], key: string) {
    const response = await fetch(`${server.url}/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify(events),
    });
    expect(response.status).toBe(200);
  }

  const windowUrl = () => `${server.url}/?${new URLSearchParams({ from: data.from, to: data.to })}`;

  /** Waits until every request of the current view has answered. */
  async function settled(p: Page = page) {
    await p.waitForFunction(() => !document.body.classList.contains("loading") && document.getElementById("results")?.getAttribute("aria-busy") === "false");
  }

  async function chartBuckets(p: Page = page) {
    return p.$$eval("#chart-data tbody tr", (rows) =>
      Object.fromEntries(rows.map((row) => [(row as HTMLElement).dataset.bucket!, Number((row as HTMLElement).dataset.total)])),
    );
  }
  const chartTotal = (p: Page = page) => p.$eval("#chart-data", (t) => Number((t as HTMLElement).dataset.total));
  const rowIds = () => page.$$eval("#events-body tr", (rows) => rows.map((r) => (r as HTMLElement).dataset.eventId!));

  test("the page and its assets need no key, send strict headers and load nothing from elsewhere", async () => {
    const html = await fetch(`${server.url}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(html.headers.get("content-security-policy")).toContain("default-src 'none'");
    for (const asset of ["/explorer/app.js", "/explorer/styles.css"]) {
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status).toBe(200);
      const etag = response.headers.get("etag")!;
      expect((await fetch(`${server.url}${asset}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    }
    // The API itself still wants a key.
    expect((await fetch(`${server.url}/query`, { method: "POST", body: "{}" })).status).toBe(401);

    await page.goto(windowUrl());
    await expect(page.getByRole("heading", { name: "Look at your telemetry" }).isVisible()).resolves.toBe(true);
    expect(await page.locator("#explorer").isHidden()).toBe(true);
  }, 20_000);

  test("with the key, the chart's buckets match the ingested counts", async () => {
    await page.getByLabel("API key", { exact: true }).fill(KEY);
    await page.getByRole("button", { name: "Connect" }).click();
    await settled();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    expect(page.url()).not.toContain(KEY);

    const interval = await page.$eval("#chart-data", (t) => (t as HTMLElement).dataset.interval!);
    expect(interval).toBe("5m"); // 6 hours → 5-minute buckets
    expect(await chartBuckets()).toEqual(expectedBuckets(data.events, INTERVAL_MS[interval]!));
    expect(await chartTotal()).toBe(130);
    // Per-type columns add up too.
    const logs = await page.$$eval('#chart-data tbody td[data-key="log"]', (cells) => cells.reduce((s, c) => s + Number(c.textContent), 0));
    expect(logs).toBe(data.events.filter((e) => e.eventType === "log").length);

    const services = await page.$$eval("#facet-service button", (buttons) => buttons.map((b) => [(b as HTMLElement).dataset.key, b.querySelector(".facet-count")!.textContent]));
    expect(services).toEqual([
      ["checkout-api", "65"],
      ["web-frontend", "39"],
      ["ledger-worker", "26"],
    ]);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "explorer-desktop.png") });
    if (process.env.UPDATE_DOCS_SCREENSHOT) {
      await mkdir(join(ROOT, "docs"), { recursive: true });
      await copyFile(join(ARTIFACTS, "explorer-desktop.png"), join(ROOT, "docs/explorer.png"));
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(100); // the chart redraws on resize
    await page.screenshot({ path: join(ARTIFACTS, "explorer-phone.png"), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 860 });
  }, 20_000);

  test("the table lists the newest first and loads the next pages by cursor on scroll", async () => {
    const expected = newestFirst(data.events);
    expect(await rowIds()).toEqual(expected.slice(0, 50).map((e) => e.eventId));

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
    expect(await rowIds()).toEqual(expected.map((e) => e.eventId));
    expect(await page.locator("#load-more").isHidden()).toBe(true);
    expect(await page.locator("#events-count").textContent()).toBe("130 of 130, newest first");
  }, 20_000);

  test("a row opens its full payload as formatted JSON, equal to what was sent", async () => {
    const trace = data.events.find((e) => e.eventType === "trace" && e.eventId === "evt-0011")!;
    await page.locator(`#events-body tr[data-event-id="${trace.eventId}"] .row-open`).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.getByRole("heading", { level: 2 }).textContent()).toBe(`trace · ${trace.serviceName}`);
    expect(JSON.parse((await page.locator("#event-raw").textContent())!)).toEqual(trace.payload);
    // Nested objects are collapsible nodes.
    expect(await page.locator("#event-payload details").count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator("#event-payload .j-key", { hasText: '"attributes"' }).count()).toBe(1);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  }, 20_000);

  test("pressing a service in the group-by panel filters by it, and a reload shows the same view", async () => {
    await page.locator('#facet-service button[data-key="web-frontend"]').click();
    await settled();
    expect(new URL(page.url()).searchParams.get("service")).toBe("web-frontend");
    const only = data.events.filter((e) => e.serviceName === "web-frontend");
    expect(await chartTotal()).toBe(only.length);
    expect(await chartBuckets()).toEqual(expectedBuckets(only, 300_000));
    expect(await rowIds()).toEqual(newestFirst(only).map((e) => e.eventId));
    expect(await page.locator('#facet-service button[data-key="web-frontend"]').getAttribute("aria-pressed")).toBe("true");

    const url = page.url();
    await page.reload();
    await settled();
    expect(page.url()).toBe(url);
    expect(await page.getByLabel("Service", { exact: true }).inputValue()).toBe("web-frontend");
    expect(await page.locator("#range-custom").isChecked()).toBe(true);
    expect(await chartTotal()).toBe(only.length);
    expect(await rowIds()).toEqual(newestFirst(only).map((e) => e.eventId));

    // Pressing it again clears the filter; Back returns to it.
    await page.locator('#facet-service button[data-key="web-frontend"]').click();
    await settled();
    expect(await chartTotal()).toBe(130);
    await page.goBack();
    await settled();
    expect(await chartTotal()).toBe(only.length);
  }, 20_000);

  test("dragging across the chart zooms to the buckets crossed; presets and empty ranges", async () => {
    await page.goto(windowUrl());
    await settled();
    const box = (await page.locator(".chart-plot").boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction((before) => location.search !== before, new URL(windowUrl()).search);
    await settled();
    const params = new URL(page.url()).searchParams;
    const [from, to] = [Date.parse(params.get("from")!), Date.parse(params.get("to")!)];
    expect(from).toBeGreaterThan(Date.parse(data.from));
    expect(to).toBeLessThan(Date.parse(data.to));
    const inside = data.events.filter((e) => Date.parse(e.timestamp) >= from && Date.parse(e.timestamp) <= to);
    expect(inside.length).toBeGreaterThan(0);
    expect(await chartTotal()).toBe(inside.length);

    // The keyboard does the same: pick the last bucket with End, zoom with Enter.
    const beforeKeys = new URL(page.url()).search;
    const bucketMs = INTERVAL_MS[await page.$eval("#chart-data", (t) => (t as HTMLElement).dataset.interval!)]!;
    await page.locator(".chart-plot").focus();
    await page.keyboard.press("End");
    expect(await page.locator(".chart-tooltip").isVisible()).toBe(true);
    await page.keyboard.press("Enter");
    await page.waitForFunction((before) => location.search !== before, beforeKeys);
    await settled();
    const zoomed = new URL(page.url()).searchParams;
    expect(Date.parse(zoomed.get("to")!) - Date.parse(zoomed.get("from")!)).toBe(bucketMs);

    await page.locator('label[for="range-24h"]').click();
    await settled();
    expect(new URL(page.url()).searchParams.get("range")).toBe("24h");
    expect(await chartTotal()).toBe(all.length);

    await page.goto(`${server.url}/?from=2001-01-01T00:00:00.000Z&to=2001-01-02T00:00:00.000Z`);
    await settled();
    expect(await page.locator("#chart-empty").isVisible()).toBe(true);
    expect(await page.locator("#events-empty").isVisible()).toBe(true);
    expect(await chartTotal()).toBe(0);
  }, 20_000);

  test("rate limiting shows when to retry; an unreachable server says so; both recover", async () => {
    const other = await context.newPage();
    await other.route("**/query", (route) =>
      route.fulfill({
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "30" },
        body: JSON.stringify({ error: { code: "rate_limited", message: "Rate limit exceeded" }, requestId: "r" }),
      }),
    );
    await other.goto(windowUrl());
    await other.getByLabel("API key", { exact: true }).fill(KEY);
    await other.getByRole("button", { name: "Connect" }).click();
    const banner = other.getByRole("alert");
    await banner.getByText("Rate limited").waitFor();
    expect(await banner.textContent()).toMatch(/Retry in (30|29) s \(at /);

    await other.unroute("**/query");
    await other.route("**/query", (route) => route.abort("connectionrefused"));
    await banner.getByRole("button", { name: "Retry now" }).click();
    await banner.getByText("Server unreachable").waitFor();

    await other.unroute("**/query");
    await banner.getByRole("button", { name: "Retry" }).click();
    await settled(other);
    expect(await other.locator("#banner").isHidden()).toBe(true);
    expect(await chartTotal(other)).toBe(130);
    await other.close();
  }, 20_000);

  test("a wrong key is shown as not accepted and is not kept", async () => {
    const fresh = await context.newPage(); // a new tab: its own sessionStorage
    await fresh.goto(windowUrl());
    await fresh.getByLabel("API key", { exact: true }).fill("not-a-real-key");
    await fresh.getByRole("button", { name: "Connect" }).click();
    await fresh.getByRole("alert").getByText("Key not accepted").waitFor();
    expect(await fresh.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await fresh.locator("#explorer").isHidden()).toBe(true);
    expect(fresh.url()).not.toContain("not-a-real-key");
    await fresh.close();
  }, 20_000);

  test("nothing was loaded from another origin and the page threw no errors", () => {
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(SERVICES.length).toBe(3);
  });
});
