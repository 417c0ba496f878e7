import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { ensurePartitions } from "../../src/storage/maintenance";
import { runMigrations } from "../../src/storage/migrate";
import { createMigration, loadMigrations, migrateDown, migrateUp, MIGRATIONS_DIR, parseMigration } from "../../src/storage/migrations";
import { random, serviceUrl, testConfig } from "../support/harness";
import { freePort } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

test("a migration file has up and down sections", () => {
  const m = parseMigration("007_add_things.sql", "-- migrate:up\nCREATE TABLE x (a int);\n-- migrate:down\nDROP TABLE x;\n");
  expect(m).toEqual({ version: 7, name: "add_things", up: "CREATE TABLE x (a int);", down: "DROP TABLE x;" });
  expect(() => parseMigration("nope.sql", "")).toThrow("001_name.sql");
  expect(() => parseMigration("001_x.sql", "CREATE TABLE y ();")).toThrow("migrate:up");
});

test("the shipped migrations are numbered without gaps", async () => {
  const versions = (await loadMigrations()).map((m) => m.version);
  expect(versions).toEqual(versions.map((_, i) => i + 1));
});

test("migrate:create writes the next numbered file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tv-migrations-"));
  await writeFile(join(dir, "001_first.sql"), "-- migrate:up\nSELECT 1;\n-- migrate:down\n");
  const path = await createMigration("second_step", dir);
  expect(path).toBe(join(dir, "002_second_step.sql"));
  expect(await readFile(path, "utf8")).toContain("-- migrate:down");
  expect(createMigration("bad name!", dir)).rejects.toThrow();
  await rm(dir, { recursive: true });
});

