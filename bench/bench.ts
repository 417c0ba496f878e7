/**
 * Telemetry Vault benchmark: `bun run bench [--smoke] [--rows N] [--seconds S] [--keep] …`
 * (`--help` lists every flag). Starts the real server process against the
 * real PostgreSQL and Redis and measures, in one run:
 *   1. the raw ceiling: the store's unnest insert (+ count upserts) straight through postgres.js
 *   2. POST /ingest, 1000-event batches, 8 clients
 *   3. POST /ingest, single events, 64 clients
 *   4. 1000-event batches with 10% already-stored ids (answers and stored counts checked exactly)
 *   5. POST /query latency per query shape on a data set of --rows events
 *   5b. the "before" baseline: each query shape as plain SQL on the events table
 *       (no count tables, plain OFFSET) through postgres.js, one connection, same data set
 *   6. server RSS (VmRSS) throughout, CPU per process, PostgreSQL wait events
 *   7. live tail's delay from commit to client, across two replicas
 *   8. the same ingest on the first contract's revision, alternating (A/B)
 * Prints tables and writes bench/results/<timestamp>.json. Exits non-zero
 * only on a real failure (a non-200, a wrong count, inconsistent count tables).
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { DEFAULT_BEFORE, parseArgs } from "./lib/args";
import { runBaseline, type BaselineResult } from "./lib/baseline";
import { RARE_WORD, SERVICES } from "./lib/data";
import { explainShapes, type ExplainResult } from "./lib/explain";
import {
  BIG_TENANT,
  checkConsistency,
  fillWithHttp,
  fillWithSql,
  FILL_VERSION,
  readFillMeta,
  SMALL_TENANT,
  writeFillMeta,
  type Consistency,
  type FillMeta,
} from "./lib/fill";
import { batchPool, duplicatePool, oneKeyPool, runIngestPhase, singlePool } from "./lib/http-ingest";
import type { LoadResult } from "./lib/load";
import { formatWaits, WaitSampler } from "./lib/pgwait";
import { cpuSnapshot, cpuUsage, RssSampler, type CpuUsage } from "./lib/procstat";
import { runQueries, type QueryResult } from "./lib/queries";
import { otlpTracePool, runOtlpPhase } from "./lib/otlp-ingest";
import { runLimits, type LimitCase } from "./lib/limits";
import { deleteTailKeys } from "../tests/support/tail-keys";
import { measureTailLatency } from "./lib/tail-latency";
import { RAW_APPLICATION_NAME, runRawCeiling, runRawKeys } from "./lib/raw";
import { fmtInt, fmtMs, table } from "./lib/report";
import { median } from "./lib/stats";
import { startBenchServer, type BenchServer } from "./lib/server";

const args = parseArgs(Bun.argv.slice(2));
const fmtX = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString("en")}×` : "-");
const runStarted = new Date();
const BATCH = 1000;
const DUP_PER_BATCH = 100;
const RAW_TENANT = "bench-raw";
const INGEST_TENANT = "bench-ingest";
const SINGLE_TENANT = "bench-single";
const RARE_SERVICE = SERVICES[SERVICES.length - 1]!;
const OTLP_TENANT = "bench-otlp";
const KEYS = { ingest: "bench-key-ingest", single: "bench-key-single", otlp: "bench-key-otlp", big: "bench-key-big", small: "bench-key-small" };
const API_KEYS = `${KEYS.ingest}:${INGEST_TENANT},${KEYS.single}:${SINGLE_TENANT},${KEYS.otlp}:${OTLP_TENANT},${KEYS.big}:${BIG_TENANT},${KEYS.small}:${SMALL_TENANT}`;
const TARGETS = { httpOverRaw: 0.9, singleEventsPerSec: 10_000, singleP95Ms: 50, queryP95Ms: 20, traceIndexRatio: 0.8 };

const ingestSchema = args.schema;
const querySchema = `${args.schema}_q${args.rows}${args.partitionHours === 6 ? "" : `_p${args.partitionHours}`}`;
const failures: string[] = [];
const fail = (msg: string) => {
  failures.push(msg);
  console.log(`  FAILURE: ${msg}`);
};
const say = (msg: string) => console.log(msg);

interface PhaseRow {
  phase: string;
  kind: "raw" | "http";
  result: LoadResult;
  cpu: CpuUsage;
  rssMaxMiB?: number;
  waits: ReturnType<WaitSampler["summary"]>;
  /** WAL the whole server wrote in the window, per event stored: what each commit has to flush. */
  walBytesPerEvent?: number;
  extra?: Record<string, unknown>;
}

const admin = postgres(args.databaseUrl, { max: 2, onnotice: () => {}, connection: { application_name: "tv-bench-admin" } });
const monitor = postgres(args.databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: "tv-bench-monitor" } });

function serverEnv(schema: string): Record<string, string> {
  return {
    DATABASE_URL: args.databaseUrl,
    DB_SCHEMA: schema,
    REDIS_URL: args.redisUrl,
    RATE_LIMIT_MAX_REQUESTS: "1000000000",
    LOG_LEVEL: "warn",
    API_KEYS,
    // Maintenance's work is measured on its own (the query fill builds what it would); none runs mid-measurement.
    MAINTENANCE_INTERVAL_S: "0",
    PARTITION_HOURS: String(args.partitionHours),
  };
}

