import type { Subprocess } from "bun";
import { sleep } from "./redis-test-env";

/**
 * A private redis-server for tests that stop, freeze and restart Redis.
 * Never the shared instance: those tests would disrupt everyone using it.
 */
export class ThrowawayRedis {
  private process: Subprocess | undefined;

  constructor(readonly port: number) {}

  static isAvailable(): boolean {
    return Bun.which("redis-server") !== null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = Bun.spawn(
      ["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdout: "ignore", stderr: "ignore" },
    );
    const deadline = Date.now() + 5000;
    while (!(await answersPing(this.port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(20);
    }
  }

  /** Abrupt crash: connections drop, the client sees errors immediately. */
  async kill(): Promise<void> {
    const proc = this.process;
    this.process = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGKILL");
    await proc.exited;
  }

  /** Freeze: connections stay open but nothing answers, the case only timeouts catch. */
  freeze(): void {
    this.process?.kill("SIGSTOP");
  }

  thaw(): void {
    this.process?.kill("SIGCONT");
  }
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean, socket?: { end(): void }) => {
      if (settled) return;
      settled = true;
      socket?.end();
      resolve(ok);
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (socket) => void socket.write("PING\r\n"),
        data: (socket, data) => finish(data.toString().startsWith("+PONG"), socket),
        error: () => finish(false),
        close: () => finish(false),
        connectError: () => finish(false),
      },
    }).catch(() => finish(false));
  });
}