describe.skipIf(!databaseUrl)("migrate up and down on PostgreSQL", () => {
  const schema = `tv_migrate_${random()}`;
  const sql = postgres(databaseUrl ?? "", { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  afterAll(async () => {
    await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
    await sql.end();
  });

  test("up applies all pending in order, again applies nothing; down reverts the last", async () => {
    await sql`CREATE SCHEMA ${sql(schema)}`;
    const all = await loadMigrations();
    expect(await migrateUp(sql)).toEqual(all.map((m) => `${String(m.version)}_${m.name}`));
    expect(await migrateUp(sql)).toEqual([]);
    const tables = async () =>
      (await sql<{ t: string }[]>`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY 1`).map((r) => r.t);
    expect(await tables()).toEqual([
      "event_counts_5min", "event_counts_hour", "event_counts_minute", "event_partitions", "events", "events_all", "events_default",
      "events_history", "maintenance_lease", "schema_migrations", "search_slices", "tenant_usage",
    ]);

    const last = all.at(-1)!;
    expect(await migrateDown(sql)).toBe(`${last.version}_${last.name}`);
    const [applied] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM schema_migrations`;
    expect(applied!.n).toBe(all.length - 1);
    // Down to nothing, then back up: every down section really reverts its up.
    while (await migrateDown(sql)) {}
    expect(await tables()).toEqual(["schema_migrations"]);
    expect((await migrateUp(sql)).length).toBe(all.length);
  });

  test("down leaves the service's role what the reverted schema's tables need, for the release it returns to", async () => {
    const other = `${schema}_down`;
    const role = `tv_role_${random()}`;
    await sql.unsafe(`CREATE ROLE ${role} NOLOGIN`);
    await sql`CREATE SCHEMA ${sql(other)}`;
    const owner = postgres(databaseUrl!, { max: 1, onnotice: () => {}, connection: { search_path: other } });
    try {
      await migrateUp(owner, { grantTo: role });
      // Back to the layout before partitions (sql/006): its events table is a new one.
      while ((await owner<{ n: number }[]>`SELECT max(version)::int AS n FROM schema_migrations`)[0]!.n > 6) await migrateDown(owner, { grantTo: role });
      const [may] = await owner<{ write: boolean; count: boolean }[]>`
        SELECT has_table_privilege(${role}, 'events', 'SELECT, INSERT') AS write,
               has_table_privilege(${role}, 'event_counts_hour', 'INSERT, UPDATE') AS count`;
      expect(may).toEqual({ write: true, count: true });
    } finally {
      await owner.end();
      await sql`DROP SCHEMA ${sql(other)} CASCADE`;
      await sql.unsafe(`DROP OWNED BY ${role}`);
      await sql.unsafe(`DROP ROLE ${role}`);
    }
  });

  test("down waits for a lock at most lockTimeoutMs, then gives way having reverted nothing", async () => {
    const other = `${schema}_locked`;
    await sql`CREATE SCHEMA ${sql(other)}`;
    const owner = postgres(databaseUrl!, { max: 1, onnotice: () => {}, connection: { search_path: other } });
    const reader = postgres(databaseUrl!, { max: 1, onnotice: () => {}, connection: { search_path: other } });
    try {
      await migrateUp(owner);
      const count = async () => (await owner<{ n: number }[]>`SELECT count(*)::int AS n FROM schema_migrations`)[0]!.n;
      const before = await count();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // A transaction left open with a lock that lets the down read, not write, what it must change.
      const holding = reader.begin(async (tx) => {
        await tx`LOCK TABLE schema_migrations IN SHARE MODE`;
        await released;
      });
      try {
        await Bun.sleep(100);
        const error = await migrateDown(owner, { lockTimeoutMs: 200 }).catch((e) => e);
        expect((error as { code?: string }).code).toBe("55P03");
      } finally {
        release();
        await holding;
      }
      expect(await count()).toBe(before);
    } finally {
      await Promise.all([owner.end(), reader.end()]);
      await sql`DROP SCHEMA ${sql(other)} CASCADE`;
    }
  });

  test("replicas starting together on a fresh schema all make their partitions", async () => {
    const other = `${schema}_start`;
    await sql`CREATE SCHEMA ${sql(other)}`;
    const owner = postgres(databaseUrl!, { max: 1, onnotice: () => {}, connection: { search_path: other } });
    const replicas = [0, 1, 2].map(() => postgres(databaseUrl!, { max: 1, onnotice: () => {}, connection: { search_path: other } }));
    try {
      await migrateUp(owner);
      const created = await Promise.all(replicas.map((c) => ensurePartitions(c, 6)));
      expect(created.filter((n) => n > 0)).toHaveLength(1);
      const [last] = await owner<{ upper: Date }[]>`SELECT max(upper_bound) AS upper FROM event_partitions`;
      expect(last!.upper.getTime()).toBeGreaterThanOrEqual(Date.now() + 47 * 3_600_000);
      // Whoever asks, partitions are made at most 7 days ahead.
      await ensurePartitions(replicas[0]!, 1, Date.now() + 365 * 24 * 3_600_000);
      const [capped] = await owner<{ upper: Date }[]>`SELECT max(upper_bound) AS upper FROM event_partitions`;
      expect(capped!.upper.getTime()).toBeLessThanOrEqual(Date.now() + (7 * 24 + 1) * 3_600_000);
      expect(capped!.upper.getTime()).toBeGreaterThan(Date.now() + (7 * 24 - 2) * 3_600_000);
    } finally {
      await Promise.all([owner.end(), ...replicas.map((c) => c.end())]);
      await sql`DROP SCHEMA ${sql(other)} CASCADE`;
    }
  });

  test("replicas migrating at once apply each migration exactly once", async () => {
    const other = `${schema}_race`;
    await sql`CREATE SCHEMA ${sql(other)}`;
    const clients = [0, 1, 2].map(() => postgres(databaseUrl!, { max: 1, onnotice: () => {}, connection: { search_path: other } }));
    try {
      const results = await Promise.all(clients.map((c) => migrateUp(c)));
      expect(results.flat().length).toBe((await loadMigrations()).length);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await sql`DROP SCHEMA ${sql(other)} CASCADE`;
    }
  });
});

describe.skipIf(!databaseUrl)("migrations behave under time and locks", () => {
  const schemas: string[] = [];
  const dirs: string[] = [];
  const admin = postgres(databaseUrl ?? "", { max: 2, onnotice: () => {} });
  const quiet = { info() {}, warn() {} };
  afterAll(async () => {
    for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    await admin.end();
  });

  /** The shipped migrations plus `extra` (file name → up section), in a directory of their own. */
  async function migrationsWith(extra: Record<string, string>) {
    const dir = await mkdtemp(join(tmpdir(), "tv-migrations-"));
    dirs.push(dir);
    for (const file of await readdir(MIGRATIONS_DIR)) await writeFile(join(dir, file), await readFile(join(MIGRATIONS_DIR, file), "utf8"));
    for (const [file, up] of Object.entries(extra)) await writeFile(join(dir, file), `-- migrate:up\n${up}\n-- migrate:down\n`);
    return dir;
  }

  function configFor(schema: string, env: Record<string, string> = {}) {
    schemas.push(schema);
    return testConfig({ DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, ...env });
  }

  test("a migration slower than the service's statement timeout completes", async () => {
    const dir = await migrationsWith({ "900_slow.sql": "SELECT pg_sleep(1.5);" });
    const config = configFor(`tv_slow_${random()}`, { DB_STATEMENT_TIMEOUT_MS: "500" });
    const applied = await runMigrations(config, quiet, { waitForDatabase: "bounded", dir });
    expect(applied.at(-1)).toBe("900_slow");
  }, 30_000);

  test("a migration blocked by a lock gives way at once, retries, and fails with the reason once MIGRATION_MAX_WAIT_S is spent", async () => {
    const schema = `tv_locked_${random()}`;
    const config = configFor(schema, { MIGRATION_LOCK_TIMEOUT_MS: "200", MIGRATION_MAX_WAIT_S: "1" });
    await runMigrations(config, quiet, { waitForDatabase: "bounded" });
    const dir = await migrationsWith({ "900_alter.sql": "ALTER TABLE tenant_usage ADD COLUMN note text;" });

    // A long transaction holds a lock on the table the migration alters.
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const locked = new Promise<void>((resolve) => (held = resolve));
    const session = admin.begin(async (tx) => {
      await tx`SELECT * FROM ${tx(schema)}.tenant_usage LIMIT 1`;
      held();
      await holding;
    });
    await locked;
    const started = performance.now();
    const failed = runMigrations(config, quiet, { waitForDatabase: "bounded", dir });
    // While it waits, queries on the table are not stuck behind it for longer than a lock timeout.
    await Bun.sleep(300);
    const t = performance.now();
    await admin`SELECT count(*) FROM ${admin(schema)}.tenant_usage`;
    expect(performance.now() - t).toBeLessThan(1000);
    expect(failed).rejects.toThrow(/gave up after 1 s \(MIGRATION_MAX_WAIT_S\): a lock they need stayed held/);
    await failed.catch(() => {});
    expect(performance.now() - started).toBeLessThan(5000);

    // Released while it retries: it goes through.
    const retried = runMigrations({ ...config, MIGRATION_MAX_WAIT_S: 30 }, quiet, { waitForDatabase: "bounded", dir });
    await Bun.sleep(700);
    release();
    await session;
    expect(await retried).toEqual(["900_alter"]);
  }, 30_000);

  test("a second migrator waits for the first however long it takes, then has nothing to do", async () => {
    const dir = await migrationsWith({ "900_slow.sql": "SELECT pg_sleep(2);" });
    const config = configFor(`tv_second_${random()}`, { MIGRATION_LOCK_TIMEOUT_MS: "200", MIGRATION_MAX_WAIT_S: "30", DB_STATEMENT_TIMEOUT_MS: "500" });
    const [first, second] = await Promise.all([
      runMigrations(config, quiet, { waitForDatabase: "bounded", dir }),
      Bun.sleep(200).then(() => runMigrations(config, quiet, { waitForDatabase: "bounded", dir })),
    ]);
    expect([first.length, second.length].sort((a, b) => a - b)).toEqual([0, (await loadMigrations(dir)).length]);
  }, 30_000);

  test("an applied migration whose file changed is refused; one applied before checksums gets its checksum recorded", async () => {
    const dir = await migrationsWith({ "900_note.sql": "CREATE TABLE notes (a int);" });
    const schema = `tv_checksum_${random()}`;
    const config = configFor(schema);
    await runMigrations(config, quiet, { waitForDatabase: "bounded", dir });
    const [row] = await admin<{ checksum: string }[]>`SELECT checksum FROM ${admin(schema)}.schema_migrations WHERE version = 900`;
    expect(row!.checksum).toMatch(/^[0-9a-f]{64}$/);
    // Recorded by an older version: no checksum yet.
    await admin`UPDATE ${admin(schema)}.schema_migrations SET checksum = NULL WHERE version = 900`;
    await runMigrations(config, quiet, { waitForDatabase: "bounded", dir });
    const [again] = await admin<{ checksum: string }[]>`SELECT checksum FROM ${admin(schema)}.schema_migrations WHERE version = 900`;
    expect(again!.checksum).toBe(row!.checksum);

    await writeFile(join(dir, "900_note.sql"), "-- migrate:up\nCREATE TABLE notes (a int, b int);\n-- migrate:down\n");
    expect(runMigrations(config, quiet, { waitForDatabase: "bounded", dir })).rejects.toThrow(
      "migration 900_note was changed after it was applied",
    );
  }, 30_000);

  test("bun run migrate retries a refused connection for MIGRATION_MAX_WAIT_S, then exits 1 saying so", async () => {
    const port = freePort();
    const started = performance.now();
    const proc = Bun.spawn(["bun", "run", "src/storage/migrate-cli.ts", "up"], {
      cwd: join(import.meta.dir, "../.."),
      env: { PATH: process.env.PATH ?? "", DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test`, MIGRATION_MAX_WAIT_S: "2" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeGreaterThan(1.9);
    expect(seconds).toBeLessThan(15);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain("migrate: migrations gave up after 2 s (MIGRATION_MAX_WAIT_S): the database stayed unreachable");
  }, 30_000);
});