async function dropSchema(schema: string) {
  await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

async function inSchema<T>(schema: string, work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return (await admin.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL search_path = ${schema}`);
    await tx`SET LOCAL lock_timeout = '10s'`;
    return work(tx);
  })) as T;
}

/** tv_app when the bench user may switch to it, like the server (src/storage/open-store.ts usableAppRole). */
let appRoleCache: Promise<string | undefined> | undefined;
function appRole(): Promise<string | undefined> {
  appRoleCache ??= admin<{ member: boolean | null }[]>`
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tv_app') THEN pg_has_role(current_user, 'tv_app', 'MEMBER') END AS member`
    .then(([row]) => (row?.member ? "tv_app" : undefined));
  return appRoleCache;
}

async function resetIngestTables() {
  await inSchema(ingestSchema, (tx) => tx`TRUNCATE events, event_counts_minute, event_counts_5min, event_counts_hour`);
  await admin`CHECKPOINT`;
}

async function tenantCount(schema: string, tenant: string): Promise<number> {
  const [row] = await inSchema(schema, (tx) => tx<{ n: string }[]>`SELECT count(*) AS n FROM events WHERE tenant_id = ${tenant}`);
  return Number(row!.n);
}

function requireConsistent(label: string, c: Consistency) {
  if (!c.ok) {
    const levels = Object.entries(c.levels).map(([table, l]) => `${table}: sum ${l.sum}, groups off ${l.mismatches}`);
    fail(`${label}: count tables disagree with events (events ${c.events}; ${levels.join("; ")})`);
  }
}

/** Runs one measured phase with CPU, RSS and wait-event sampling around its window. */
async function measured<T extends LoadResult>(
  phase: string,
  kind: "raw" | "http",
  rss: RssSampler | undefined,
  serverPid: number | undefined,
  waitsFor: { pid: number } | { applicationName: string },
  run: (onWindow: (p: "start" | "end") => void) => Promise<T>,
): Promise<PhaseRow & { result: T }> {
  const waits = new WaitSampler(monitor, waitsFor);
  let before = cpuSnapshot(serverPid);
  let after = before;
  let endRss: (() => number) | undefined;
  let rssMax: number | undefined;
  const walAt = () => monitor<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`.then(([row]) => row!.lsn);
  let walStart: Promise<string> | undefined;
  let walEnd: Promise<string> | undefined;
  const result = await run((p) => {
    if (p === "start") {
      before = cpuSnapshot(serverPid);
      endRss = rss?.mark(phase);
      waits.start();
      walStart = walAt();
    } else {
      after = cpuSnapshot(serverPid);
      rssMax = endRss?.();
      waits.stop();
      walEnd = walAt();
    }
  });
  waits.stop();
  let walBytesPerEvent: number | undefined;
  if (walStart && walEnd && result.events > 0) {
    const [wal] = await monitor<{ bytes: string }[]>`SELECT pg_wal_lsn_diff(${await walEnd}::pg_lsn, ${await walStart}::pg_lsn)::int8 AS bytes`;
    walBytesPerEvent = Math.round(Number(wal!.bytes) / result.events);
  }
  const row = { phase, kind, result, cpu: cpuUsage(before, after), rssMaxMiB: rssMax, waits: waits.summary(), walBytesPerEvent };
  const r = result;
  say(
    `  ${phase}: ${fmtInt(r.eventsPerSec)} events/s, ${fmtInt(r.requestsPerSec)} req/s, p50 ${fmtMs(r.latencyMs.p50)} / p95 ${fmtMs(r.latencyMs.p95)} / p99 ${fmtMs(r.latencyMs.p99)} ms` +
      `${r.failed ? `, FAILED ${r.failed} (${JSON.stringify(r.failures)}: ${r.firstErrors[0] ?? ""})` : ""}; cores srv ${row.cpu.serverCores} gen ${row.cpu.generatorCores} pg ${row.cpu.postgresCores} other ${row.cpu.otherCores}` +
      `${walBytesPerEvent === undefined ? "" : `; WAL ${fmtInt(walBytesPerEvent)} B/event`}` +
      `; pg: ${formatWaits(row.waits)}`,
  );
  if (r.failed) fail(`${phase}: ${r.failed} of ${r.sent} requests failed ${JSON.stringify(r.failures)}: ${r.firstErrors.join(" | ").slice(0, 500)}`);
  return row;
}

// ---------------------------------------------------------------------------

const report: Record<string, unknown> = {
  startedAt: runStarted.toISOString(),
  args: { ...args, databaseUrl: undefined, redisUrl: undefined },
  machine: { cpus: navigator.hardwareConcurrency, bun: Bun.version },
  targets: TARGETS,
};
const phases: PhaseRow[] = [];
let queryResults: QueryResult[] = [];
let explains: ExplainResult[] = [];
let baseline: BaselineResult | undefined;
let rssOverall = 0;
let fillInfo: Record<string, unknown> = {};
let limitCases: LimitCase[] = [];
const LIMITS_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Live tail: commit to client, across two replicas sharing PostgreSQL and Redis. */
async function tailSection() {
  const schema = `${args.schema}_tail`;
  say(`\n== Live tail (schema ${schema}): a tail on one replica, single events ingested through another`);
  if (!args.redisUrl) {
    say("  skipped: no Redis (--no-redis)");
    return;
  }
  await dropSchema(schema);
  const first = await startBenchServer(serverEnv(schema));
  const second = await startBenchServer(serverEnv(schema));
  try {
    const result = await measureTailLatency({ tailUrl: first.url, ingestUrl: second.url, apiKey: KEYS.ingest, events: args.smoke ? 20 : 300 });
    report.tail = result;
    say(`  ${result.samples} events: ingest request sent → event on the stream (an upper bound on commit → client) p50 ${fmtMs(result.latencyMs.p50)} / p95 ${fmtMs(result.latencyMs.p95)} / p99 ${fmtMs(result.latencyMs.p99)} / max ${fmtMs(result.latencyMs.max)} ms` +
      `${result.missing ? `; MISSING ${result.missing}` : ""}`);
    if (result.missing) fail(`live tail: ${result.missing} events never arrived`);
  } finally {
    await Promise.all([first.stop(), second.stop()]);
    await dropSchema(schema);
    // The tenant's tail stream has no expiry; the shared Redis is left as it was.
    await deleteTailKeys(args.redisUrl, [INGEST_TENANT]);
  }
}

async function limitsSection() {
  const schema = `${args.schema}_limits`;
  say(`\n== Memory of the worst requests within the limits (schema ${schema}; fresh server per case, warmed, case sent 3× in a row)`);
  await dropSchema(schema);
  try {
    limitCases = await runLimits({ databaseUrl: args.databaseUrl, schema, maxBodyBytes: LIMITS_MAX_BODY_BYTES, scale: args.smoke ? 0.05 : 1, say });
  } finally {
    await dropSchema(schema);
  }
}

async function ingestSection() {
  say(`\n== Ingest phases (schema ${ingestSchema}, ${args.seconds}s measured + ${args.warmupSeconds}s warm-up each)`);
  await dropSchema(ingestSchema);
  const server = await startBenchServer(serverEnv(ingestSchema));
  const rss = new RssSampler(server.pid).start();
  const warmupMs = args.warmupSeconds * 1000;
  const durationMs = args.seconds * 1000;
  try {
    // 1. Raw ceiling. Same role switch as the server (src/storage/open-store.ts usableAppRole).
    const rawRole = await appRole();
    report.rawAppRole = rawRole ?? null;
    say(`  raw ceiling runs ${rawRole ? "as role tv_app (row-level security on, like the server)" : "without an app role"}`);
    let bestRawWithCounts = 0;
    // "Events only" inserts without naming a tenant, so row-level security
    // lets it through only for a user that bypasses it (the default postgres).
    const [bench] = await admin<{ bypasses: boolean }[]>`
      SELECT rolsuper OR rolbypassrls AS bypasses FROM pg_roles WHERE rolname = current_user`;
    if (!bench?.bypasses) say("  raw 'events only' skipped: the bench user is subject to row-level security");
    for (const connections of args.rawConnections) {
      for (const withCounts of bench?.bypasses ? [false, true] : [true]) {
        await resetIngestTables();
        const name = `raw unnest ${withCounts ? "events+counts" : "events only"}`;
        const row = await measured(`${name} (${connections} conns)`, "raw", undefined, undefined, { applicationName: RAW_APPLICATION_NAME }, (onWindow) =>
          runRawCeiling({
            databaseUrl: args.databaseUrl, schema: ingestSchema, tenantId: RAW_TENANT, appRole: rawRole, connections, withCounts,
            batchSize: BATCH, spreadMs: 120_000, warmupMs, durationMs, onWindow,
          }));
        phases.push(row);
        if (withCounts) {
          bestRawWithCounts = Math.max(bestRawWithCounts, row.result.eventsPerSec);
          requireConsistent(name, await checkConsistency(admin, ingestSchema));
        }
      }
    }
    // The one index search adds to the write path: trace ids (the trigram
    // indexes come later, on closed partitions). With and without it at the
    // same connection count, alternating, as the issue's bound is a ratio of
    // the two and single runs swing with the table's extension locks.
    {
      const connections = Math.max(...args.rawConnections);
      for (let round = 1; round <= args.abRounds; round++) {
        for (const withIndex of [true, false]) {
          await resetIngestTables();
          if (!withIndex) await inSchema(ingestSchema, (tx) => tx`DROP INDEX events_trace_idx`);
          const row = await measured(`raw unnest events+counts, ${withIndex ? "with" : "no"} trace index #${round} (${connections} conns)`, "raw", undefined, undefined, { applicationName: RAW_APPLICATION_NAME }, (onWindow) =>
            runRawCeiling({
              databaseUrl: args.databaseUrl, schema: ingestSchema, tenantId: RAW_TENANT, appRole: rawRole, connections, withCounts: true,
              batchSize: BATCH, spreadMs: 120_000, warmupMs, durationMs, onWindow,
            }));
          phases.push(row);
          if (!withIndex) {
            await resetIngestTables();
            await inSchema(ingestSchema, (tx) => tx`CREATE INDEX events_trace_idx ON events (tenant_id, trace_id) WHERE trace_id IS NOT NULL`);
          }
        }
      }
    }

    // 2. HTTP 1000-event batches, 8 clients.
    const rate = bestRawWithCounts || 50_000;
    const batches = Math.min(4000, Math.max(20, Math.ceil((rate * 1.4 * (args.seconds + args.warmupSeconds)) / BATCH)));
    say(`  prebuilding ${batches} bodies of ${BATCH} events…`);
    const { pool, kept } = batchPool(batches, BATCH, DUP_PER_BATCH);
    await resetIngestTables();
    const okBatches: number[] = [];
    const batchRow = await measured(`HTTP /ingest ${BATCH}/batch`, "http", rss, server.pid, { pid: server.pid }, (onWindow) =>
      runIngestPhase({
        url: server.url, apiKey: KEYS.ingest, pool, concurrency: 8, warmupMs, durationMs, onWindow,
        expect: () => ({ events: BATCH, ingested: BATCH, duplicates: 0 }),
        onOk: (i) => okBatches.push(i),
      }));
    phases.push(batchRow);
    const stored = await tenantCount(ingestSchema, INGEST_TENANT);
    const b = batchRow.result;
    batchRow.extra = { storedEvents: stored, ingestedReported: b.ingestedTotal, prebuilt: b.prebuilt, builtDuringRun: b.builtDuringRun };
    if (stored !== b.ingestedTotal || b.ingestedTotal !== b.sentOkEvents || b.wrongCounts) {
      fail(`HTTP batches: stored ${stored}, answers said ingested ${b.ingestedTotal}, events sent with 200 ${b.sentOkEvents}, wrong answers ${b.wrongCounts}`);
    }
    requireConsistent("HTTP batches", await checkConsistency(admin, ingestSchema));

    // 4. 10% duplicates (ids taken from batches committed above).
    const dupBatches = Math.min(4000, Math.max(20, Math.ceil(b.eventsPerSec * 1.5 * (args.seconds + args.warmupSeconds) / BATCH)));
    let dupCursor = 0;
    const dupSource = () => kept[okBatches[dupCursor++ % Math.max(1, okBatches.length)] ?? 0] ?? [];
    say(`  prebuilding ${dupBatches} bodies with ${DUP_PER_BATCH} already-stored ids each…`);
    const dupPool = duplicatePool(dupBatches, BATCH, dupSource);
    await admin`CHECKPOINT`;
    const beforeDup = stored;
    const dupRow = await measured(`HTTP /ingest ${BATCH}/batch, 10% dups`, "http", rss, server.pid, { pid: server.pid }, (onWindow) =>
      runIngestPhase({
        url: server.url, apiKey: KEYS.ingest, pool: dupPool, concurrency: 8, warmupMs, durationMs, onWindow,
        expect: () => ({ events: BATCH, ingested: BATCH - DUP_PER_BATCH, duplicates: DUP_PER_BATCH }),
      }));
    phases.push(dupRow);
    const d = dupRow.result;
    const afterDup = await tenantCount(ingestSchema, INGEST_TENANT);
    const okDupRequests = d.sentOkEvents / BATCH;
    const expectedNew = okDupRequests * (BATCH - DUP_PER_BATCH);
    const exact = afterDup - beforeDup === d.ingestedTotal && d.ingestedTotal === expectedNew && d.wrongCounts === 0 && d.duplicatesTotal === okDupRequests * DUP_PER_BATCH;
    dupRow.extra = {
      newEventsStored: afterDup - beforeDup, ingestedReported: d.ingestedTotal, duplicatesReported: d.duplicatesTotal,
      expectedNew, wrongAnswers: d.wrongCounts, exact, prebuilt: d.prebuilt, builtDuringRun: d.builtDuringRun,
      newEventsPerSec: d.eventsPerSec * (BATCH - DUP_PER_BATCH) / BATCH,
    };
    if (!exact) fail(`duplicates: stored ${afterDup - beforeDup} new, answers said ${d.ingestedTotal} ingested / ${d.duplicatesTotal} duplicates, expected ${expectedNew} new; wrong answers ${d.wrongCounts}`);
    requireConsistent("HTTP duplicates", await checkConsistency(admin, ingestSchema));

    // 3. Single events, 64 clients.
    const singles = Math.min(600_000, Math.ceil(20_000 * (args.seconds + args.warmupSeconds)));
    say(`  prebuilding ${fmtInt(singles)} single-event bodies…`);
    const sPool = singlePool(singles);
    await resetIngestTables();
    const singleRow = await measured("HTTP /ingest single event", "http", rss, server.pid, { pid: server.pid }, (onWindow) =>
      runIngestPhase({
        url: server.url, apiKey: KEYS.single, pool: sPool, concurrency: 64, warmupMs, durationMs, onWindow,
        expect: () => ({ events: 1, ingested: 1, duplicates: 0 }),
      }));
    phases.push(singleRow);
    const s = singleRow.result;
    const storedSingles = await tenantCount(ingestSchema, SINGLE_TENANT);
    singleRow.extra = { storedEvents: storedSingles, ingestedReported: s.ingestedTotal, prebuilt: s.prebuilt, builtDuringRun: s.builtDuringRun };
    if (storedSingles !== s.ingestedTotal || s.ingestedTotal !== s.sentOkEvents || s.wrongCounts) {
      fail(`single events: stored ${storedSingles}, answers said ${s.ingestedTotal}, sent with 200 ${s.sentOkEvents}`);
    }
    requireConsistent("HTTP single events", await checkConsistency(admin, ingestSchema));

    // 5. OTLP/HTTP protobuf spans (what OpenTelemetry exporters send), 1000 per request, 8 clients.
    const otlpRequests = Math.min(1500, Math.max(10, Math.ceil((b.eventsPerSec * 1.2 * (args.seconds + args.warmupSeconds)) / BATCH)));
    say(`  prebuilding ${otlpRequests} OTLP protobuf requests of ${BATCH} spans…`);
    const oPool = otlpTracePool(otlpRequests, BATCH);
    await resetIngestTables();
    const otlpRow = await measured(`OTLP /v1/traces protobuf ${BATCH} spans`, "http", rss, server.pid, { pid: server.pid }, (onWindow) =>
      runOtlpPhase({ url: server.url, apiKey: KEYS.otlp, pool: oPool, spansPerRequest: BATCH, concurrency: 8, warmupMs, durationMs, onWindow }));
    phases.push(otlpRow);
    const o = otlpRow.result;
    const storedSpans = await tenantCount(ingestSchema, OTLP_TENANT);
    otlpRow.extra = { storedSpans, sentOkSpans: o.sentOkSpans, prebuilt: o.prebuilt, builtDuringRun: o.builtDuringRun };
    if (storedSpans !== o.sentOkSpans) fail(`OTLP spans: stored ${storedSpans}, sent with 200 ${o.sentOkSpans}`);
    requireConsistent("OTLP spans", await checkConsistency(admin, ingestSchema));
  } finally {
    rss.stop();
    rssOverall = Math.max(rssOverall, rss.max);
    report.serverRssMiB = { ...(report.serverRssMiB as object), ingest: rss.windows, ingestMax: rss.max };
    const code = await server.stop();
    if (code !== 0) fail(`ingest server exited with ${code}: ${server.output().slice(-2000)}`);
  }
}

