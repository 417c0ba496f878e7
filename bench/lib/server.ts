import type { Subprocess } from "bun";
import { join } from "node:path";

/**
 * Starts the real server the way users do (`bun run src/server.ts`), like
 * tests/support/server-process.ts, and waits until /health/ready says the
 * schema is migrated and PostgreSQL answers. Copied rather than imported so
 * the benchmark does not break when the test helpers change.
 */
const ROOT = join(import.meta.dir, "../..");

export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export interface BenchServer {
  url: string;
  pid: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  stop(): Promise<number>;
}

export async function startBenchServer(env: Record<string, string>, timeoutMs = 60_000): Promise<BenchServer> {
  const port = freePort();
  const proc = Bun.spawn(["bun", "run", "src/server.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NODE_ENV: "production", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (output.length > 200_000) output = output.slice(-100_000);
    }
  };
  void collect(proc.stdout);
  void collect(proc.stderr);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not become ready in time:\n${output}`);
    }
    await Bun.sleep(100);
  }
  return {
    url,
    pid: proc.pid,
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.exitCode === null && proc.kill("SIGKILL"), 30_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
