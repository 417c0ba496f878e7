import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import postgres from "postgres";
import { createLiveTail } from "../../src/tail/live-tail";
import { openLeastPrivilegeStore } from "./least-privilege";
import { TestPgBouncer } from "./pgbouncer";
import { createApp } from "../../src/app";
import { parseConfig, type Config } from "../../src/config";
import type { AppDeps } from "../../src/http/context";
import { createLogger } from "../../src/observability/logger";
import { createMemoryRateLimiter } from "../../src/ratelimit";
import { openStore, type OpenedStore } from "../../src/storage/open-store";

const silent = createLogger({ level: "silent" });

/**
 * Real services are required in CI: a missing variable there fails the run
 * instead of silently skipping the integration tests.
 */
export function serviceUrl(name: "TEST_DATABASE_URL" | "TEST_REDIS_URL"): string | undefined {
  const value = process.env[name];
  if (!value && process.env.CI) throw new Error(`${name} must be set in CI`);
  if (!value) console.warn(`[skip] ${name} is not set: tests needing it are skipped`);
  return value;
}

export const random = () => Math.random().toString(36).slice(2, 10);

/** Two tenants with fresh names, so tests never see each other's rows. */
export function freshTenants() {
  const id = random();
  return {
    a: { key: `key-a-${id}`, tenant: `tenant-a-${id}` },
    b: { key: `key-b-${id}`, tenant: `tenant-b-${id}` },
  };
}
export type Tenants = ReturnType<typeof freshTenants>;

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", ...env });
}

export interface StoreHandle {
  store: OpenedStore;
  /** A direct connection to the same database, to check what is stored. */
  sql: postgres.Sql;
  cleanup(): Promise<void>;
}

/** A store on the real PostgreSQL, in a schema of its own that is dropped afterwards. */
export async function openPostgresTestStore(databaseUrl: string, env: Record<string, string> = {}): Promise<StoreHandle> {
  const schema = `tv_test_${random()}`;
  const config = testConfig({ DATABASE_URL: databaseUrl, DB_SCHEMA: schema, ...env });
  const store = await openStore(config, silent);
  await store.migration;
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connection: { search_path: schema } });
  return {
    store,
    sql,
    async cleanup() {
      await store.close();
      await sql`DROP SCHEMA ${sql(schema)} CASCADE`;
      await sql.end();
    },
  };
}

/** A store on the embedded PGlite in a temporary directory. */
export async function openEmbeddedTestStore(dataDir?: string, env: Record<string, string> = {}): Promise<StoreHandle & { dataDir: string }> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "tv-embedded-")));
  const store = await openStore(testConfig({ DATA_DIR: dir, ...env }), silent);
  return {
    store,
    // PGlite is single-session: checks go through the store's own connection.
    sql: store.sql,
    dataDir: dir,
    async cleanup() {
      await store.close();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export function apiKeysEnv(tenants: Tenants) {
  return { API_KEYS: `${tenants.a.key}:${tenants.a.tenant},${tenants.b.key}:${tenants.b.tenant}` };
}

/** An app on the given store with an in-process limiter generous enough not to interfere, and live tail in this process. */
export function buildApp(store: OpenedStore, tenants: Tenants, overrides: Partial<AppDeps> & { env?: Record<string, string> } = {}) {
  const { env, ...deps } = overrides;
  const config = testConfig({ ...apiKeysEnv(tenants), ...env });
  return createApp({
    config,
    store,
    limiter: createMemoryRateLimiter({ limit: 1_000_000, windowMs: 60_000 }),
    logger: silent,
    tail: createLiveTail({ replayBatches: config.TAIL_REPLAY_BATCHES }),
    ...deps,
  });
}

export type TestApp = ReturnType<typeof buildApp>;

export const HOUR = 60 * 60 * 1000;

/** An event `minutesAgo` before a fixed base time (default: 2 hours ago, whole minutes). */
export function makeEvent(i: number, overrides: Record<string, unknown> = {}) {
  const base = Math.floor((Date.now() - 2 * HOUR) / 60_000) * 60_000;
  return {
    eventId: `evt-${String(i).padStart(6, "0")}`,
    eventType: (["log", "metric", "trace"] as const)[i % 3],
    serviceName: `svc-${i % 4}`,
    timestamp: new Date(base - i * 1000).toISOString(),
    payload: { i, msg: `event ${i}` },
    ...overrides,
  };
}

export async function postJson(app: TestApp, path: string, body: unknown, key?: string, headers: Record<string, string> = {}): Promise<Response> {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}), ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
  });
}

export function postGzip(app: TestApp, path: string, text: string, key: string, contentType = "application/json") {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": contentType, "content-encoding": "gzip", "x-api-key": key },
    body: gzipSync(Buffer.from(text)),
  });
}

/** A window covering every event made by makeEvent. */
export function wideWindow() {
  return { startTime: new Date(Date.now() - 30 * 24 * HOUR).toISOString(), endTime: new Date(Date.now() + HOUR).toISOString() };
}

/**
 * The stores a storage-facing test runs on: PostgreSQL (when
 * TEST_DATABASE_URL is set; required in CI) and the embedded store; the
 * contract suites also on PostgreSQL as production runs it.
 */
export function testStores(options: { productionLike?: boolean; env?: Record<string, string> } = {}): { label: string; open: () => Promise<StoreHandle> }[] {
  const databaseUrl = serviceUrl("TEST_DATABASE_URL");
  return [
    ...(databaseUrl ? [{ label: "PostgreSQL", open: () => openPostgresTestStore(databaseUrl, options.env) }] : []),
    ...(databaseUrl && options.productionLike ? [productionLikeStore(databaseUrl)] : []),
    { label: "the embedded store", open: () => openEmbeddedTestStore(undefined, options.env) },
  ];
}

/**
 * PostgreSQL as production runs it (tests/support/least-privilege.ts): a
 * login that owns nothing, through PgBouncer in transaction mode when it is
 * installed (CI installs it; elsewhere the reason is printed once).
 */
function productionLikeStore(databaseUrl: string) {
  const pgbouncer = TestPgBouncer.binary() !== undefined;
  if (!pgbouncer && !warnedNoPgBouncer) {
    warnedNoPgBouncer = true;
    console.log("pgbouncer is not installed: the production-like store connects directly (apt-get install pgbouncer to test through it)");
  }
  return {
    label: pgbouncer ? "PostgreSQL as a least-privilege login through PgBouncer" : "PostgreSQL as a least-privilege login",
    open: () => openLeastPrivilegeStore(databaseUrl, { pgbouncer }),
  };
}
let warnedNoPgBouncer = false;