async function querySection() {
  say(`\n== Query phase (schema ${querySchema}, ${fmtInt(args.rows)} rows)`);
  let meta: FillMeta | undefined = args.keep ? await readFillMeta(admin, querySchema) : undefined;
  const reuse = meta !== undefined && meta.rows === args.rows;
  if (!reuse) {
    meta = undefined;
    await dropSchema(querySchema);
  } else {
    say(`  reusing ${querySchema}: filled ${meta!.filledAt} by ${meta!.fill} (anchor ${new Date(meta!.anchorMs).toISOString()})`);
  }
  const server: BenchServer = await startBenchServer(serverEnv(querySchema));
  const rss = new RssSampler(server.pid).start();
  try {
    if (!meta) {
      const anchorMs = Date.now() - 1000;
      const t = performance.now();
      say(`  filling ${fmtInt(args.rows)} events by ${args.fill}…`);
      if (args.fill === "sql") report.fillCosts = await fillWithSql(admin, querySchema, args.rows, anchorMs, args.partitionHours);
      else await fillWithHttp(server.url, { big: KEYS.big, small: KEYS.small }, args.rows, anchorMs);
      const fillSeconds = (performance.now() - t) / 1000;
      if (args.vacuum) await admin.unsafe(`VACUUM ANALYZE ${querySchema}.events, ${querySchema}.event_counts_minute, ${querySchema}.event_counts_5min, ${querySchema}.event_counts_hour`);
      meta = { version: FILL_VERSION, rows: args.rows, anchorMs, fill: args.fill, filledAt: new Date().toISOString(), fillSeconds, vacuumed: args.vacuum };
      await writeFillMeta(admin, querySchema, meta);
      say(`  filled in ${fillSeconds.toFixed(1)} s (${fmtInt(args.rows / fillSeconds)} events/s)${args.vacuum ? " + VACUUM ANALYZE" : ""}`);
    }
    const consistency = await checkConsistency(admin, querySchema);
    const sizes = await dataSetSizes(querySchema);
    fillInfo = { ...meta, reused: reuse, consistency, sizes };
    say(`  data set: ${JSON.stringify(consistency.byTenant)}; ${formatSizes(sizes, consistency.events)}; count tables ${consistency.ok ? "consistent" : "INCONSISTENT"}`);
    requireConsistent("query data set", consistency);
    if (consistency.events !== args.rows) fail(`query data set holds ${consistency.events} events, expected ${args.rows}`);

    const endRss = rss.mark("queries");
    const before = cpuSnapshot(server.pid);
    const q = await runQueries({
      url: server.url, keys: { big: KEYS.big, small: KEYS.small }, sql: admin, schema: querySchema, anchorMs: meta.anchorMs,
      rareService: RARE_SERVICE, samples: args.samples, warmup: args.queryWarmup, onProgress: (l) => say(`  ${l}`),
    });
    report.queryCpu = cpuUsage(before, cpuSnapshot(server.pid));
    report.serverRssMiB = { ...(report.serverRssMiB as object), queries: endRss() };
    queryResults = q.results;
    report.deepPage = q.deepPage;
    for (const r of q.results) if (!r.ok) fail(`query "${r.name}": ${r.problems.join("; ")}`);
    // The rare word again with the open partition's slices hidden from the
    // search functions (their rows set aside, the indexes kept): what the
    // slices save, on the same data in the same run.
    const slices = await admin.unsafe(`DELETE FROM ${querySchema}.search_slices RETURNING *`);
    if (slices.length > 0) {
      const rareWord = (name: string) => name.startsWith(`q ${RARE_WORD} (rare)`);
      try {
        const unsliced = await runQueries({
          url: server.url, keys: { big: KEYS.big, small: KEYS.small }, sql: admin, schema: querySchema, anchorMs: meta.anchorMs,
          rareService: RARE_SERVICE, samples: args.samples, warmup: args.queryWarmup, only: rareWord,
        });
        // (runQueries adds its health floor whatever `only` says.)
        queryResults.push(...unsliced.results.filter((r) => rareWord(r.name)).map((r) => ({ ...r, name: `${r.name}, slices hidden` })));
      } finally {
        await admin`INSERT INTO ${admin(querySchema)}.search_slices ${admin(slices as unknown as Record<string, unknown>[])}`;
      }
    }
    if (args.baseline) {
      const role = await appRole();
      say(`  baseline ("before"): plain SQL on events, postgres.js, 1 connection, ${role ? `as role ${role} in the tenant's transaction (RLS on)` : "as the bench user with the tenant_id filter (no tv_app)"}, ` +
        `budget ${args.baselineSeconds}s per shape…`);
      const beforeBaseline = cpuSnapshot(undefined);
      baseline = await runBaseline({
        databaseUrl: args.databaseUrl, schema: querySchema, appRole: role, anchorMs: meta.anchorMs, deepPage: q.deepPage, service: q.results,
        samples: args.samples, warmup: args.queryWarmup, budgetSeconds: args.baselineSeconds, onProgress: (l) => say(`  ${l}`),
      });
      report.baselineCpu = cpuUsage(beforeBaseline, cpuSnapshot(undefined));
      for (const r of baseline.shapes) if (!r.ok) fail(`baseline "${r.name}": ${r.problems.join("; ")}`);
    }
    if (args.explain) {
      explains = await explainShapes(admin, querySchema, meta.anchorMs, q.deepPage, RARE_SERVICE);
    }
    if (!args.keep || args.dropADay) {
      await dropADay(querySchema, meta.anchorMs);
      // The data set lost a day: a later --keep run fills it again.
      await admin.unsafe(`COMMENT ON SCHEMA ${querySchema} IS NULL`);
    }
  } finally {
    rss.stop();
    rssOverall = Math.max(rssOverall, rss.max);
    const code = await server.stop();
    if (code !== 0) fail(`query server exited with ${code}: ${server.output().slice(-2000)}`);
  }
}

