import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Linux /proc readers: RSS, CPU ticks, and which local ports a process uses to reach PostgreSQL. */

const CLK_TCK = 100; // USER_HZ on Linux

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** VmRSS in MiB, or undefined when the process is gone. */
export function rssMiB(pid: number): number | undefined {
  const status = read(`/proc/${pid}/status`);
  const m = status && /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) / 1024 : undefined;
}

/** utime + stime of one process, in seconds. */
export function cpuSeconds(pid: number | "self"): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Key of the CPU that postmasters have reaped from exited children (cutime + cstime). */
const REAPED = -1;

/**
 * CPU seconds per process named `postgres` (all backends of the shared
 * cluster, ours and others'), plus under REAPED the CPU of children the
 * postmaster has already reaped (backends that closed, parallel workers), so
 * short-lived processes between two snapshots are not lost to "other".
 */
export function postgresCpuSeconds(): Map<number, number> {
  const byPid = new Map<number, number>();
  const parents = new Map<number, number>();
  const reaped = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (read(`/proc/${entry}/comm`)?.trim() !== "postgres") continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pid = Number(entry);
    byPid.set(pid, (Number(fields[11]) + Number(fields[12])) / CLK_TCK);
    parents.set(pid, Number(fields[1]));
    reaped.set(pid, (Number(fields[13]) + Number(fields[14])) / CLK_TCK);
  }
  let fromPostmasters = 0;
  for (const [pid, parent] of parents) if (!parents.has(parent)) fromPostmasters += reaped.get(pid) ?? 0;
  byPid.set(REAPED, fromPostmasters);
  return byPid;
}

/**
 * CPU used between two snapshots: processes alive at the end, plus what the
 * postmasters reaped meanwhile minus the part of it already counted at the
 * start (the pre-start CPU of backends that exited in between).
 */
function postgresDelta(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, end] of b) if (pid !== REAPED) total += Math.max(0, end - (a.get(pid) ?? 0));
  let reaped = (b.get(REAPED) ?? 0) - (a.get(REAPED) ?? 0);
  for (const [pid, start] of a) if (pid !== REAPED && !b.has(pid)) reaped -= start;
  return total + Math.max(0, reaped);
}

/** Machine-wide busy and total jiffies from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = (read("/proc/stat") ?? "").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  return { busy: total - idle, total };
}

export interface CpuSnapshot {
  at: number;
  server: number;
  generator: number;
  postgres: Map<number, number>;
  machine: { busy: number; total: number };
}

export function cpuSnapshot(serverPid: number | undefined): CpuSnapshot {
  return {
    at: performance.now(),
    server: serverPid ? cpuSeconds(serverPid) : 0,
    generator: cpuSeconds("self"),
    postgres: postgresCpuSeconds(),
    machine: machineTicks(),
  };
}

export interface CpuUsage {
  /** Average cores busy over the interval. */
  serverCores: number;
  generatorCores: number;
  postgresCores: number;
  /** Share of all cores busy, 0..100. */
  machineBusyPct: number;
  /** Cores busy with anything else (other engineers' tests, browsers, …): machine - server - generator - postgres. */
  otherCores: number;
}

export function cpuUsage(a: CpuSnapshot, b: CpuSnapshot): CpuUsage {
  const s = (b.at - a.at) / 1000;
  const r = (x: number) => Math.round((x / s) * 100) / 100;
  const total = b.machine.total - a.machine.total;
  const busyShare = total > 0 ? (b.machine.busy - a.machine.busy) / total : NaN;
  const cores = navigator.hardwareConcurrency || 1;
  const usage = {
    serverCores: r(b.server - a.server),
    generatorCores: r(b.generator - a.generator),
    postgresCores: r(postgresDelta(a.postgres, b.postgres)),
    machineBusyPct: Math.round(busyShare * 1000) / 10,
    otherCores: 0,
  };
  usage.otherCores = Math.max(0, Math.round((busyShare * cores - usage.serverCores - usage.generatorCores - usage.postgresCores) * 100) / 100);
  return usage;
}

/** Samples a process's VmRSS on a timer; `mark` starts a new named window. */
export class RssSampler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private current = { name: "startup", max: 0 };
  readonly windows: Record<string, number> = {};
  max = 0;

  constructor(private readonly pid: number, private readonly everyMs = 100) {}

  start() {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  private sample() {
    const rss = rssMiB(this.pid);
    if (rss === undefined) return;
    this.max = Math.max(this.max, rss);
    this.current.max = Math.max(this.current.max, rss);
    this.windows[this.current.name] = this.current.max;
  }

  /** Starts a window; returns a function that ends it and gives its max RSS (MiB). */
  mark(name: string): () => number {
    this.current = { name, max: 0 };
    this.sample();
    const window = this.current;
    return () => {
      this.sample();
      return window.max;
    };
  }

  stop() {
    clearInterval(this.timer);
  }
}

/** Local TCP ports of the process's connections to `remotePort` (to find its backends in pg_stat_activity). */
export function localPortsTo(pid: number, remotePort = 5432): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  const remoteHex = remotePort.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of (read(table) ?? "").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const [, local, remote] = cols;
      if (!remote?.endsWith(`:${remoteHex}`) || !inodes.has(cols[9]!)) continue;
      ports.push(parseInt(local!.split(":")[1]!, 16));
    }
  }
  return ports;
}
