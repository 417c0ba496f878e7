/**
 * How the explorer looks: every text at WCAG AA contrast in both themes, and
 * the screenshots in docs/explorer/ (rewritten with UPDATE_DOCS_SCREENSHOT=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { textContrast } from "./contrast";
import { browserTest, hasChromium, requireChromium, startExplorer, type ExplorerHarness } from "./harness";
import { makeDataSet } from "./fixtures";

const KEY = "looks-key";
const ROOT = join(import.meta.dir, "../..");
const ARTIFACTS = join(ROOT, "test-artifacts/explorer");
const DOCS = join(ROOT, "docs/explorer");

requireChromium();

/** Text the page draws, by what it is. */
const PAGE_TEXT = [
  ".type-badge.type-log",
  ".type-badge.type-metric",
  ".type-badge.type-trace",
  ".level-badge.level-error",
  ".level-badge.level-warn",
  ".level-badge.level-info",
  ".level-badge.level-debug",
  ".segments input:checked + label",
  ".field label",
  ".hint",
  "#chart-sub",
  ".chart .axis",
  ".legend-count",
  ".events thead th",
  ".row-open time",
  ".age",
  ".summary bdi",
  ".summary .s-key",
  ".facet-key",
  ".facet-count",
  "#events-count",
  ".chip-field",
  ".chip-text",
  ".brand-sub",
  ".button",
];
const DIALOG_TEXT = [".j-string", ".j-number", ".j-bool", ".j-null", ".j-key", ".j-punct", ".meta dt", ".payload-hint", ".dialog-head h2"];

describe.skipIf(!hasChromium)("how the explorer looks", () => {
  const data = makeDataSet();
  let app: ExplorerHarness;
  // A condition that every event meets, so its chip shows without changing the data.
  const path = `/?${new URLSearchParams({ from: data.from, to: data.to, where: '["route","neq","/checkout"]' })}`;

  beforeAll(async () => {
    app = await startExplorer({ apiKeys: `${KEY}:looks-tenant` });
    await app.ingest(data.events, KEY);
  }, 90_000);

  afterAll(() => app?.close());

  for (const colorScheme of ["light", "dark"] as const) {
    browserTest(`every text reaches 4.5:1 against its background (${colorScheme} theme)`, async () => {
      const page = await app.open({ key: KEY, path, colorScheme });
      const readings = await page.evaluate(textContrast, PAGE_TEXT);
      // A span and a trace with every kind of JSON value: strings, numbers, booleans, null.
      await page.locator('#events-body tr[data-event-id="evt-0125"] .row-open').click();
      await page.getByRole("dialog").waitFor();
      readings.push(...(await page.evaluate(textContrast, DIALOG_TEXT)));
      const failing = readings.filter((r) => r.ratio < 4.5);
      expect(failing).toEqual([]);
      expect(readings.length).toBeGreaterThan(60);
    });
  }

  browserTest("screenshots at 1280 and 390 px wide, light and dark", async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const shots: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      for (const [name, viewport] of [
        ["desktop", { width: 1280, height: 860 }],
        ["phone", { width: 390, height: 844 }],
      ] as const) {
        const page = await app.open({ key: KEY, path: `/?${new URLSearchParams({ from: data.from, to: data.to })}`, colorScheme, viewport });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        const file = `${name}-${colorScheme}.png`;
        await page.screenshot({ path: join(ARTIFACTS, file) });
        shots.push(file);
        if (name === "desktop" && colorScheme === "light") {
          await page.locator('#events-body tr[data-event-id="evt-0125"] .row-open').click();
          await page.getByRole("dialog").waitFor();
          await page.screenshot({ path: join(ARTIFACTS, "payload-light.png") });
          shots.push("payload-light.png");
        }
      }
    }
    if (process.env.UPDATE_DOCS_SCREENSHOT) {
      await mkdir(DOCS, { recursive: true });
      for (const file of shots) await copyFile(join(ARTIFACTS, file), join(DOCS, file));
    }
    expect(shots).toHaveLength(5);
  });

  test("the page threw no errors", () => {
    expect(app.pageErrors).toEqual([]);
  });
});
