/**
 * A throwaway PostgreSQL cluster for fault tests: its own data directory in a
 * temp dir, its own port, its own socket directory. Tests may stop, kill and
 * restart it freely; the machine's shared PostgreSQL is never touched.
 *
 * initdb refuses to run as root, so when we are root every PostgreSQL binary
 * runs as the `postgres` user through runuser, and the temp dir is chowned to it.
 */
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/server-process";

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, or a PATH lookup. */
export function findPostgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = join(root, version, "bin");
      if (existsSync(join(bin, "initdb")) && existsSync(join(bin, "pg_ctl"))) return bin;
    }
  }
  const initdb = Bun.which("initdb");
  const pgCtl = Bun.which("pg_ctl");
  if (initdb && pgCtl) return join(initdb, "..");
  return undefined;
}

/**
 * Whether fault tests needing a throwaway PostgreSQL can run. Without the
 * binaries the tests are skipped with a printed reason, except in CI, where
 * a missing binary fails the run instead of silently skipping.
 */
export function throwawayPostgresAvailable(): boolean {
  const bin = findPostgresBinDir();
  if (bin) return true;
  const reason = "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on PATH";
  if (process.env.CI) throw new Error(`${reason}; they are required in CI`);
  console.warn(`[skip] ${reason}: fault tests needing a throwaway PostgreSQL are skipped`);
  return false;
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

async function run(argv: string[], what: string): Promise<string> {
  const full = isRoot ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
  const proc = Bun.spawn(full, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${argv.join(" ")}\n${out}\n${err}`);
  return out + err;
}

export interface ThrowawayPostgres {
  port: number;
  dataDir: string;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  /** Starts the server (waits until it accepts connections). */
  start(): Promise<void>;
  /** Stops it: "immediate" is a crash (no checkpoint), "fast" a clean shutdown that disconnects clients. */
  stop(mode?: "immediate" | "fast" | "smart"): Promise<void>;
  restart(mode?: "immediate" | "fast"): Promise<void>;
  isRunning(): Promise<boolean>;
  /** The server log, for failure messages. */
  log(): Promise<string>;
  /** Stops the server if running and removes the data directory. */
  destroy(): Promise<void>;
}

/**
 * Creates a cluster (initdb) on a free port; `start: false` leaves it stopped
 * (e.g. to boot the service before its database).
 */
export async function createThrowawayPostgres(options: { start?: boolean; extraSettings?: string[] } = {}): Promise<ThrowawayPostgres> {
  const bin = findPostgresBinDir();
  if (!bin) throw new Error("PostgreSQL server binaries not found");
  const dataDir = await mkdtemp(join(tmpdir(), "tv-pg-"));
  if (isRoot) {
    const pw = await run(["id", "-u"], "id"); // runs as postgres: its uid
    const gid = await run(["id", "-g"], "id");
    await chown(dataDir, Number(pw.trim()), Number(gid.trim()));
  }
  // --no-sync: the bootstrap needs no durability; the running server has fsync=on.
  await run([join(bin, "initdb"), "-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"], "initdb");
  const port = freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dataDir}`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=on",
    "-c max_connections=300",
    ...(options.extraSettings ?? []).map((s) => `-c ${s}`),
  ].join(" ");
  const logFile = join(dataDir, "log");
  let running = false;

  const pg: ThrowawayPostgres = {
    port,
    dataDir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await run([join(bin, "pg_ctl"), "-D", dataDir, "-o", settings, "-l", logFile, "-w", "-t", "30", "start"], "pg_ctl start");
      running = true;
    },
    async stop(mode = "immediate") {
      await run([join(bin, "pg_ctl"), "-D", dataDir, "-m", mode, "-w", "-t", "30", "stop"], `pg_ctl stop -m ${mode}`);
      running = false;
    },
    async restart(mode = "immediate") {
      await pg.stop(mode);
      await pg.start();
    },
    async isRunning() {
      const full = isRoot ? ["runuser", "-u", "postgres", "--", join(bin, "pg_ctl"), "-D", dataDir, "status"] : [join(bin, "pg_ctl"), "-D", dataDir, "status"];
      const proc = Bun.spawn(full, { stdout: "ignore", stderr: "ignore" });
      return (await proc.exited) === 0;
    },
    async log() {
      return readFile(logFile, "utf8").catch(() => "(no log)");
    },
    async destroy() {
      if (running || (await pg.isRunning())) await pg.stop("immediate").catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  if (options.start !== false) await pg.start();
  return pg;
}
