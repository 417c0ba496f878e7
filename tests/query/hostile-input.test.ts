/**
 * What reaches SQL through /query: forged cursors, bodies and windows at the
 * edges. Every bad value is a 400 naming the field, never a 500, and never
 * leaves a connection behind: after a hundred forged cursors another tenant
 * is served at once.
 */
import { expect, test } from "bun:test";
import { buildApp, freshTenants, HOUR, makeEvent, postJson, wideWindow, type TestApp } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const unb64 = (cursor: string) => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));

describeOnStores("hostile /query input", (suite) => {
  async function seeded(count = 12) {
    const tenants = freshTenants();
    const app = buildApp(suite.handle.store, tenants);
    const events = Array.from({ length: count }, (_, i) => makeEvent(i));
    expect((await postJson(app, "/ingest", events, tenants.a.key)).status).toBe(200);
    const first = (await (await postJson(app, "/query", { ...wideWindow(), limit: 3 }, tenants.a.key)).json()) as any;
    return { app, tenants, cursor: first.nextCursor as string, state: first.nextCursor ? unb64(first.nextCursor) : undefined };
  }

  async function expect400(app: TestApp, key: string, body: unknown, path?: string) {
    const res = await postJson(app, "/query", body, key);
    const json = (await res.json()) as any;
    expect({ status: res.status, code: json.error?.code }).toEqual({ status: 400, code: "validation_failed" });
    expect(res.headers.get("x-request-id")).toBe(json.requestId);
    if (path) expect(json.error.details.map((d: any) => d.path)).toContain(path);
    return json;
  }

  test("forged cursor fields are refused one by one, naming the field", async () => {
    const { app, tenants, state } = await seeded();
    const forged: [Record<string, unknown>, string][] = [
      [{ startTime: "garbage" }, "cursor.startTime"],
      [{ startTime: "2026-01-01T00:00:00\ud800Z" }, "cursor.startTime"],
      [{ endTime: "+275760-09-13T00:00:00.000Z" }, "cursor.endTime"],
      [{ startTime: "-271821-04-20T00:00:00.000Z" }, "cursor.startTime"],
      [{ startTime: "0000-01-01T00:00:00Z" }, "cursor.startTime"],
      [{ startTime: new Date(Date.now() + 100 * HOUR).toISOString(), endTime: new Date(Date.now() + 101 * HOUR).toISOString() }, "cursor.after.timestamp"],
      [{ startTime: state.endTime, endTime: state.startTime }, "cursor.startTime"],
      [{ limit: 1e9 }, "cursor.limit"],
      [{ limit: 0 }, "cursor.limit"],
      [{ limit: -1 }, "cursor.limit"],
      [{ limit: 2.5 }, "cursor.limit"],
      [{ page: 0 }, "cursor.page"],
      [{ page: -5 }, "cursor.page"],
      [{ page: 1e20 }, "cursor.page"],
      [{ after: { ...state.after, eventId: "a\u0000b" } }, "cursor.after.eventId"],
      [{ after: { ...state.after, timestamp: "not a time" } }, "cursor.after.timestamp"],
      [{ after: "x" }, "cursor.after"],
      [{ serviceName: "svc\u0000" }, "cursor.serviceName"],
      [{ serviceName: "" }, "cursor.serviceName"],
      [{ eventType: "span" }, "cursor.eventType"],
      [{ extra: 1 }, "cursor"],
      [{ v: 2 }, "cursor.v"],
    ];
    for (const [patch, path] of forged) {
      const body = await expect400(app, tenants.a.key, { cursor: b64({ ...state, ...patch }) });
      expect(body.error.details.map((d: any) => d.path)).toContain(path);
    }
  });

  test("a cursor's instants are rewritten before use: an offset PostgreSQL refuses still means the same instant", async () => {
    const { app, tenants, cursor, state } = await seeded();
    const genuine = (await (await postJson(app, "/query", { cursor }, tenants.a.key)).json()) as any;
    const ms = Date.parse(state.after.timestamp);
    // The same instant written with +20:00 (PostgreSQL reads offsets up to ±15:59 only).
    const shifted = new Date(ms + 20 * HOUR).toISOString().slice(0, 23) + "+20:00";
    const res = await postJson(app, "/query", { cursor: b64({ ...state, after: { ...state.after, timestamp: shifted } }) }, tenants.a.key);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data).toEqual(genuine.data);
  });

  test("truncated, re-encoded, foreign and other tenants' cursors are refused", async () => {
    const { app, tenants, cursor, state } = await seeded();
    for (const bad of [cursor.slice(0, -5), cursor.slice(5), `${cursor}!!`, Buffer.from(JSON.stringify(state)).toString("base64") + "+/=", "e30", b64("[]"), b64("null"), b64('"x"')]) {
      await expect400(app, tenants.a.key, { cursor: bad });
    }
    // Tenant B, holding A's cursor, is refused: the cursor names its tenant.
    const json = await expect400(app, tenants.b.key, { cursor }, "cursor");
    expect(json.error.details[0].message).toContain("another tenant");
  });

  test("fields next to a cursor must repeat its values; page may not be sent", async () => {
    const { app, tenants, cursor, state } = await seeded();
    const same = await postJson(app, "/query", { cursor, startTime: state.startTime, endTime: state.endTime, limit: state.limit }, tenants.a.key);
    expect(same.status).toBe(200);
    expect(((await same.json()) as any).pagination.page).toBe(2);
    await expect400(app, tenants.a.key, { cursor, limit: 5 }, "limit");
    await expect400(app, tenants.a.key, { cursor, page: 2 }, "page");
    await expect400(app, tenants.a.key, { cursor, serviceName: "svc-1" }, "serviceName");
    await expect400(app, tenants.a.key, { cursor, endTime: new Date().toISOString() }, "endTime");
  });

  test("100 forged cursors, then another tenant is served within a second and the pool is idle", async () => {
    const { app, tenants, state } = await seeded();
    const forgeries = Array.from({ length: 100 }, (_, i) =>
      b64({ ...state, ...[{ startTime: "garbage" }, { startTime: "\ud800" }, { limit: 1e9 }, { page: -5 }, { after: { ...state.after, eventId: "\u0000" } }][i % 5] }),
    );
    const answers = await Promise.all(forgeries.map((cursor) => postJson(app, "/query", { cursor }, tenants.a.key)));
    expect(answers.map((r) => r.status)).toEqual(Array(100).fill(400));
    for (const res of answers) expect(((await res.json()) as any).error.code).toBe("validation_failed");

    const started = performance.now();
    const ingest = await postJson(app, "/ingest", makeEvent(1), tenants.b.key);
    const query = await postJson(app, "/query", wideWindow(), tenants.b.key);
    expect(performance.now() - started).toBeLessThan(1000);
    expect([ingest.status, query.status]).toEqual([200, 200]);
    expect(((await query.json()) as any).pagination.total).toBe(1);
    expect(suite.handle.store.poolStats()).toEqual({ inUse: 0, waiting: 0 });
    expect((await app.request("/health/ready")).status).toBe(200);
  });

  test("timestamps outside 1970..9999 after their offset are 400 naming the field", async () => {
    const { app, tenants } = await seeded(1);
    for (const [body, path] of [
      [{ startTime: "0000-01-01T00:00:00Z" }, "startTime"],
      [{ startTime: "0001-01-01T00:30:00+01:00" }, "startTime"],
      [{ startTime: "1969-12-31T23:59:59.999Z" }, "startTime"],
      [{ endTime: "9999-12-31T23:59:59-12:00" }, "endTime"],
    ] as const) {
      const json = await expect400(app, tenants.a.key, body, path);
      expect(JSON.stringify(json)).toContain("1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z");
    }
    const edge = await postJson(app, "/query", { startTime: "1970-01-01T00:00:00Z", endTime: "9999-12-31T23:59:59.999Z", limit: 1 }, tenants.a.key);
    expect(edge.status).toBe(200);
    expect(((await edge.json()) as any).pagination.total).toBe(1);
    // An end at the epoch: the default start (end - 24 h) stays in range.
    expect((await postJson(app, "/query", { endTime: "1970-01-01T00:00:00Z" }, tenants.a.key)).status).toBe(200);
  });

  test("body values: NUL or lone surrogates in serviceName, absurd limit and page", async () => {
    const { app, tenants } = await seeded(1);
    await expect400(app, tenants.a.key, { serviceName: "a\u0000b" }, "serviceName");
    await expect400(app, tenants.a.key, { serviceName: "a\udc00" }, "serviceName");
    await expect400(app, tenants.a.key, { limit: 1e9 }, "limit");
    await expect400(app, tenants.a.key, { page: 1e20 }, "page");
    await expect400(app, tenants.a.key, { page: -5 }, "page");
    const deepest = await postJson(app, "/query", { page: 1_000_000, limit: 1000 }, tenants.a.key);
    expect(deepest.status).toBe(200);
    expect(((await deepest.json()) as any).data).toEqual([]);
  });

  test("content types other than JSON are 415; no body and no Content-Type is the default query", async () => {
    const { app, tenants } = await seeded(2);
    for (const [type, body] of [
      ["application/x-www-form-urlencoded", "limit=1"],
      ["text/plain", "{}"],
      ["multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'],
    ]) {
      const res = await app.request("/query", { method: "POST", headers: { "content-type": type!, "x-api-key": tenants.a.key }, body });
      expect(res.status).toBe(415);
      expect(((await res.json()) as any).error.code).toBe("unsupported_media_type");
    }
    const bare = await app.request("/query", { method: "POST", headers: { "x-api-key": tenants.a.key } });
    expect(bare.status).toBe(200);
    const json = (await bare.json()) as any;
    expect(json.pagination).toEqual({ page: 1, limit: 100, total: 2, totalPages: 1, hasNext: false, hasPrev: false });
    const deep = await postJson(app, "/query", `${"[".repeat(5000)}${"]".repeat(5000)}`, tenants.a.key);
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as any).error.code).toBe("invalid_json");
  });
});
