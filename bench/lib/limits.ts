/**
 * The memory the worst requests within the limits cost the server: for each
 * case a fresh server process (so one case's heap growth is not the next
 * one's baseline), warmed with ordinary requests, then the case sent three
 * times in a row while VmRSS is sampled every 5 ms. Reports the peak above
 * the warmed baseline.
 *
 * Cases: the worst page (1000 events of 64 KiB as stored, as strings and as
 * arrays of small numbers, which cost the most objects), and the worst OTLP
 * exports (10,000 spans with as many attributes as MAX_BODY_BYTES holds; one
 * span with as many; a 50 KB resource on 10,000 tiny spans; the first as
 * OTLP/JSON). `scale` shrinks counts and the body limit (the smoke run).
 *
 * Last, the one-span export sent by eight clients at once: not a case of the
 * 64 MiB target (it is eight requests), but the check that the body budget
 * (http/body-budget.ts) keeps the process near the budget's share of them.
 */
import { ExportTraceServiceRequest } from "../../src/otlp/schema";
import { MAX_RECORD_VALUES } from "../../src/otlp/value-budget";
import { rssMiB } from "./procstat";
import { startBenchServer } from "./server";

export interface LimitCase {
  name: string;
  /** The last answer's status; `answers` counts them all when requests went at once. */
  status: number;
  answers?: string;
  /** False for the concurrent case, which is reported beside the per-request target, not under it. */
  underTarget: boolean;
  bodyBytes: number;
  baselineMiB: number;
  peakAboveMiB: number;
  ms: number;
}

const KEY = "bench-limits-key";
const MiB = 1024 * 1024;
/** As many attributes as one record may hold (src/otlp/value-budget.ts: two values each). */
const BUDGET_ATTRIBUTES = Math.floor(MAX_RECORD_VALUES / 2) - 1;
const hex = (n: number, length: number) => n.toString(16).padStart(length, "0");
const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });

function spans(count: number, attributes: number, valueLength: number) {
  const start = String(BigInt(Date.now() - 2000) * 1_000_000n);
  const end = String(BigInt(Date.now() - 1000) * 1_000_000n);
  return Array.from({ length: count }, (_, i) => ({
    traceId: hex(i + 1, 32),
    spanId: hex(i + 1, 16),
    name: `op ${i % 50}`,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes: Array.from({ length: attributes }, (_, j) => kv(`attr.${j}`, "v".repeat(valueLength))),
  }));
}

function exportBody(resource: object[], spanList: object[], encoding: "protobuf" | "json"): Uint8Array {
  const request = { resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: "bench" }, spans: spanList }] }] };
  if (encoding === "json") return new TextEncoder().encode(JSON.stringify(request));
  const withBytes = JSON.parse(JSON.stringify(request), (key, value) =>
    (key === "traceId" || key === "spanId") && typeof value === "string" ? Buffer.from(value, "hex") : value,
  );
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(withBytes)).finish();
}

/** Payloads of `bytes` as stored: one long string, or an array of small numbers. */
function bigPayload(kind: "string" | "numbers", bytes: number): Record<string, unknown> {
  return kind === "string" ? { blob: "x".repeat(bytes - 12) } : { n: Array.from({ length: Math.floor((bytes - 8) / 2) }, (_, i) => i % 10) };
}

