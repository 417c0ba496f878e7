/**
 * End to end: the real server process, configured only by environment
 * variables, over real HTTP, on PostgreSQL and on the embedded store.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import postgres from "postgres";
import { makeEvent, random, serviceUrl, wideWindow } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

async function call(server: ServerProcess, path: string, body: unknown, key = "test-key-tenant-a", headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key, ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
  });
}

describe.skipIf(!databaseUrl)("server process on PostgreSQL", () => {
  const schema = `tv_e2e_${random()}`;
  const admin = postgres(databaseUrl ?? "", { max: 1, onnotice: () => {} });
  let server: ServerProcess;

  afterAll(async () => {
    await server?.stop("SIGKILL");
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  test("starts, migrates, ingests (JSON, NDJSON, gzip), queries, and says which store it uses", async () => {
    const tenant = `e2e-${random()}`;
    server = await startServer({ DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, API_KEYS: `e2e-key:${tenant}` });
    await Bun.sleep(200);
    expect(server.output()).toContain("store: PostgreSQL");
    expect(server.output()).not.toContain("e2e-key");

    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ok", store: "postgres", checks: { postgres: "ok" } });

    const events = [1, 2, 3].map((i) => makeEvent(i));
    const json = await call(server, "/ingest", events, "e2e-key", { "x-request-id": "e2e-req-1" });
    expect(json.status).toBe(200);
    expect(json.headers.get("x-request-id")).toBe("e2e-req-1");
    expect(await json.json()).toEqual({ ingested: 3, duplicates: 0, message: "Events ingested successfully" });

    const ndjson = await call(server, "/ingest", [3, 4].map((i) => JSON.stringify(makeEvent(i))).join("\n"), "e2e-key", {
      "content-type": "application/x-ndjson",
    });
    expect(await ndjson.json()).toMatchObject({ ingested: 1, duplicates: 1 });

    const gz = await call(server, "/ingest", gzipSync(JSON.stringify([makeEvent(5)])), "e2e-key", { "content-encoding": "gzip" });
    expect(await gz.json()).toMatchObject({ ingested: 1 });

    const query = await call(server, "/query", { ...wideWindow(), limit: 2 }, "e2e-key");
    const body = (await query.json()) as any;
    expect(body.pagination).toEqual({ page: 1, limit: 2, total: 5, totalPages: 3, hasNext: true, hasPrev: false });
    expect(body.data.map((e: any) => e.eventId)).toEqual([makeEvent(1).eventId, makeEvent(2).eventId]);

    const [row] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM ${admin(schema)}.events WHERE tenant_id = ${tenant}`;
    expect(row!.n).toBe(5);

    const spec = await fetch(`${server.url}/api/openapi.json`);
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as any).paths["/ingest"]).toBeDefined();

    const unauthorized = await call(server, "/query", {}, "wrong");
    expect(unauthorized.status).toBe(401);
  });

  test("a bad variable stops start-up with one line naming it", async () => {
    const proc = Bun.spawn(["bun", "run", "src/server.ts"], {
      cwd: join(import.meta.dir, "../.."),
      env: { PATH: process.env.PATH ?? "", PORT: "not-a-port", RATE_LIMIT_MAX_REQUESTS: "-5" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain("invalid PORT");
    expect(stderr).toContain("invalid RATE_LIMIT_MAX_REQUESTS");
  });
});

describe("server process on the embedded store", () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("with no DATABASE_URL it runs on PGlite and keeps data across a restart", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tv-e2e-embedded-"));
    const first = await startServer({ DATA_DIR: dataDir }, { timeoutMs: 60_000 });
    expect(first.output()).toContain("store: embedded PGlite");
    const ingest = await call(first, "/ingest", [1, 2].map((i) => makeEvent(i)), "demo-key");
    expect(ingest.status).toBe(200);
    expect(await first.stop("SIGTERM")).toBe(0);

    const second = await startServer({ DATA_DIR: dataDir }, { timeoutMs: 60_000 });
    try {
      const again = await call(second, "/ingest", [2, 3].map((i) => makeEvent(i)), "demo-key");
      expect(await again.json()).toMatchObject({ ingested: 1, duplicates: 1 });
      const body = (await (await call(second, "/query", wideWindow(), "demo-key")).json()) as any;
      expect(body.pagination.total).toBe(3);
      const other = (await (await call(second, "/query", wideWindow(), "test-key-tenant-b")).json()) as any;
      expect(other.pagination.total).toBe(0);
    } finally {
      expect(await second.stop("SIGTERM")).toBe(0);
    }
  }, 120_000);
});
