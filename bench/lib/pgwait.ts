import type { Sql } from "postgres";
import { localPortsTo } from "./procstat";

/**
 * Samples pg_stat_activity for the backends serving one client, to show what
 * they spend their time on (CPU, WAL flush, row locks on count rows, ...).
 * Backends are picked by the client's local TCP ports (the server process)
 * or by application_name (the raw-insert client).
 */
export class WaitSampler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private ports: number[] = [];
  private portsAt = 0;
  readonly counts: Record<string, number> = {};
  samples = 0;

  constructor(
    private readonly sql: Sql,
    private readonly who: { pid: number } | { applicationName: string },
    private readonly everyMs = 50,
  ) {}

  start() {
    this.timer = setInterval(() => void this.sample(), this.everyMs);
    return this;
  }

  private async sample() {
    if (this.busy) return;
    this.busy = true;
    try {
      let rows: { w: string }[];
      if ("pid" in this.who) {
        if (performance.now() - this.portsAt > 1000) {
          this.ports = localPortsTo(this.who.pid);
          this.portsAt = performance.now();
        }
        if (this.ports.length === 0) return;
        rows = await this.sql<{ w: string }[]>`
          SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END AS w
          FROM pg_stat_activity WHERE client_port = ANY(${this.ports}::int[]) AND state <> 'idle'`;
      } else {
        rows = await this.sql<{ w: string }[]>`
          SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END AS w
          FROM pg_stat_activity WHERE application_name = ${this.who.applicationName} AND state <> 'idle'`;
      }
      this.samples++;
      for (const { w } of rows) this.counts[w] = (this.counts[w] ?? 0) + 1;
    } catch {
      // monitoring must never fail the run
    } finally {
      this.busy = false;
    }
  }

  stop() {
    clearInterval(this.timer);
  }

  /** Share of non-idle backend samples per state/wait event, largest first; plus average busy backends. */
  summary(): { avgBusyBackends: number; top: { what: string; pct: number }[] } {
    const total = Object.values(this.counts).reduce((a, b) => a + b, 0);
    return {
      avgBusyBackends: this.samples ? Math.round((total / this.samples) * 10) / 10 : 0,
      top: Object.entries(this.counts)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([what, n]) => ({ what, pct: Math.round((n / total) * 1000) / 10 })),
    };
  }
}

export function formatWaits(s: { avgBusyBackends: number; top: { what: string; pct: number }[] }): string {
  if (s.top.length === 0) return "-";
  return `${s.avgBusyBackends} busy: ` + s.top.slice(0, 3).map((t) => `${t.what} ${t.pct}%`).join(", ");
}