function printReport() {
  const rows = phases.map((p) => {
    const r = p.result;
    return [
      p.phase, r.concurrency, fmtInt(r.eventsPerSec), fmtInt(r.requestsPerSec), fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p95), fmtMs(r.latencyMs.p99),
      r.failed, p.rssMaxMiB ? p.rssMaxMiB.toFixed(0) : "-", `${p.cpu.serverCores}/${p.cpu.generatorCores}/${p.cpu.postgresCores}/${p.cpu.otherCores}`, `${p.cpu.machineBusyPct}%`,
    ];
  });
  if (phases.length) say(`\n== Ingest (${args.seconds}s measured per phase; latency = one request / one raw transaction)`);
  if (phases.length) say(table(["phase", "conc", "events/s", "req/s", "p50 ms", "p95 ms", "p99 ms", "failed", "RSS MiB", "cores srv/gen/pg/other", "busy"], rows, [false, true, true, true, true, true, true, true, true, true, true]));
  if (phases.length) say("  cores: average CPU cores used over the window by the server process, this load generator, all postgres processes, and everything else on the machine");
  if (phases.length) say("\n  PostgreSQL backends during each phase (avg non-idle backends; share of samples by wait event, CPU = running):");
  for (const p of phases) say(`  ${p.phase.padEnd(40)} ${formatWaits(p.waits)}`);
  const dup = phases.find((p) => p.phase.includes("dups"));
  if (dup?.extra) {
    const e = dup.extra as Record<string, number | boolean>;
    say(`\n  10% duplicates: ${fmtInt(e.newEventsStored as number)} new events stored, answers: ingested ${fmtInt(e.ingestedReported as number)}, duplicates ${fmtInt(e.duplicatesReported as number)}; expected new ${fmtInt(e.expectedNew as number)} → ${e.exact ? "EXACT" : "MISMATCH"}`);
  }

  if (abRows.length) {
    say(`\n== A/B ingest: this revision vs ${args.before}${args.before === DEFAULT_BEFORE ? " (the first contract)" : ""}, alternating rounds, same machine and load`);
    say(table(
      ["phase", "now events/s", "before events/s", "now ÷ before", "now p95 ms", "before p95 ms", "µs/event added", "WAL B/event now / before"],
      [...new Set(abRows.map((r) => r.phase))].map((phase) => {
        const rows = (side: "now" | "before") => abRows.filter((r) => r.phase === phase && r.side === side);
        const of = (side: "now" | "before") => rows(side).map((r) => r.result);
        const wal = (side: "now" | "before") => {
          const bytes = rows(side).flatMap((r) => (r.walBytesPerEvent === undefined ? [] : [r.walBytesPerEvent]));
          return bytes.length ? fmtInt(median(bytes)) : "-";
        };
        const now = median(of("now").map((r) => r.eventsPerSec));
        const before = median(of("before").map((r) => r.eventsPerSec));
        return [
          phase, of("now").map((r) => fmtInt(r.eventsPerSec)).join(" / "), of("before").map((r) => fmtInt(r.eventsPerSec)).join(" / "), (now / before).toFixed(2),
          fmtMs(median(of("now").map((r) => r.latencyMs.p95))), fmtMs(median(of("before").map((r) => r.latencyMs.p95))),
          ((1 / now - 1 / before) * 1e6).toFixed(1), `${wal("now")} / ${wal("before")}`,
        ];
      }),
      [false, true, true, true, true, true, true, true],
    ));
    say("  µs/event added: wall time per event at saturation (1/rate), now minus before; the ratio of medians is the figure to quote");
    say("  WAL B/event: bytes the server's WAL grew in the window per event stored (medians): what each commit flushes");
  }
  const costs = report.fillCosts as { searchIndexes: { partitions: number; seconds: number; bytes: number; rows: number } } | undefined;
  if (costs?.searchIndexes.partitions) {
    const c = costs.searchIndexes;
    say(`\n  search indexes maintenance builds on closed partitions: ${c.partitions} partitions, ${fmtInt(c.rows)} rows, ${c.seconds.toFixed(1)} s ` +
      `(${((c.seconds * 1e6) / Math.max(1, c.rows)).toFixed(1)} µs/event, off the write path), ${(c.bytes / 2 ** 20).toFixed(0)} MiB (${(c.bytes / Math.max(1, c.rows)).toFixed(0)} B/event)`);
  }
  const slices = (report.fillCosts as { searchSlices?: { seconds: number; bytes: number; rows: number } } | undefined)?.searchSlices;
  if (slices?.rows) {
    say(`  search slices maintenance builds on the open partition's settled hours: ${fmtInt(slices.rows)} rows, ${slices.seconds.toFixed(1)} s ` +
      `(${((slices.seconds * 1e6) / slices.rows).toFixed(1)} µs/event, built again by the full index at close), ${(slices.bytes / 2 ** 20).toFixed(0)} MiB`);
  }

  if (queryResults.length) {
    say(`\n== Query latency (POST /query, 1 client, ${args.samples} samples after ${args.queryWarmup} warm-up; ${fmtInt(args.rows)} rows; tenant ${BIG_TENANT} unless noted)`);
    say(table(
      ["shape", "p50 ms", "p95 ms", "p99 ms", "max ms", "total", "items", "p95 target", "met", "check"],
      queryResults.map((r) => [r.name, fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p95), fmtMs(r.latencyMs.p99), fmtMs(r.latencyMs.max), fmtInt(r.total), r.items ?? "-",
        `≤ ${r.targetMs}`, r.latencyMs.p95 <= r.targetMs ? "yes" : "NO", r.ok ? "ok" : "FAIL"]),
      [false, true, true, true, true, true, true, true, true, true],
    ));
    const qc = report.queryCpu as CpuUsage | undefined;
    if (qc) say(`  cores during the query phase srv/gen/pg/other: ${qc.serverCores}/${qc.generatorCores}/${qc.postgresCores}/${qc.otherCores} (machine ${qc.machineBusyPct}% busy)`);
  }
  if (baseline) {
    const b = baseline;
    const mode = b.mode.appRole ? `as ${b.mode.appRole} in the tenant's transaction (set_config app.tenant_id + role; RLS on)` : "as the bench user, explicit tenant_id filter";
    say(`\n== Query shapes before/after (same data set, same run; tenant ${b.mode.tenant})`);
    say(`  before: plain SQL on the events table only, postgres.js straight to PostgreSQL, 1 connection, ${mode}, prepared statements + plan_cache_mode=force_custom_plan (as the server);`);
    say(`          one transaction per statement pipelined in one round trip like the store; a list answer = page statement + count(*) run one after the other`);
    say(`  after:  POST /query through HTTP (count tables for totals/groupBy/buckets, deep pages seeked through them); includes HTTP, auth and JSON`);
    say(`  samples: after ${args.samples}; before up to ${args.samples}, stopping once ${b.mode.budgetSeconds}s are spent on a shape (at least ${b.mode.minSamples}); speed-up = before / after`);
    say(table(
      ["shape", "before: plain SQL on events", "n", "before p50", "before p95", "after p50", "after p95", "speed-up p50", "speed-up p95"],
      b.comparison.map((c) => [c.shape, c.baseline, c.baselineSamples, fmtMs(c.baselineMs.p50), fmtMs(c.baselineMs.p95), fmtMs(c.serviceMs.p50), fmtMs(c.serviceMs.p95),
        `${fmtX(c.speedup.p50)}`, `${fmtX(c.speedup.p95)}`]),
      [false, false, true, true, true, true, true, true, true],
    ));
    const multi = b.shapes.filter((s) => s.steps.length > 1);
    if (multi.length) {
      say("  before, list answers by statement (p50 / p95 ms):");
      for (const s of multi) say(`    ${s.name.padEnd(20)} ${s.steps.map((st) => `${st.name}: ${fmtMs(st.latencyMs.p50)} / ${fmtMs(st.latencyMs.p95)}`).join("   ")}`);
    }
    const bc = report.baselineCpu as CpuUsage | undefined;
    if (bc) say(`  cores during the baseline srv/gen/pg/other: ${bc.serverCores}/${bc.generatorCores}/${bc.postgresCores}/${bc.otherCores} (machine ${bc.machineBusyPct}% busy; server idle)`);
  }
  if (explains.length) {
    say("\n== EXPLAIN ANALYZE (statement alone, warm cache)");
    say(table(["statement", "exec ms", "plan ms", "JIT", "top plan node"], explains.map((e) => [e.name, fmtMs(e.executionMs), fmtMs(e.planningMs), e.jit ? "yes" : "no", e.plan.split("\n")[0]!.replace(/\s+\(cost.*$/, "").trim().slice(0, 60)]), [false, true, true, false, false]));
  }

  say("\n== Targets");
  const verdicts: Record<string, unknown> = {};
  const raw = phases.filter((p) => p.kind === "raw" && p.phase.includes("events+counts") && !p.phase.includes("trace index"));
  const traceRuns = (which: string) => phases.filter((p) => p.phase.includes(`${which} trace index`)).map((p) => p.result.eventsPerSec);
  if (traceRuns("with").length) {
    const [withIndex, without] = [median(traceRuns("with")), median(traceRuns("no"))];
    const ratio = withIndex / without;
    verdicts.traceIndex = { with: withIndex, without, ratio, met: ratio >= TARGETS.traceIndexRatio };
    say(`  raw ceiling with / without the trace index (alternating, medians): ${fmtInt(withIndex)} / ${fmtInt(without)} = ${ratio.toFixed(2)} (bound ≥ ${TARGETS.traceIndexRatio}) → ${ratio >= TARGETS.traceIndexRatio ? "MET" : "NOT MET"}`);
  }
  const http = phases.find((p) => p.phase === `HTTP /ingest ${BATCH}/batch`);
  if (raw.length && http) {
    const ceiling = Math.max(...raw.map((p) => p.result.eventsPerSec));
    const ratio = http.result.eventsPerSec / ceiling;
    const rawOnly = Math.max(0, ...phases.filter((p) => p.kind === "raw" && p.phase.includes("events only")).map((p) => p.result.eventsPerSec));
    verdicts.httpOverRaw = { ratio, ceiling, http: http.result.eventsPerSec, eventsOnlyCeiling: rawOnly, met: ratio >= TARGETS.httpOverRaw };
    say(`  HTTP 1000-batch / raw ceiling (events+counts, best of ${raw.map((p) => p.result.concurrency).join("/")} conns): ${fmtInt(http.result.eventsPerSec)} / ${fmtInt(ceiling)} = ${ratio.toFixed(2)} (target ≥ ${TARGETS.httpOverRaw}) → ${ratio >= TARGETS.httpOverRaw ? "MET" : "NOT MET"}`);
    if (rawOnly) say(`  (raw events only: ${fmtInt(rawOnly)} events/s; the count-table upserts change the raw rate by ${((ceiling / rawOnly - 1) * 100).toFixed(0)}%)`);
  }
  const otlp = phases.find((p) => p.phase.startsWith("OTLP"));
  if (otlp && http) {
    say(`  OTLP protobuf spans: ${fmtInt(otlp.result.eventsPerSec)} spans/s beside /ingest ${fmtInt(http.result.eventsPerSec)} events/s (${(otlp.result.eventsPerSec / http.result.eventsPerSec).toFixed(2)}×)`);
  }
  const single = phases.find((p) => p.phase.includes("single"));
  if (single) {
    const met = single.result.eventsPerSec >= TARGETS.singleEventsPerSec && single.result.latencyMs.p95 < TARGETS.singleP95Ms;
    verdicts.singleEvent = { eventsPerSec: single.result.eventsPerSec, p95: single.result.latencyMs.p95, met };
    say(`  single events @64: ${fmtInt(single.result.eventsPerSec)} events/s, p95 ${fmtMs(single.result.latencyMs.p95)} ms (target ≥ ${fmtInt(TARGETS.singleEventsPerSec)}/s with p95 < ${TARGETS.singleP95Ms} ms) → ${met ? "MET" : "NOT MET"}`);
  }
  if (queryResults.length) {
    // The rare word with slices hidden is a comparison, not a shape the service runs.
    const shapes = queryResults.filter((r) => !r.name.startsWith("GET /health") && !r.name.endsWith("slices hidden"));
    const slow = shapes.filter((r) => !(r.latencyMs.p95 <= r.targetMs));
    verdicts.queries = { met: slow.length === 0, slow: slow.map((r) => ({ name: r.name, p95: r.latencyMs.p95, target: r.targetMs })) };
    say(`  queries p95 within their targets (${TARGETS.queryP95Ms} ms; search shapes their own): ${shapes.length - slow.length}/${shapes.length} shapes → ${slow.length === 0 ? "MET" : `NOT MET (${slow.map((r) => `${r.name}: ${fmtMs(r.latencyMs.p95)} ms > ${r.targetMs}`).join("; ")})`}`);
  }
  if (rssOverall > 0) say(`  server RSS max: ${rssOverall.toFixed(0)} MiB (VmRSS sampled every 100 ms)`);
  if (limitCases.length) {
    const single = limitCases.filter((c) => c.underTarget);
    const over = single.filter((c) => c.peakAboveMiB > 64);
    verdicts.limitsMemory = { met: over.length === 0, cases: limitCases };
    say(`  worst page and exports within the limits, peak RSS above the warmed server ≤ 64 MiB: ${single.length - over.length}/${single.length} → ` +
      `${over.length === 0 ? "MET" : `NOT MET (${over.map((c) => `${c.name}: +${c.peakAboveMiB.toFixed(0)} MiB`).join("; ")})`}`);
  }
  report.verdicts = verdicts;
}