export async function runLimits(options: { databaseUrl: string; schema: string; maxBodyBytes: number; scale: number; say: (line: string) => void }): Promise<LimitCase[]> {
  const { databaseUrl, schema, maxBodyBytes, scale, say } = options;
  const spanCount = Math.round(10_000 * scale);
  const bodyLimit = Math.round(maxBodyBytes * scale);
  const bigResource = [kv("service.name", "checkout"), ...Array.from({ length: 50 }, (_, i) => kv(`big.${i}`, "r".repeat(1000)))];
  /** The body `make(n)` builds with n as large as fits 95% of the body limit (rescaled from a guess). */
  const filling = (make: (n: number) => Uint8Array, guess: number) => () => {
    let n = guess;
    for (let round = 0; round < 3; round++) n = Math.max(1, Math.floor((n * bodyLimit * 0.95) / make(n).byteLength));
    return make(n);
  };
  const exportCases: [string, () => Uint8Array, string][] = [
    [`OTLP ${spanCount} spans with attributes up to the body limit (protobuf)`, filling((n) => exportBody([kv("service.name", "a")], spans(spanCount, n, 10), "protobuf"), 10), "application/x-protobuf"],
    // The most objects one span may make: attributes up to the value budget (two values each), their
    // values as long as the body allows. More, tinier attributes are refused before decoding.
    [`OTLP 1 span with ${BUDGET_ATTRIBUTES} attributes up to the body limit (protobuf)`, filling((n) => exportBody([kv("service.name", "a")], spans(1, BUDGET_ATTRIBUTES, n), "protobuf"), 400), "application/x-protobuf"],
    ["OTLP 1 span with tiny attributes up to the body limit, over the value budget (protobuf)", filling((n) => exportBody([kv("service.name", "a")], spans(1, n, 2), "protobuf"), 10_000), "application/x-protobuf"],
    [`OTLP 50 KB resource + ${spanCount} tiny spans (protobuf)`, () => exportBody(bigResource, spans(spanCount, 0, 0), "protobuf"), "application/x-protobuf"],
    [`OTLP ${Math.round(spanCount / 3)} spans with attributes up to the body limit (JSON)`, filling((n) => exportBody([kv("service.name", "a")], spans(Math.round(spanCount / 3), n, 10), "json"), 10), "application/json"],
  ];
  const pageRows = Math.round(1000 * scale);
  const results: LimitCase[] = [];

  interface CaseOptions {
    prepare?: (url: string) => Promise<void>;
    bodyBytes?: number;
    /** Requests sent at once in each of the three rounds. */
    atOnce?: number;
    env?: Record<string, string>;
  }

  async function measureCase(name: string, send: (url: string) => Promise<Response>, { prepare, bodyBytes = 0, atOnce = 1, env = {} }: CaseOptions = {}) {
    const server = await startBenchServer({ DATABASE_URL: databaseUrl, DB_SCHEMA: schema, API_KEYS: `${KEY}:bench-limits`, LOG_LEVEL: "error", RATE_LIMIT_MAX_REQUESTS: "1000000000", MAX_BODY_BYTES: String(bodyLimit), ...env });
    try {
      await prepare?.(server.url);
      // Warm-up: ordinary traffic, so the baseline is a server that has served requests.
      for (let i = 0; i < 20; i++) {
        await (await fetch(`${server.url}/query`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: '{"limit":10}' })).arrayBuffer();
      }
      await Bun.sleep(200);
      const baseline = rssMiB(server.pid) ?? 0;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.pid) ?? 0)), 5);
      const statuses: number[] = [];
      const started = performance.now();
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from({ length: atOnce }, async () => {
            const res = await send(server.url);
            statuses.push(res.status);
            await res.arrayBuffer();
          }),
        );
      }
      const ms = (performance.now() - started) / 3;
      await Bun.sleep(50);
      clearInterval(sampler);
      const status = statuses.at(-1)!;
      const answers = [...new Set(statuses)].map((s) => `${statuses.filter((x) => x === s).length}×${s}`).join(" ");
      const row = { name, status, underTarget: atOnce === 1, ...(atOnce > 1 ? { answers } : {}), bodyBytes, baselineMiB: baseline, peakAboveMiB: peak - baseline, ms };
      say(`  ${name}: ${atOnce > 1 ? answers : status}, body ${(bodyBytes / MiB).toFixed(1)} MiB, RSS ${baseline.toFixed(0)} MiB + ${row.peakAboveMiB.toFixed(0)} MiB at peak, ${ms.toFixed(0)} ms each`);
      results.push(row);
    } finally {
      await server.stop();
    }
  }

  for (const kind of ["string", "numbers"] as const) {
    const tenantRows = async (url: string) => {
      const payload = bigPayload(kind, 64 * 1024 - 200);
      const now = Date.now();
      for (let i = 0; i < pageRows; i += 5) {
        const batch = Array.from({ length: Math.min(5, pageRows - i) }, (_, j) => ({
          eventId: `${kind}-${i + j}`, eventType: "log", serviceName: "big", timestamp: new Date(now - (i + j) * 1000).toISOString(), payload,
        }));
        const res = await fetch(`${url}/ingest`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify(batch) });
        if (res.status !== 200) throw new Error(`filling the page case: ${res.status} ${await res.text()}`);
      }
    };
    await measureCase(
      `page of ${pageRows} events × 64 KiB (${kind})`,
      (url) => fetch(`${url}/query`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify({ serviceName: "big", limit: Math.min(1000, pageRows) }) }),
      { prepare: tenantRows },
    );
  }
  for (const [name, make, type] of exportCases) {
    const body = make();
    if (body.byteLength > bodyLimit) {
      say(`  ${name}: ${(body.byteLength / MiB).toFixed(1)} MiB is over MAX_BODY_BYTES; skipped`);
      continue;
    }
    await measureCase(name, (url) => fetch(`${url}/v1/traces`, { method: "POST", headers: { "x-api-key": KEY, "content-type": type }, body: body as Uint8Array<ArrayBuffer> }), { bodyBytes: body.byteLength });
  }
  const [oneSpanName, oneSpan] = exportCases[1]!;
  const body = oneSpan();
  if (body.byteLength <= bodyLimit) {
    const send = (url: string) => fetch(`${url}/v1/traces`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/x-protobuf" }, body: body as Uint8Array<ArrayBuffer> });
    // Side by side: with a budget too large to hold anything back, and as configured by default.
    await measureCase(`8 at once ×3, no body budget: ${oneSpanName}`, send, { bodyBytes: body.byteLength, atOnce: 8, env: { MAX_BODY_BYTES_IN_FLIGHT: String(64 * bodyLimit) } });
    await measureCase(`8 at once ×3, body budget 2 × MAX_BODY_BYTES: ${oneSpanName}`, send, { bodyBytes: body.byteLength, atOnce: 8 });
  }
  return results;
}
