import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { createMigration, loadMigrations, migrateDown, migrateUp, parseMigration } from "../../src/storage/migrations";
import { random, serviceUrl } from "../support/harness";

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
      "events_history", "maintenance_lease", "schema_migrations", "tenant_usage",
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
