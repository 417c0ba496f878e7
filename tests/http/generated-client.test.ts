/**
 * A client generated from the OpenAPI document, as users make one: types by
 * openapi-typescript, calls by openapi-fetch. The calls below must compile
 * against the generated types (tsc, strict) and then run against the app,
 * search and traces included.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { buildApp, freshTenants, makeEvent, postJson, testStores, type StoreHandle } from "../support/harness";

const ROOT = join(import.meta.dir, "../..");

// The calls a user writes, type-checked against the generated paths.
const USAGE = `
import createClient from "openapi-fetch";
import type { paths } from "./api";

export async function run(fetch: (request: Request) => Promise<Response>, apiKey: string, window: { startTime: string; endTime: string }) {
  const client = createClient<paths>({ baseUrl: "http://vault.test", fetch, headers: { "X-API-Key": apiKey } });
  const search = await client.POST("/query", {
    body: { ...window, q: "timeout", where: [{ field: "http.status", op: "gte", value: 500 }], limit: 10, total: "exact" },
  });
  const levels = await client.POST("/query", { body: { ...window, groupBy: "field:level" } });
  const trace = await client.GET("/traces/{traceId}", { params: { path: { traceId: "ABC123" }, query: { limit: 10 } } });
  const bad = await client.POST("/query", { body: { ...window, where: [{ field: "a", op: "in", value: [] }] } });
  if (!search.data || !("pagination" in search.data)) throw new Error("expected a page of events");
  if (!levels.data || !("data" in levels.data) || "pagination" in levels.data) throw new Error("expected group counts");
  const page: { eventId: string; payload: Record<string, unknown> }[] = search.data.data;
  const total: number | null = search.data.pagination.total;
  const keys: (string | number | boolean | null | undefined)[] = levels.data.data.map((d) => d.key);
  return {
    ids: page.map((e) => e.eventId),
    total,
    keys,
    trace: trace.data?.data.map((e) => e.eventId),
    badStatus: bad.response.status,
    badCode: bad.error?.error.code,
  };
}
`;

let dir: string | undefined;
let handle: StoreHandle | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await handle?.cleanup();
});

test("a client generated from /api/openapi.json compiles and searches, groups and reads traces", async () => {
  handle = await testStores()[0]!.open();
  const tenants = freshTenants();
  const app = buildApp(handle.store, tenants);
  const events = [
    makeEvent(1, { payload: { msg: "upstream timeout", http: { status: 504 }, level: "error", traceId: "abc123" } }),
    makeEvent(2, { payload: { msg: "timeout, retried", http: { status: 200 }, level: "warn" } }),
    makeEvent(3, { payload: { msg: "ok", http: { status: 500 }, level: "error" } }),
  ];
  expect((await postJson(app, "/ingest", events, tenants.a.key)).status).toBe(200);

  const spec = await (await app.request("/api/openapi.json")).json();
  // Inside the repository, so the generated code resolves openapi-fetch from node_modules.
  dir = await mkdtemp(join(ROOT, ".client-"));
  await Bun.write(join(dir, "api.d.ts"), astToString(await openapiTS(spec as never)));
  await Bun.write(join(dir, "usage.ts"), USAGE);
  const tsc = Bun.spawnSync(
    [join(ROOT, "node_modules/.bin/tsc"), "--noEmit", "--strict", "--skipLibCheck", "--target", "esnext", "--module", "esnext",
      "--moduleResolution", "bundler", "--types", "bun", join(dir, "usage.ts")],
    { cwd: ROOT },
  );
  expect(tsc.stdout.toString() + tsc.stderr.toString()).toBe("");
  expect(tsc.exitCode).toBe(0);

  const { run } = await import(join(dir, "usage.ts"));
  const window = { startTime: new Date(Date.now() - 86_400_000).toISOString(), endTime: new Date().toISOString() };
  const result = await run((request: Request) => app.request(request), tenants.a.key, window);
  expect(result).toEqual({
    ids: [events[0]!.eventId],
    total: 1,
    keys: ["error", "warn"],
    trace: [events[0]!.eventId],
    badStatus: 400,
    badCode: "validation_failed",
  });
}, 60_000);
