import type { Subprocess } from "bun";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

/** A free TCP port on 127.0.0.1, from a listener the OS picks for us. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and waits for the exit code; SIGKILL if it is still running 30 s later. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

const STOP_BACKSTOP_MS = 30_000;

/**
 * Starts `bun run src/server.ts` the way users do, and waits until it is ready
 * (/health/ready 200; or only alive, /health, with `waitFor: "alive"`).
 * Used by the end-to-end tests and by the benchmark (which also starts other
 * revisions of the service from a checkout in `cwd`).
 */
export async function startServer(
  env: Record<string, string>,
  options: { timeoutMs?: number; waitFor?: "ready" | "alive"; cwd?: string } = {},
): Promise<ServerProcess> {
  const port = Number(env.PORT ?? freePort());
  const proc = Bun.spawn(["bun", "run", "src/server.ts"], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "info", ...env, PORT: String(port) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  void collect(proc.stdout);
  void collect(proc.stderr);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}${options.waitFor === "alive" ? "/health" : "/health/ready"}`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start in time:\n${output}`);
    }
    await Bun.sleep(100);
  }
  return {
    url,
    port,
    pid: proc.pid,
    proc,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      const backstop = setTimeout(() => proc.exitCode === null && proc.kill("SIGKILL"), STOP_BACKSTOP_MS);
      try {
        return await proc.exited;
      } finally {
        clearTimeout(backstop);
      }
    },
  };
}
