import { startServer, type ServerProcess } from "../../tests/support/server-process";

/**
 * The real server for the benchmark, started by the same helper as the
 * end-to-end tests, as a production process on loopback, ready once
 * /health/ready says the schema is migrated and PostgreSQL answers.
 */
export type BenchServer = ServerProcess;

export function startBenchServer(env: Record<string, string>, options: { timeoutMs?: number; cwd?: string } = {}): Promise<BenchServer> {
  return startServer({ NODE_ENV: "production", HOST: "127.0.0.1", ...env }, { timeoutMs: options.timeoutMs ?? 60_000, cwd: options.cwd });
}
