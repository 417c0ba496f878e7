import { Samples, summarize, type LatencySummary } from "./stats";

/**
 * Closed-loop load: `concurrency` workers each send one request, wait for
 * it, send the next. Each worker keeps its own counters (no shared
 * `total += await x` races); they are summed at the end.
 *
 * Throughput counts requests that *complete* inside the measured window
 * [warm-up end, warm-up end + duration]; requests still running at the end
 * finish but are not counted. Latency percentiles are over the same requests.
 */
export interface RequestOutcome {
  ok: boolean;
  /** Events this request carried that count towards throughput. */
  events: number;
  status?: number;
  error?: string;
}

export interface LoadResult {
  concurrency: number;
  seconds: number;
  requests: number;
  events: number;
  eventsPerSec: number;
  requestsPerSec: number;
  latencyMs: LatencySummary;
  /** All requests, warm-up and tail included. */
  sent: number;
  failed: number;
  failures: Record<string, number>;
  firstErrors: string[];
}

export async function runLoad(options: {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Sends one request; `worker` is 0..concurrency-1. Must not throw (return ok: false). */
  request: (worker: number) => Promise<RequestOutcome>;
  /** Called when the measured window starts and ends (for CPU/RSS/wait sampling). */
  onWindow?: (phase: "start" | "end") => void;
}): Promise<LoadResult> {
  const { concurrency, warmupMs, durationMs, request } = options;
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + durationMs;
  let windowStarted = false;
  let windowEnded = false;
  const startTimer = setTimeout(() => {
    windowStarted = true;
    options.onWindow?.("start");
  }, warmupMs);
  const endTimer = setTimeout(() => {
    windowEnded = true;
    options.onWindow?.("end");
  }, warmupMs + durationMs);

  const workers = Array.from({ length: concurrency }, (_, worker) => ({
    worker,
    requests: 0,
    events: 0,
    sent: 0,
    failed: 0,
    latency: new Samples(),
    failures: {} as Record<string, number>,
    errors: [] as string[],
  }));

  await Promise.all(
    workers.map(async (w) => {
      while (performance.now() < windowEnd) {
        const started = performance.now();
        const outcome = await request(w.worker);
        const done = performance.now();
        w.sent++;
        if (!outcome.ok) {
          w.failed++;
          const key = outcome.status ? `HTTP ${outcome.status}` : "error";
          w.failures[key] = (w.failures[key] ?? 0) + 1;
          if (w.errors.length < 3 && outcome.error) w.errors.push(outcome.error);
          continue;
        }
        if (done >= windowStart && done <= windowEnd) {
          w.requests++;
          w.events += outcome.events;
          w.latency.push(done - started);
        }
      }
    }),
  );
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  if (!windowStarted) options.onWindow?.("start");
  if (!windowEnded) options.onWindow?.("end");

  const seconds = durationMs / 1000;
  const requests = workers.reduce((n, w) => n + w.requests, 0);
  const events = workers.reduce((n, w) => n + w.events, 0);
  const failures: Record<string, number> = {};
  for (const w of workers) for (const [k, v] of Object.entries(w.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    concurrency,
    seconds,
    requests,
    events,
    eventsPerSec: events / seconds,
    requestsPerSec: requests / seconds,
    latencyMs: summarize(Samples.merge(workers.map((w) => w.latency))),
    sent: workers.reduce((n, w) => n + w.sent, 0),
    failed: workers.reduce((n, w) => n + w.failed, 0),
    failures,
    firstErrors: workers.flatMap((w) => w.errors).slice(0, 5),
  };
}

/** POSTs a prebuilt body; parses the small JSON answer only when asked. */
export async function post(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array | string,
  timeoutMs = 30_000,
): Promise<{ status: number; text: string; error?: string }> {
  try {
    const res = await fetch(url, { method: "POST", headers, body: body as BodyInit, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    return { status: 0, text: "", error: (error as Error).message };
  }
}