// ---- A/B ingest against another revision ------------------------------------

interface AbRow {
  side: "now" | "before";
  round: number;
  phase: string;
  result: LoadResult;
  walBytesPerEvent?: number;
}
let abRows: AbRow[] = [];
const ROOT = join(import.meta.dir, "..");

/** A checkout of `ref` beside the repository (a git worktree sharing node_modules), or why there is none. */
function checkoutOf(ref: string): { dir: string; sha: string } | { reason: string } {
  const sha = Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "--verify", "--short", `${ref}^{commit}`]);
  if (sha.exitCode !== 0) return { reason: `git cannot find ${ref} here (a shallow clone?): ${sha.stderr.toString().trim()}` };
  const short = sha.stdout.toString().trim();
  const dir = join(tmpdir(), `tv-bench-${short}`);
  if (!existsSync(join(dir, "src/server.ts"))) {
    const add = Bun.spawnSync(["git", "-C", ROOT, "worktree", "add", "--force", "--detach", dir, short]);
    if (add.exitCode !== 0) return { reason: `git worktree add failed: ${add.stderr.toString().trim()}` };
  }
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return { dir, sha: short };
}

function removeCheckout(dir: string) {
  Bun.spawnSync(["git", "-C", ROOT, "worktree", "remove", "--force", dir]);
}

