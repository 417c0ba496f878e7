import type { Subprocess } from "bun";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./server-process";

/**
 * A PgBouncer of a test's own, in transaction pool mode, in front of the
 * machine's PostgreSQL: every transaction may run on another server
 * connection, as in production deployments with many replicas. Users log in
 * without a password (the test cluster trusts local connections).
 */
export class TestPgBouncer {
  private process: Subprocess | undefined;
  private dir = "";
  readonly port = freePort();

  static binary(): string | undefined {
    return Bun.which("pgbouncer") ?? (Bun.which("/usr/sbin/pgbouncer") || undefined);
  }

  constructor(private readonly target: { host: string; port: number }, private readonly users: string[]) {}

  /** The URL of `database` through this PgBouncer, as `user`. */
  url(user: string, database: string): string {
    return `postgres://${encodeURIComponent(user)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  async start(): Promise<void> {
    const binary = TestPgBouncer.binary();
    if (!binary) throw new Error("pgbouncer is not installed (apt-get install pgbouncer)");
    this.dir = await mkdtemp(join(tmpdir(), "tv-pgbouncer-"));
    await chmod(this.dir, 0o777);
    await writeFile(join(this.dir, "users.txt"), this.users.map((u) => `"${u}" ""\n`).join(""));
    await writeFile(
      join(this.dir, "pgbouncer.ini"),
      [
        "[databases]",
        `* = host=${this.target.host} port=${this.target.port}`,
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${this.port}`,
        `unix_socket_dir = ${this.dir}`,
        "auth_type = trust",
        `auth_file = ${join(this.dir, "users.txt")}`,
        "pool_mode = transaction",
        "default_pool_size = 4",
        "max_client_conn = 500",
        "server_reset_query =",
        `logfile = ${join(this.dir, "pgbouncer.log")}`,
        `pidfile = ${join(this.dir, "pgbouncer.pid")}`,
        "",
      ].join("\n"),
    );
    await chmod(join(this.dir, "pgbouncer.ini"), 0o644);
    await chmod(join(this.dir, "users.txt"), 0o644);
    // PgBouncer will not run as root: it takes the postgres user's identity then.
    const asRoot = process.getuid?.() === 0;
    this.process = Bun.spawn([binary, ...(asRoot ? ["-u", "postgres"] : []), join(this.dir, "pgbouncer.ini")], { stdout: "ignore", stderr: "pipe" });
    const deadline = Date.now() + 5000;
    while (!(await this.listening())) {
      if (this.process.exitCode !== null) throw new Error(`pgbouncer exited: ${await new Response(this.process.stderr as ReadableStream).text()}`);
      if (Date.now() > deadline) throw new Error("pgbouncer did not start listening");
      await Bun.sleep(20);
    }
  }

  private async listening(): Promise<boolean> {
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: this.port, socket: { data() {} } });
      socket.end();
      return true;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    this.process?.kill("SIGTERM");
    await this.process?.exited;
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
