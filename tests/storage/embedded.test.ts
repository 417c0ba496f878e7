/**
 * The embedded store's PGlite server: its data stays in DATA_DIR across a
 * restart, and closing it leaves nothing behind in the temp dir (its private
 * socket directory used to pile up there, one per start).
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../src/storage/embedded";

test("data survives a restart; close removes the socket directory", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "tv-embedded-"));
  try {
    const first = await startEmbeddedPostgres(dataDir);
    const socketDir = dirname(first.connection.path);
    expect(existsSync(socketDir)).toBe(true);
    const sql = postgres({ ...first.connection, max: 1, onnotice: () => {} });
    await sql`CREATE TABLE kept (n int)`;
    await sql`INSERT INTO kept VALUES (42)`;
    await sql.end();
    await first.close();
    expect(existsSync(socketDir)).toBe(false);

    const second = await startEmbeddedPostgres(dataDir);
    const again = postgres({ ...second.connection, max: 1, onnotice: () => {} });
    expect(await again`SELECT n FROM kept`).toEqual([{ n: 42 }] as never);
    await again.end();
    await second.close();
    expect(existsSync(dirname(second.connection.path))).toBe(false);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