/**
 * The same ingest on this revision and on `--before`, alternating, each on a
 * fresh schema and server: 1000-event batches from 8 clients, and 8 clients
 * writing 200-event batches of one tenant, service and type (every batch
 * adds to the same count rows; over the group-commit threshold, so each is
 * its own transaction), and 8 connections sending that key's 20-event
 * statements straight to PostgreSQL. What every write step added since costs
 * per event.
 */
async function abSection() {
  const checkout = checkoutOf(args.before);
  if ("reason" in checkout) {
    say(`
== A/B ingest skipped: ${checkout.reason}`);
    report.ab = { skipped: checkout.reason };
    return;
  }
  say(`
== A/B ingest: this revision vs ${args.before} (${checkout.sha}), ${args.abRounds} alternating round(s), ${args.seconds}s each`);
  const schema = `${args.schema}_ab`;
  const rawRole = await appRole();
  const warmupMs = args.warmupSeconds * 1000;
  const durationMs = args.seconds * 1000;
  try {
    for (let round = 1; round <= args.abRounds; round++) {
      for (const side of ["now", "before"] as const) {
        await dropSchema(schema);
        const server = await startBenchServer(serverEnv(schema), { cwd: side === "now" ? ROOT : checkout.dir });
        try {
          const batches = Math.min(4000, Math.ceil((60_000 * (args.seconds + args.warmupSeconds)) / BATCH));
          const { pool } = batchPool(batches, BATCH, 0);
          const batchRow = await measured(`A/B ${side} #${round}: /ingest ${BATCH}/batch`, "http", undefined, server.pid, { pid: server.pid }, (onWindow) =>
            runIngestPhase({
              url: server.url, apiKey: KEYS.ingest, pool, concurrency: 8, warmupMs, durationMs, onWindow,
              expect: () => ({ events: BATCH, ingested: BATCH, duplicates: 0 }),
            }));
          abRows.push({ side, round, phase: `/ingest ${BATCH}/batch, 8 clients`, result: batchRow.result, walBytesPerEvent: batchRow.walBytesPerEvent });
          // Over the group-commit threshold (100), so each request is its own transaction, as 8 writers of one key are.
          const small = 200;
          const keyPool = oneKeyPool(Math.min(20_000, Math.ceil((300 * (args.seconds + args.warmupSeconds)))), small);
          const keyRow = await measured(`A/B ${side} #${round}: one key, ${small}/batch`, "http", undefined, server.pid, { pid: server.pid }, (onWindow) =>
            runIngestPhase({
              url: server.url, apiKey: KEYS.ingest, pool: keyPool, concurrency: 8, warmupMs, durationMs, onWindow,
              expect: () => ({ events: small, ingested: small, duplicates: 0 }),
            }));
          abRows.push({ side, round, phase: `one key (tenant, service, type), ${small}/batch, 8 clients`, result: keyRow.result, walBytesPerEvent: keyRow.walBytesPerEvent });
          // The same writers with no service in front, in small transactions
          // of their own: the shape in which writers of one key queued on
          // the shared count rows (issue: "writers that do not queue").
          const tiny = 20;
          // The same statements on a key per writer: how far sharing one key holds them back.
          for (const keys of [1, 8]) {
            const shape = keys === 1 ? "one key" : `${keys} keys`;
            const rawRow = await measured(`A/B ${side} #${round}: raw ${shape}, ${tiny}/statement`, "raw", undefined, undefined, { applicationName: RAW_APPLICATION_NAME }, (onWindow) =>
              runRawKeys({
                databaseUrl: args.databaseUrl, schema, tenantId: RAW_TENANT, appRole: rawRole, connections: 8, keys, batchSize: tiny,
                warmupMs, durationMs, onWindow,
              }));
            abRows.push({ side, round, phase: `raw ${shape}, ${tiny}-event statements of their own, 8 connections`, result: rawRow.result, walBytesPerEvent: rawRow.walBytesPerEvent });
          }
        } finally {
          const code = await server.stop();
          if (code !== 0) fail(`A/B ${side} server exited with ${code}: ${server.output().slice(-2000)}`);
          await dropSchema(schema);
        }
      }
    }
  } finally {
    removeCheckout(checkout.dir);
  }
  report.ab = { before: args.before, sha: checkout.sha, rows: abRows };
}

