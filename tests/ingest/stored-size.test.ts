/**
 * The 64 KiB payload limit holds for what is stored and returned: jsonb keeps
 * numbers as exact decimals, so 5e-324 takes 326 characters once stored. The
 * service counts numbers that way, refuses payloads that would grow past the
 * limit (naming the number), records each payload's stored size, and cuts a
 * page of events at a byte budget instead of answering with gigabytes.
 */
import { expect, test } from "bun:test";
import { storedNumberLength } from "../../src/events/stored-size";
import { jsonNumberExpansion } from "../../src/events/stored-size";
import { PAGE_BYTE_BUDGET } from "../../src/storage/page-query";
import { buildApp, freshTenants, makeEvent, postJson, wideWindow } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

function randomNumbers(count: number, seed = 11): number[] {
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const numbers = [0, -0, 5e-324, 1e21, 1.5e-7, 1e-6, 9.99e-7, 1.7976931348623157e308, -2.5e-10, 123.456, 0.1, 1e300, -1e-300];
  while (numbers.length < count) {
    const value = (random() < 0.5 ? -1 : 1) * random() * 10 * 10 ** (Math.floor(random() * 640) - 320);
    if (Number.isFinite(value)) numbers.push(value);
  }
  return numbers;
}

describeOnStores("stored payload size", (suite) => {
  test("storedNumberLength is what jsonb writes, for 2000 numbers across every exponent", async () => {
    const numbers = randomNumbers(2000);
    const rows = await suite.handle.sql<{ text: string }[]>`
      SELECT value::text AS text FROM jsonb_array_elements(${JSON.stringify(numbers)}::text::jsonb) AS value`;
    const wrong = numbers.filter((n, i) => storedNumberLength(n) !== rows[i]!.text.length);
    expect(wrong).toEqual([]);
    // The same sum read from the serialized text, exponents inside strings skipped.
    const json = JSON.stringify({ numbers, note: "1e+300 and 5e-324 in a string" });
    expect(jsonNumberExpansion(json)).toBe(numbers.reduce((sum, n) => sum + storedNumberLength(n) - String(n).length, 0));
  });

  test("numbers that grow past the limit when stored are refused, naming the number; nothing is stored", async () => {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    // 63 KB as sent; 2.9 MB as jsonb would keep it.
    const tiny = makeEvent(1, { payload: { values: Array(9000).fill(5e-324) } });
    const res = await postJson(app, "/ingest", [makeEvent(0), tiny], tenants.a.key);
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error.details[0]).toEqual({ index: 1, path: "payload.values.0", message: expect.stringContaining("exact decimals") });
    const huge = await postJson(app, "/ingest", makeEvent(2, { payload: { big: Array(300).fill(1e300), ok: 1 } }), tenants.a.key);
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as any).error.details[0].path).toBe("payload.big.0");
    const [stored] = await suite.handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenants.a.tenant}`;
    expect(stored!.n).toBe(0);

    // A few such numbers fit; their stored size is recorded.
    const few = makeEvent(3, { payload: { values: [5e-324, 1e300, 1.5] } });
    expect((await postJson(app, "/ingest", few, tenants.a.key)).status).toBe(200);
    const [row] = await suite.handle.sql<{ size: number; text: number }[]>`
      SELECT payload_size AS size, octet_length(payload::text) AS text FROM events WHERE tenant_id = ${tenants.a.tenant}`;
    expect(row!.size).toBe(Buffer.byteLength(JSON.stringify(few.payload)) + 326 - 6 + 301 - 6);
    // jsonb's own text adds a space after each separator; no more.
    expect(row!.text - row!.size).toBe(3);
  });

  test("a page stops at its byte budget; nextCursor walks every event once", async () => {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    const blob = "x".repeat(60 * 1024);
    const events = Array.from({ length: 100 }, (_, i) => makeEvent(i, { payload: { i, blob } }));
    for (let i = 0; i < events.length; i += 25) {
      expect((await postJson(app, "/ingest", events.slice(i, i + 25), tenants.a.key)).status).toBe(200);
    }
    const size = Buffer.byteLength(JSON.stringify(events[0]!.payload));
    const first = (await (await postJson(app, "/query", { ...wideWindow(), limit: 100 }, tenants.a.key)).json()) as any;
    // As many whole payloads as the budget holds, and not one more.
    expect(first.data.length).toBe(Math.floor(PAGE_BYTE_BUDGET / size));
    expect(first.data.reduce((sum: number, e: any) => sum + Buffer.byteLength(JSON.stringify(e.payload)), 0)).toBeLessThanOrEqual(PAGE_BYTE_BUDGET);
    expect(first.pagination).toMatchObject({ total: 100, limit: 100, hasNext: true, truncated: true });
    expect(first.nextCursor).toBeString();

    const seen = first.data.map((e: any) => e.eventId);
    let cursor = first.nextCursor;
    while (cursor) {
      const page = (await (await postJson(app, "/query", { cursor }, tenants.a.key)).json()) as any;
      seen.push(...page.data.map((e: any) => e.eventId));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(events.map((e) => e.eventId));
    // One event always fits, whatever its size.
    const one = (await (await postJson(app, "/query", { ...wideWindow(), limit: 1 }, tenants.a.key)).json()) as any;
    expect(one.data).toHaveLength(1);
    expect(one.pagination.truncated).toBeUndefined();
  });
});
