/**
 * What every explorer browser test file needs: the real server process (on
 * PostgreSQL when the suite has one, else the embedded store), data ingested
 * over HTTP, and Debian's chromium driving the page, one browser context
 * (its own tab, sessionStorage and time zone) per test.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import postgres from "postgres";
import { random } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";
import type { SentEvent } from "./fixtures";

export const CHROMIUM = "/usr/bin/chromium";
/** The page's sessionStorage entry for the key (src/explorer/page/main.ts). */
export const KEY_STORAGE = "telemetry-vault.explorer.apiKey";
export const INTERVAL_MS: Record<string, number> = { "1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000 };

export const hasChromium = existsSync(CHROMIUM);

// A browser test waits for real requests and rendering; one that needs longer than this is too slow.
const BROWSER_TEST_TIMEOUT_MS = 30_000;
setDefaultTimeout(BROWSER_TEST_TIMEOUT_MS);

/**
 * A browser test that runs at the same time as the file's others, each in
 * its own tabs (test.concurrent does not take setDefaultTimeout's time).
 */
export const browserTest = (name: string, fn: () => Promise<void>) => test.concurrent(name, fn, BROWSER_TEST_TIMEOUT_MS);

/** Call once per file, at the top: without chromium the browser tests are skipped (and fail in CI). */
export function requireChromium() {
  if (hasChromium) return;
  if (process.env.CI) {
    test("chromium is installed for the explorer's browser tests", () => {
      throw new Error(`${CHROMIUM} is missing; run .ci/install-chromium`);
    });
  } else console.warn(`[skip] explorer browser tests: ${CHROMIUM} is missing (run .ci/install-chromium)`);
}

export interface OpenOptions {
  /** Put in the tab's sessionStorage before the page loads, as if the user had connected earlier. */
  key?: string;
  /** Path and query, e.g. "/?range=7d". */
  path?: string;
  viewport?: { width: number; height: number };
  timezoneId?: string;
  colorScheme?: "light" | "dark";
}

export interface ExplorerHarness {
  url: string;
  server: ServerProcess;
  /** Page errors (uncaught exceptions) in any tab: each file checks there were none. */
  pageErrors: string[];
  /** Requests to anything but the server (the page must load nothing from elsewhere). */
  foreignRequests: string[];
  ingest(events: SentEvent[], key: string): Promise<void>;
  /** A new tab (closed with the harness): tests may run at once, each in its own tabs. */
  open(options?: OpenOptions): Promise<Page>;
  /** Restarts the server process on the same port and store (for "server unreachable" and back). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startExplorer(options: { apiKeys: string; env?: Record<string, string> }): Promise<ExplorerHarness> {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const schema = `tv_explorer_${random()}`;
  const dataDir = await mkdtemp(join(tmpdir(), "tv-explorer-data-"));
  const store: Record<string, string> = databaseUrl ? { DATABASE_URL: databaseUrl, DB_SCHEMA: schema } : { DATA_DIR: dataDir };
  const env = { ...store, API_KEYS: options.apiKeys, LOG_LEVEL: "warn", MAINTENANCE_INTERVAL_S: "0", ...options.env };
  const [started, browser] = await Promise.all([
    startServer(env, { timeoutMs: 60_000 }),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
  ]);
  let server: ServerProcess = started;
  const contexts = new Map<string, Promise<BrowserContext>>();
  const contextFor = (timezoneId: string, colorScheme: "light" | "dark") => {
    const id = `${timezoneId}|${colorScheme}`;
    let context = contexts.get(id);
    if (!context) {
      context = browser.newContext({ locale: "en-US", timezoneId, colorScheme }).then((created) => {
        created.on("request", (request) => {
          const url = request.url();
          if (!url.startsWith(server.url) && !url.startsWith("data:")) foreignRequests.push(url);
        });
        return created;
      });
      contexts.set(id, context);
    }
    return context;
  };
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  const harness: ExplorerHarness = {
    get url() {
      return server.url;
    },
    get server() {
      return server;
    },
    pageErrors,
    foreignRequests,
    async ingest(events, key) {
      for (let i = 0; i < events.length; i += 1000) {
        const response = await fetch(`${server.url}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": key },
          body: JSON.stringify(events.slice(i, i + 1000)),
        });
        expect(response.status).toBe(200);
      }
    },
    async open(open = {}) {
      // One context per zone and theme, one tab per test: a tab has its own sessionStorage, and a new
      // tab starts far faster than a new context.
      const page = await (await contextFor(open.timezoneId ?? "UTC", open.colorScheme ?? "light")).newPage();
      await page.setViewportSize(open.viewport ?? { width: 1280, height: 860 });
      page.on("pageerror", (error) => pageErrors.push(`${page.url()}: ${error}`));
      if (open.key) {
        // Once per tab, so a test can still forget the key and reload.
        await page.addInitScript(
          ([storage, key]) => {
            if (sessionStorage.getItem("test.seeded")) return;
            sessionStorage.setItem("test.seeded", "1");
            sessionStorage.setItem(storage!, key!);
          },
          [KEY_STORAGE, open.key],
        );
      }
      if (open.path !== undefined) {
        await page.goto(`${server.url}${open.path}`);
        if (open.key) await settled(page);
      }
      return page;
    },
    async restart() {
      if (server.proc.exitCode === null) await server.stop("SIGKILL");
      server = await startServer({ ...env, PORT: String(server.port) }, { timeoutMs: 60_000 });
    },
    async close() {
      await Promise.all([...contexts.values()].map(async (c) => (await c).close().catch(() => {})));
      await browser.close();
      await server.stop("SIGKILL");
      if (databaseUrl) {
        const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
        await admin.end();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Checks every 20 ms rather than every frame: pages that poll at 60 fps slow the others on a small machine. */
export const POLL = { polling: 20 } as const;

/** Waits until every request of the current view has answered. */
export async function settled(page: Page) {
  await page.waitForFunction(() => !document.body.classList.contains("loading") && document.getElementById("results")?.getAttribute("aria-busy") === "false", undefined, POLL);
}

/** Waits for the URL's query to change from `before`, then for the view to load. */
export async function navigated(page: Page, before: string) {
  await page.waitForFunction((search) => location.search !== search, before, POLL);
  await settled(page);
}

export const search = (page: Page) => new URL(page.url()).searchParams;

export async function chartBuckets(page: Page) {
  return page.$$eval("#chart-data tbody tr", (rows) =>
    Object.fromEntries(rows.map((row) => [(row as HTMLElement).dataset.bucket!, Number((row as HTMLElement).dataset.total)])),
  );
}
export const chartTotal = (page: Page) => page.$eval("#chart-data", (t) => Number((t as HTMLElement).dataset.total));
export const rowIds = (page: Page) => page.$$eval("#events-body tr", (rows) => rows.map((r) => (r as HTMLElement).dataset.eventId!));

/** Counts the page's calls to POST /query while `action` runs and the view settles. */
export async function queriesDuring(page: Page, action: () => Promise<void>): Promise<number> {
  let count = 0;
  const onRequest = (request: { url(): string; method(): string }) => {
    if (request.method() === "POST" && new URL(request.url()).pathname === "/query") count++;
  };
  page.on("request", onRequest);
  try {
    await action();
    await settled(page);
  } finally {
    page.off("request", onRequest);
  }
  return count;
}
