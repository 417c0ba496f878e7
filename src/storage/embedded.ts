import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * The embedded store: PGlite (PostgreSQL compiled to WebAssembly) keeping its
 * files in DATA_DIR, served on a private Unix socket so the service reaches it
 * with the same `postgres` client and the same SQL as a real server.
 * One process, one connection: meant for local use and demos.
 */
export interface EmbeddedPostgres {
  /** Options for the `postgres` client. */
  connection: { path: string; database: string; username: string };
  dataDir: string;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  // pg_trgm: trigram indexes for search, as on a real server (sql/007).
  const db = await PGlite.create(dir, { extensions: { pg_trgm } });
  // Unix socket paths are limited to ~100 bytes, so the socket lives in the
  // temp dir rather than in a possibly long DATA_DIR path.
  const socketDir = join(tmpdir(), `tv-pglite-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  const path = join(socketDir, ".s.PGSQL.5432");
  const server = new PGLiteSocketServer({ db, path });
  await server.start();
  return {
    connection: { path, database: "postgres", username: "postgres" },
    dataDir: dir,
    async close() {
      await server.stop();
      await db.close();
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
