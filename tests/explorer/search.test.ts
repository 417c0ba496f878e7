/**
 * Finding events in the explorer: free-text search, conditions from the
 * payload view, the level column and panel, traces, surrounding events, a
 * share link, keyboard shortcuts and the time zone. Real server, real browser.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { browserTest, chartTotal, hasChromium, navigated, requireChromium, rowIds, search, settled, startExplorer, type ExplorerHarness } from "./harness";
import { makeDataSet, newestFirst, oldestFirst, traceIdFor } from "./fixtures";

const KEY = "search-key";

requireChromium();

describe.skipIf(!hasChromium)("finding events in the explorer", () => {
  const data = makeDataSet();
  let app: ExplorerHarness;
  const windowPath = `/?${new URLSearchParams({ from: data.from, to: data.to })}`;
  const byId = (id: string) => data.events.find((e) => e.eventId === id)!;

  beforeAll(async () => {
    app = await startExplorer({ apiKeys: `${KEY}:search-tenant` });
    await app.ingest([...data.events, ...data.outside], KEY);
  }, 90_000);

  afterAll(() => app?.close());

  browserTest("the search box finds events by the words in them, and the URL keeps the search", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const box = page.getByRole("searchbox", { name: "Search" });
    let before = new URL(page.url()).search;
    await box.fill('"request 12 handled"');
    await box.press("Enter");
    await navigated(page, before);
    expect(search(page).get("q")).toBe('"request 12 handled"');
    expect(await rowIds(page)).toEqual(["evt-0012"]);
    expect(await chartTotal(page)).toBe(1);

    await page.reload();
    await settled(page);
    expect(await box.inputValue()).toBe('"request 12 handled"');
    expect(await rowIds(page)).toEqual(["evt-0012"]);

    // Words, not a phrase: each must match somewhere (the id counts too), in any case.
    before = new URL(page.url()).search;
    await box.fill("DECLINED request");
    await box.press("Enter");
    await navigated(page, before);
    expect(await rowIds(page)).toEqual(newestFirst(data.events.filter((e) => e.payload.level === "error")).map((e) => e.eventId));

    before = new URL(page.url()).search;
    await box.fill("");
    await box.press("Enter");
    await navigated(page, before);
    expect(search(page).get("q")).toBeNull();
    expect(await chartTotal(page)).toBe(130);
  });

  browserTest("pressing a value in the payload adds it as a condition chip; removing the chip removes it", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const traces = data.events.filter((e) => e.eventType === "trace");
    const ok = traces.filter((e) => (e.payload.attributes as { http: { status: number } }).http.status === 200);

    await page.locator('#events-body tr[data-event-id="evt-0125"] .row-open').click();
    let before = new URL(page.url()).search;
    const status = page.locator('#event-payload button[data-field="attributes.http.status"]');
    expect(await status.textContent()).toBe("200");
    await status.click();
    await navigated(page, before);
    expect(await page.getByRole("dialog").count()).toBe(0);
    // The value keeps its JSON type: 200 the number, which "200" the string would not match.
    expect(search(page).getAll("where")).toEqual(['["attributes.http.status","eq",200]']);
    const chips = page.getByRole("list", { name: "Conditions" }).getByRole("listitem");
    expect(await chips.allTextContents()).toEqual(["attributes.http.status = 200×"]);
    expect(await chartTotal(page)).toBe(ok.length);
    expect(await rowIds(page)).toEqual(newestFirst(ok).slice(0, 50).map((e) => e.eventId));

    // A string value, deeper in another event, and a second chip.
    await page.locator(`#events-body tr[data-event-id="${newestFirst(ok)[0]!.eventId}"] .row-open`).click();
    before = new URL(page.url()).search;
    await page.locator('#event-payload button[data-field="attributes.http.method"]').click();
    await navigated(page, before);
    expect(await chips.allTextContents()).toEqual(["attributes.http.status = 200×", 'attributes.http.method = "GET"×']);
    expect(await chartTotal(page)).toBe(ok.length);

    before = new URL(page.url()).search;
    await page.getByRole("button", { name: "Remove condition \u2068attributes.http.status = 200\u2069" }).click();
    await navigated(page, before);
    expect(await chartTotal(page)).toBe(traces.length);
    before = new URL(page.url()).search;
    await page.getByRole("button", { name: "Clear all" }).click();
    await navigated(page, before);
    expect(search(page).getAll("where")).toEqual([]);
    expect(await chartTotal(page)).toBe(130);
  });

  browserTest("levels: a coloured level column, a summary that leads with the message, and a level panel that filters", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const errors = newestFirst(data.events.filter((e) => e.payload.level === "error"));
    const row = page.locator(`#events-body tr[data-event-id="${errors[0]!.eventId}"]`);
    const badge = row.locator(".col-level .level-badge");
    expect(await badge.textContent()).toBe("error");
    expect(await badge.evaluate((el) => getComputedStyle(el).color)).toBe("rgb(180, 35, 24)");
    // The payload is stored as {id, ua, level, route, status, message, …}: the message and status come first anyway.
    expect(await row.locator(".summary").textContent()).toStartWith(`request ${errors[0]!.eventId.slice(-3).replace(/^0+/, "")} failed: payment declined · status=502 · route=/cart · id=`);

    const before = new URL(page.url()).search;
    await page.locator('#facet-level button[data-key="error"]').click();
    await navigated(page, before);
    expect(search(page).getAll("where")).toEqual(['["level","eq","error"]']);
    expect(await rowIds(page)).toEqual(errors.map((e) => e.eventId));
    expect(await page.locator('#facet-level button[data-key="error"]').getAttribute("aria-pressed")).toBe("true");
    // The panel ignores its own condition: the other levels stay one press away.
    expect(await page.locator('#facet-level button[data-key="info"]').count()).toBe(1);
    await page.locator('#facet-level button[data-key="error"]').click();
    await settled(page);
    expect(await chartTotal(page)).toBe(130);
  });

  browserTest("a trace id opens the trace's events, oldest first; the URL keeps it open", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const traceId = traceIdFor(20);
    const members = oldestFirst(data.events.filter((e) => e.payload.traceId === traceId || e.payload.trace_id === traceId));
    expect(members.map((e) => e.eventId)).toEqual(["evt-0120", "evt-0122", "evt-0125"]);

    await page.locator('#events-body tr[data-event-id="evt-0125"] .row-open').click();
    await page.getByRole("button", { name: traceId, exact: true }).click();
    const dialog = page.getByRole("dialog", { name: `Trace ${traceId}` });
    await dialog.waitFor();
    const traceRows = () => page.$$eval("#trace-events li", (items) => items.map((li) => (li as HTMLElement).dataset.eventId));
    await page.waitForFunction(() => document.querySelectorAll("#trace-events li").length > 0);
    expect(await traceRows()).toEqual(members.map((e) => e.eventId));
    expect(await page.locator("#trace-summary").textContent()).toStartWith("3 events · ");
    expect(search(page).get("trace")).toBe(traceId);

    await page.reload();
    await dialog.waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#trace-events li").length === 3);
    // An event of the trace opens over it; Escape closes that first.
    await page.locator('#trace-events li[data-event-id="evt-0120"] button').click();
    await page.getByRole("dialog", { name: `log · ${byId("evt-0120").serviceName}` }).waitFor();
    await page.keyboard.press("Escape");
    expect(await dialog.isVisible()).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await page.waitForFunction(() => !new URLSearchParams(location.search).has("trace"));
  });

  browserTest("surrounding events: the same service, a minute either side, with the event marked", async () => {
    const page = await app.open({ key: KEY, path: `${windowPath}&type=trace&q=orders` });
    const event = byId("evt-0125");
    await page.locator(`#events-body tr[data-event-id="${event.eventId}"] .row-open`).click();
    const before = new URL(page.url()).search;
    await page.getByRole("button", { name: "Surrounding events" }).click();
    await navigated(page, before);
    const at = Date.parse(event.timestamp);
    const params = search(page);
    expect([params.get("service"), params.get("from"), params.get("to"), params.get("type"), params.get("q")]).toEqual([
      event.serviceName,
      new Date(at - 60_000).toISOString(),
      new Date(at + 60_000).toISOString(),
      null,
      null,
    ]);
    const around = data.events.filter((e) => e.serviceName === event.serviceName && Math.abs(Date.parse(e.timestamp) - at) <= 60_000);
    expect(await rowIds(page)).toEqual(newestFirst(around).map((e) => e.eventId));
    expect(await page.locator('#events-body tr[aria-current="true"]').getAttribute("data-event-id")).toBe(event.eventId);
  });

  browserTest("Share gives a link with the range pinned, which shows the same events later", async () => {
    const page = await app.open({ key: KEY, path: "/?range=24h&service=checkout-api" });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: app.url });
    await page.getByRole("button", { name: "Share" }).click();
    await page.getByText("Link copied").waitFor();
    const link = await page.getByLabel("Link to this view, with its time range fixed").inputValue();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    const params = new URL(link).searchParams;
    expect(params.get("range")).toBeNull();
    expect(Date.parse(params.get("to")!) - Date.parse(params.get("from")!)).toBe(86_400_000);
    expect(params.get("service")).toBe("checkout-api");
    const total = await chartTotal(page);

    const later = await app.open({ key: KEY, path: new URL(link).pathname + new URL(link).search });
    expect(await later.locator("#range-custom").isChecked()).toBe(true);
    expect(await chartTotal(later)).toBe(total);
  });

  browserTest("keyboard shortcuts: / searches, j and k move between rows, Enter opens, Esc closes, ? lists them", async () => {
    const page = await app.open({ key: KEY, path: windowPath });
    const newest = newestFirst(data.events);
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("search");
    expect(await page.getByRole("searchbox", { name: "Search" }).inputValue()).toBe(""); // the "/" was not typed
    await page.locator("#events-title").click(); // out of the field: letters are shortcuts again

    const focusedRow = () => page.evaluate(() => document.activeElement?.closest("tr")?.dataset.eventId);
    await page.keyboard.press("j");
    expect(await focusedRow()).toBe(newest[0]!.eventId);
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("k");
    expect(await focusedRow()).toBe(newest[1]!.eventId);
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `${newest[1]!.eventType} · ${newest[1]!.serviceName}` });
    await dialog.waitFor();
    await page.keyboard.press("j"); // the dialog has the keyboard: the rows do not move under it
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await focusedRow()).toBe(newest[1]!.eventId);

    await page.keyboard.press("?");
    const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await help.waitFor();
    expect(await help.locator("kbd").allTextContents()).toEqual(["/", "j", "k", "Enter", "Esc", "l", "?"]);
    await page.keyboard.press("Escape");
    await help.waitFor({ state: "hidden" });
  });

  browserTest("times: the browser's zone or UTC, named, with milliseconds, a 24-hour clock and how long ago", async () => {
    const page = await app.open({ key: KEY, path: windowPath, timezoneId: "Asia/Kolkata" });
    const newest = newestFirst(data.events)[0]!;
    const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23); // HH:MM:SS.mmm
    const first = page.locator("#events-body tr").first();
    const shown = (await first.locator("time").textContent())!;
    expect(await page.locator("#time-head").textContent()).toBe("Time (UTC+05:30)");
    expect(shown).toEndWith(clock(Date.parse(newest.timestamp) + 330 * 60_000));
    expect(await first.locator(".age").textContent()).toMatch(/^(now|\d+[smhd] ago)$/);
    // The button is named by what it shows, then what it is.
    expect(await page.getByRole("button", { name: shown }).count()).toBe(1);
    expect(await page.evaluate(() => document.body.innerText)).not.toMatch(/\b(AM|PM)\b/);

    const before = new URL(page.url()).search;
    await page.locator('label[for="zone-utc"]').click();
    await page.waitForFunction((s) => location.search !== s, before);
    expect(search(page).get("tz")).toBe("utc");
    expect(await page.locator("#time-head").textContent()).toBe("Time (UTC)");
    expect(await first.locator("time").textContent()).toEndWith(clock(Date.parse(newest.timestamp)));
    expect(await page.locator("#chart-sub").textContent()).toContain(" UTC");
    expect(await page.getByLabel("From", { exact: true }).inputValue()).toBe(data.from.slice(0, 16).replace("T", " "));
  });

  test("the page threw no errors", () => {
    expect(app.pageErrors).toEqual([]);
    expect(app.foreignRequests).toEqual([]);
  });
});
