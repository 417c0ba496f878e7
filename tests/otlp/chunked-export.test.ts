/**
 * An export whose events take more than one chunk (1 MiB of payloads) is
 * converted and written a chunk at a time, in one transaction: stored whole
 * or not at all, counted once, repeats within it and across retries counted
 * as duplicates, and a live tail still gets every event. On both stores,
 * through app.request().
 */
import { afterAll, expect, test } from "bun:test";
import { ExportTraceServiceRequest, RpcStatus } from "../../src/otlp/schema.ts";
import { createLiveTail, type LiveTail } from "../../src/tail/live-tail";
import { buildApp, freshTenants, postJson, wideWindow, type TestApp } from "../support/harness";
import { SseReader } from "../support/sse";
import { describeOnStores } from "../support/store-suite";

const hex = (n: number, length: number) => n.toString(16).padStart(length, "0");
const TIME = String(BigInt(Date.now() - 60_000) * 1_000_000n);

/** `count` spans of about 1 KiB each as stored (`textBytes` of it an attribute); `repeatFirst` sends the first one again at the end. */
function exportOf(count: number, options: { repeatFirst?: boolean; resourceBytes?: number; textBytes?: number } = {}): Uint8Array {
  const textBytes = options.textBytes ?? 900;
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId: Buffer.from(hex(i + 1, 32), "hex"),
    spanId: Buffer.from(hex(i + 1, 16), "hex"),
    name: `op ${i}`,
    startTimeUnixNano: TIME,
    endTimeUnixNano: TIME,
    attributes: textBytes > 0 ? [{ key: "text", value: { stringValue: `${i} `.padEnd(textBytes, "x") } }] : [],
  }));
  if (options.repeatFirst) spans.push(spans[0]!);
  const resource = [
    { key: "service.name", value: { stringValue: "chunked" } },
    ...Array.from({ length: Math.ceil((options.resourceBytes ?? 0) / 1000) }, (_, i) => ({ key: `big.${i}`, value: { stringValue: "r".repeat(1000) } })),
  ];
  const request = { resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: "s" }, spans }] }] };
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
}

function send(app: TestApp, key: string, body: Uint8Array) {
  return app.request("/v1/traces", {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", "x-api-key": key },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

async function totals(app: TestApp, key: string) {
  const query = (await (await postJson(app, "/query", { ...wideWindow(), limit: 1 }, key)).json()) as any;
  const usage = (await (await app.request("/usage", { headers: { "x-api-key": key } })).json()) as any;
  return { total: query.pagination.total as number, events: usage.total.events as number, duplicates: usage.total.duplicates as number };
}

const tails: LiveTail[] = [];
afterAll(async () => {
  for (const tail of tails) await tail.close();
});

describeOnStores("OTLP exports written in chunks", (suite) => {
  test("an export of several chunks is stored whole, counted once; repeats in it and retries of it are duplicates", async () => {
    const { app, a, b } = suite.fresh();
    const body = exportOf(2500, { repeatFirst: true });
    const res = await send(app, a.key, body);
    expect(res.status).toBe(200);
    const [row] = await suite.handle.sql<{ n: number; ids: number }[]>`
      SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM events_all WHERE tenant_id = ${a.tenant}`;
    expect(row).toEqual({ n: 2500, ids: 2500 });
    expect(await totals(app, a.key)).toEqual({ total: 2500, events: 2500, duplicates: 1 });

    expect((await send(app, a.key, body)).status).toBe(200);
    expect(await totals(app, a.key)).toEqual({ total: 2500, events: 2500, duplicates: 2502 });
    // The other tenant has none of it.
    expect(await totals(app, b.key)).toEqual({ total: 0, events: 0, duplicates: 0 });
  }, 60_000);

  test("an export over its byte budget stores nothing, whether its records or its resource copies pass it", async () => {
    // Twice a 1 MiB body limit: 10,000 small spans (0.5 MiB as sent) are found over it after
    // chunks went to the database; 400 copies of an 8 KiB resource before any is written.
    const { app, a } = suite.fresh({ MAX_BODY_BYTES: String(1024 * 1024) });
    for (const body of [exportOf(10_000, { textBytes: 0 }), exportOf(400, { resourceBytes: 50_000 })]) {
      const res = await send(app, a.key, body);
      expect(res.status).toBe(413);
      expect(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())).message).toContain("once stored");
      expect(await totals(app, a.key)).toEqual({ total: 0, events: 0, duplicates: 0 });
      const [row] = await suite.handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events_all WHERE tenant_id = ${a.tenant}`;
      expect(row!.n).toBe(0);
    }
    // The connection went back: the next export is stored.
    expect((await send(app, a.key, exportOf(10))).status).toBe(200);
    expect((await totals(app, a.key)).total).toBe(10);
  }, 60_000);

  test("an OTLP/JSON export whose last record is malformed is a 400 after its first chunks were written, and stores nothing", async () => {
    const { app, a } = suite.fresh();
    const spans = Array.from({ length: 2500 }, (_, i) => ({
      traceId: hex(i + 1, 32), spanId: hex(i + 1, 16), name: `op ${i}`, startTimeUnixNano: TIME, endTimeUnixNano: TIME,
      attributes: [{ key: "text", value: { stringValue: "x".repeat(900) } }],
    }));
    const text = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }).replace('"name":"op 2499"', '"name": tru');
    const res = await app.request("/v1/traces", { method: "POST", headers: { "content-type": "application/json", "x-api-key": a.key }, body: text });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).message).toContain("invalid OTLP request");
    expect(await totals(app, a.key)).toEqual({ total: 0, events: 0, duplicates: 0 });
    // The same export made whole is stored whole.
    const whole = await app.request("/v1/traces", { method: "POST", headers: { "content-type": "application/json", "x-api-key": a.key }, body: text.replace('"name": tru', '"name":"op 2499"') });
    expect(whole.status).toBe(200);
    expect((await totals(app, a.key)).total).toBe(2500);
  }, 60_000);

  test("a live tail gets every event of an export of several chunks", async () => {
    const tail = createLiveTail({ replayBatches: 1000 });
    tails.push(tail);
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants, { tail });
    const opened = await app.request("/tail", { headers: { "x-api-key": tenants.a.key } });
    expect(opened.status).toBe(200);
    const reader = new SseReader(opened);
    expect((await reader.next())?.comments).toContain("open");
    expect((await send(app, tenants.a.key, exportOf(1500))).status).toBe(200);
    const messages = await reader.collect(1500, 20_000);
    await reader.close();
    const names = messages.map((m) => JSON.parse(m.data!).payload.name as string);
    expect(new Set(names).size).toBe(1500);
    expect(names).toContain("op 1499");
  }, 60_000);
});