// ---- data set sizes and the cost of dropping a day -----------------------------

interface DataSetSizes {
  partitions: number;
  heapBytes: number;
  indexes: { name: string; bytes: number }[];
  searchTextAvgBytes: number;
  countTablesBytes: number;
}

async function dataSetSizes(schema: string): Promise<DataSetSizes> {
  return inSchema(schema, async (tx) => {
    const [heap] = await tx<{ partitions: number; heap: string }[]>`
      SELECT count(*)::int AS partitions, coalesce(sum(pg_relation_size(c.oid)), 0)::int8 AS heap
      FROM event_partitions AS p JOIN pg_class AS c ON c.relname = p.name AND c.relnamespace = current_schema()::regnamespace`;
    // Each partition's index under its parent index's name; the search indexes have none (built per closed partition).
    const indexes = await tx<{ name: string; bytes: string }[]>`
      SELECT coalesce(parent.relname, CASE WHEN ic.relname LIKE '%search_idx' THEN 'search_text trigram (closed partitions)' ELSE ic.relname END) AS name,
             sum(pg_relation_size(ic.oid))::int8 AS bytes
      FROM event_partitions AS p
      JOIN pg_class AS c ON c.relname = p.name AND c.relnamespace = current_schema()::regnamespace
      JOIN pg_index AS i ON i.indrelid = c.oid
      JOIN pg_class AS ic ON ic.oid = i.indexrelid
      LEFT JOIN pg_inherits AS h ON h.inhrelid = ic.oid
      LEFT JOIN pg_class AS parent ON parent.oid = h.inhparent
      GROUP BY 1 ORDER BY 2 DESC`;
    const [text] = await tx<{ avg: number | null }[]>`SELECT avg(octet_length(search_text))::float8 AS avg FROM (SELECT search_text FROM events LIMIT 100000) AS sample`;
    const [counts] = await tx<{ bytes: string }[]>`
      SELECT (pg_total_relation_size('event_counts_minute') + pg_total_relation_size('event_counts_5min') + pg_total_relation_size('event_counts_hour'))::int8 AS bytes`;
    return {
      partitions: heap!.partitions,
      heapBytes: Number(heap!.heap),
      indexes: indexes.map((i) => ({ name: i.name, bytes: Number(i.bytes) })),
      searchTextAvgBytes: text?.avg ?? 0,
      countTablesBytes: Number(counts!.bytes),
    };
  });
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function formatSizes(s: DataSetSizes, events: number): string {
  const perEvent = (bytes: number) => (events ? `${(bytes / events).toFixed(0)} B/event` : "");
  return `${s.partitions} partitions, heap ${mib(s.heapBytes)} (${perEvent(s.heapBytes)}; search_text ${s.searchTextAvgBytes.toFixed(0)} B of it), ` +
    `indexes ${s.indexes.map((i) => `${i.name} ${mib(i.bytes)} (${perEvent(i.bytes)})`).join(", ")}; count tables ${mib(s.countTablesBytes)}`;
}

/**
 * Retention's way to drop a day (drop_event_partition on its four partitions)
 * beside deleting the rows of a day (rolled back), timed with the WAL each
 * writes. Changes the data set, so not with --keep.
 */
async function dropADay(schema: string, anchorMs: number) {
  const day = 24 * 3600_000;
  const oldest = Math.ceil((anchorMs - 7 * day) / day) * day;
  const wal = async () => (await admin<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`)[0]!.lsn;
  const walBytes = async (from: string) => Number((await admin<{ n: string }[]>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${from}::pg_lsn)::int8 AS n`)[0]!.n);
  const [rows] = await inSchema(schema, (tx) => tx<{ n: string }[]>`SELECT count(*) AS n FROM events WHERE ts >= ${new Date(oldest + day)} AND ts < ${new Date(oldest + 2 * day)}`);

  let start = await wal();
  let t = performance.now();
  await inSchema(schema, async (tx) => {
    for (const p of await tx<{ name: string; upper_bound: Date }[]>`
      SELECT name, upper_bound FROM event_partitions WHERE lower_bound >= ${new Date(oldest)} AND upper_bound <= ${new Date(oldest + day)}`) {
      await tx`SELECT drop_event_partition(${p.name}, ${p.upper_bound})`;
    }
  });
  const dropMs = performance.now() - t;
  const dropWal = await walBytes(start);

  start = await wal();
  t = performance.now();
  await admin.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL search_path = ${schema}`);
    await tx`DELETE FROM events WHERE ts >= ${new Date(oldest + day)} AND ts < ${new Date(oldest + 2 * day)}`;
    throw new Rollback();
  }).catch((error) => {
    if (!(error instanceof Rollback)) throw error;
  });
  const deleteMs = performance.now() - t;
  const deleteWal = await walBytes(start);
  const result = { day: new Date(oldest).toISOString().slice(0, 10), rowsPerDay: Number(rows!.n), dropMs, dropWalBytes: dropWal, deleteMs, deleteWalBytes: deleteWal };
  report.dropADay = result;
  say(`  dropping a day (${fmtInt(result.rowsPerDay)} events): 4 partitions dropped in ${fmtMs(dropMs)} ms, ${(dropWal / 1024).toFixed(0)} KiB of WAL; ` +
    `DELETE of a day's rows (rolled back): ${(deleteMs / 1000).toFixed(1)} s, ${mib(deleteWal)} of WAL`);
}

