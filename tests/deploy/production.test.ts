/**
 * What production refuses: demo keys, no keys, a store nobody chose, an open
 * /metrics; and secrets read from files. Unit checks of parseConfig, then the
 * real process, which must exit 1 naming the variable.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig, withSecretFiles } from "../../src/config";
import { buildApp, freshTenants, openEmbeddedTestStore } from "../support/harness";

const ROOT = join(import.meta.dir, "../..");
const production = { NODE_ENV: "production", DATABASE_URL: "postgres://svc@db:5432/vault", API_KEYS: "k1:tenant-one" };

function problems(env: Record<string, string>, options?: { serving?: boolean }): string {
  try {
    parseConfig(env, options);
    return "";
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

describe("production configuration", () => {
  test("needs API_KEYS, refuses the demo keys, and needs a database unless the embedded store is asked for", () => {
    expect(problems(production)).toBe("");
    const { API_KEYS: _, ...noKeys } = production;
    expect(problems(noKeys)).toContain("invalid API_KEYS: required when NODE_ENV=production");
    expect(problems({ ...production, API_KEYS: " " })).toContain("invalid API_KEYS: required");
    expect(problems({ ...production, API_KEYS: "k1:t1,demo-key:demo-tenant,test-key-tenant-a:a" })).toContain(
      "the demo key(s) demo-key, test-key-tenant-a are refused",
    );
    const { DATABASE_URL: __, ...noDatabase } = production;
    expect(problems(noDatabase)).toContain("invalid DATABASE_URL: required when NODE_ENV=production");
    expect(problems({ ...noDatabase, DB_HOST: "db" })).toBe("");
    expect(problems({ ...noDatabase, DB_EMBEDDED: "true" })).toBe("");
    // Every problem at once, one line each.
    expect(problems({ NODE_ENV: "production" }).split("\n")).toHaveLength(2);
    // The command-line tools take no requests: keys are not theirs to check.
    expect(problems({ NODE_ENV: "production", DATABASE_URL: production.DATABASE_URL }, { serving: false })).toBe("");
    // Development keeps the demo keys for a first `bun run start`.
    expect(parseConfig({}).API_KEYS.map((k) => k.key)).toContain("demo-key");
  });

  test("secrets come from NAME_FILE; both set, or an unreadable file, is an error naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tv-secrets-"));
    try {
      await writeFile(join(dir, "keys"), "k9:tenant-nine\n");
      const read = (path: string) => require("node:fs").readFileSync(path, "utf8") as string;
      const env = withSecretFiles({ ...production, API_KEYS: undefined, API_KEYS_FILE: join(dir, "keys") }, read);
      expect(parseConfig(env).API_KEYS).toEqual([{ key: "k9", tenant: "tenant-nine" }]);
      expect(() => withSecretFiles({ API_KEYS: "a:b", API_KEYS_FILE: join(dir, "keys") }, read)).toThrow("invalid API_KEYS_FILE: API_KEYS is set too");
      expect(() => withSecretFiles({ METRICS_TOKEN_FILE: join(dir, "missing") }, read)).toThrow("invalid METRICS_TOKEN_FILE: cannot read");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("/metrics is closed in production without METRICS_TOKEN, open to the token with one", async () => {
    const handle = await openEmbeddedTestStore();
    try {
      const tenants = freshTenants();
      const closed = buildApp(handle.store, tenants, { env: { NODE_ENV: "production", DB_EMBEDDED: "true", API_KEYS: "k:t" } });
      const res = await closed.request("/metrics");
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.message).toContain("METRICS_TOKEN");
      const guarded = buildApp(handle.store, tenants, { env: { NODE_ENV: "production", DB_EMBEDDED: "true", API_KEYS: "k:t", METRICS_TOKEN: "s3cret" } });
      expect((await guarded.request("/metrics")).status).toBe(401);
      expect((await guarded.request("/metrics", { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
      // Development stays open, for a first look.
      expect((await buildApp(handle.store, tenants).request("/metrics")).status).toBe(200);
    } finally {
      await handle.cleanup();
    }
  }, 60_000);
});

describe("production start-up refusals (the real process)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>) {
    const dataDir = await mkdtemp(join(tmpdir(), "tv-prod-"));
    dirs.push(dataDir);
    const proc = Bun.spawn(["bun", "run", "src/server.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORT: "0", DATA_DIR: dataDir, ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const code = await Promise.race([proc.exited, Bun.sleep(20_000).then(() => "still running" as const)]);
    if (code === "still running") proc.kill("SIGKILL");
    return { code, stderr: await new Response(proc.stderr).text() };
  }

  test("exits 1 naming API_KEYS when it is unset or holds a demo key, and DATABASE_URL when no store was chosen", async () => {
    const unset = await start({ NODE_ENV: "production", DB_EMBEDDED: "true" });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain("invalid API_KEYS: required when NODE_ENV=production");
    const demo = await start({ NODE_ENV: "production", DB_EMBEDDED: "true", API_KEYS: "demo-key:demo-tenant" });
    expect(demo.code).toBe(1);
    expect(demo.stderr).toContain("the demo key(s) demo-key are refused");
    expect(demo.stderr).not.toContain("demo-tenant");
    const noStore = await start({ NODE_ENV: "production", API_KEYS: "prod-key-1:acme" });
    expect(noStore.code).toBe(1);
    expect(noStore.stderr).toContain("invalid DATABASE_URL: required when NODE_ENV=production");
    expect(noStore.stderr).not.toContain("prod-key-1");
  }, 60_000);
});