class Rollback extends Error {}

let exitCode = 0;
try {
  say(`telemetry-vault bench: rows ${fmtInt(args.rows)}, ${args.seconds}s per ingest phase${args.smoke ? " (smoke)" : ""}${args.keep ? ", --keep" : ""}`);
  if (!args.skipIngest && !args.onlyAb) await ingestSection();
  if (!args.skipIngest && !args.onlyAb) await tailSection();
  if ((!args.skipIngest || args.onlyAb) && args.before) await abSection();
  if (!args.skipQueries && !args.onlyAb) await querySection();
  if (!args.skipLimits && !args.onlyAb) await limitsSection();
} catch (error) {
  fail(`aborted: ${(error as Error).stack ?? error}`);
} finally {
  try {
    printReport();
  } catch (error) {
    fail(`report: ${(error as Error).stack}`);
  }
  report.finishedAt = new Date().toISOString();
  report.phases = phases;
  report.serverRssMaxMiB = rssOverall;
  report.queryDataSet = fillInfo;
  report.queries = queryResults;
  report.limits = limitCases;
  report.explain = explains;
  report.baseline = baseline ?? null;
  report.failures = failures;
  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${runStarted.toISOString().replace(/[:.]/g, "-")}${args.smoke ? "-smoke" : ""}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  say(`\nJSON: ${file}`);
  if (!args.keep) {
    await dropSchema(ingestSchema).catch(() => {});
    await dropSchema(querySchema).catch(() => {});
  }
  await monitor.end({ timeout: 5 });
  await admin.end({ timeout: 5 });
  if (failures.length) {
    say(`\n${failures.length} failure(s):\n- ${failures.join("\n- ")}`);
    exitCode = 1;
  }
}
process.exit(exitCode);
