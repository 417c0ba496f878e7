/** Command-line flags of `bun run bench`. */
export interface BenchArgs {
  rows: number;
  smoke: boolean;
  /** Seconds of measurement per ingest phase (after the warm-up). */
  seconds: number;
  warmupSeconds: number;
  keep: boolean;
  schema: string;
  fill: "sql" | "http";
  samples: number;
  queryWarmup: number;
  rawConnections: number[];
  skipIngest: boolean;
  skipQueries: boolean;
  /** The memory of the worst requests within the limits (bench/lib/limits.ts). */
  skipLimits: boolean;
  explain: boolean;
  /** Plain-SQL "before" of every query shape on the events table (postgres.js, one connection). */
  baseline: boolean;
  /** Time budget per baseline shape, seconds (sampling stops at --samples or when spent, with at least 5 samples). */
  baselineSeconds: number;
  vacuum: boolean;
  /** Time dropping the oldest day of the query data set (its partitions) against deleting a day's rows. */
  dropADay: boolean;
  /** Width of the query data set's time partitions, as the service's PARTITION_HOURS. */
  partitionHours: number;
  /** A git revision whose service runs the A/B ingest phases beside this one; "" skips them. */
  before: string;
  /** Only the A/B ingest phases. */
  onlyAb: boolean;
  /** Alternating rounds of the A/B ingest phases. */
  abRounds: number;
  databaseUrl: string;
  redisUrl: string;
}

/** The first contract as it was measured: the service before search, time partitions, level counts and usage. */
export const DEFAULT_BEFORE = "15597e2";

const HELP = `bun run bench [flags]
  --rows N            rows in the query data set (default 1000000; 1e6, 10M, 10_000_000 accepted)
  --smoke             tiny sizes, a few seconds (CI)
  --seconds S         measured seconds per ingest phase (default 10; alias --duration)
  --warmup S          warm-up seconds per ingest phase (default 2)
  --keep, --reuse     reuse an already-filled query schema with the same --rows, and keep schemas afterwards
  --schema NAME       base schema name (default tv_bench; queries use NAME_q<rows>)
  --fill sql|http     fill the query data set with server-side SQL (default) or through POST /ingest (10k batches)
  --samples N         timed samples per query shape (default 100)
  --raw-conns 4,8     connection counts for the raw ceiling (default 4,8)
  --skip-ingest       only the query phase
  --skip-queries      only the ingest phases
  --skip-limits       skip the memory of the worst page and exports within the limits
  --only-limits       only that (same as --skip-ingest --skip-queries)
  --no-explain        skip EXPLAIN ANALYZE of query shapes
  --no-baseline       skip the "before" baseline: each query shape as plain SQL on the events table
                      (no count tables, plain OFFSET), postgres.js, one connection, same data set
  --baseline-seconds S  time budget per baseline shape (default 20): sampling stops at --samples, or once
                      S seconds are spent and at least 5 samples taken (naive 7-day scans take seconds)
  --no-vacuum         do not VACUUM ANALYZE after filling (autovacuum may be off on the test cluster)
  --before REF        the git revision the A/B ingest phases compare with (default ${DEFAULT_BEFORE}: the first
                      contract, before search, partitions and usage); --before none skips them
  --ab-rounds N       alternating rounds of the A/B phases (default 2)
  --only-ab           only the A/B ingest phases
  --drop-a-day        time dropping the data set's oldest day even with --keep (the next --keep run refills);
                      without --keep it always runs
  --partition-hours H the query data set's partition width, as the service's PARTITION_HOURS (default 6;
                      another width has its own schema, NAME_q<rows>_p<H>)
  --no-redis          start the server without REDIS_URL (in-process rate limiter), to see what Redis costs
Environment: BENCH_DATABASE_URL | TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
             BENCH_REDIS_URL | TEST_REDIS_URL (default redis://127.0.0.1:6379)`;

function parseCount(flag: string, value: string | undefined): number {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  const m = /^([\d_.e]+)([kKmM]?)$/.exec(value.trim());
  const n = m ? Number(m[1]!.replaceAll("_", "")) * (m[2] ? (m[2].toLowerCase() === "k" ? 1e3 : 1e6) : 1) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: not a positive number: ${value}`);
  return n;
}

export function parseArgs(argv: string[]): BenchArgs {
  const smoke = argv.includes("--smoke");
  const args: BenchArgs = {
    rows: smoke ? 2000 : 1_000_000,
    smoke,
    seconds: smoke ? 1 : 10,
    warmupSeconds: smoke ? 0.3 : 2,
    keep: false,
    schema: "tv_bench",
    fill: "sql",
    samples: smoke ? 5 : 100,
    queryWarmup: smoke ? 2 : 10,
    rawConnections: smoke ? [4] : [4, 8],
    skipIngest: false,
    skipQueries: false,
    skipLimits: false,
    explain: true,
    baseline: true,
    baselineSeconds: smoke ? 5 : 20,
    vacuum: true,
    before: DEFAULT_BEFORE,
    dropADay: false,
    partitionHours: 6,
    onlyAb: false,
    abRounds: smoke ? 1 : 2,
    databaseUrl: process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test",
    redisUrl: process.env.BENCH_REDIS_URL || process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379",
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes("=") ? [flag.slice(0, flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)] : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case "--smoke": break;
      case "--rows": args.rows = Math.round(parseCount(name, value())); break;
      case "--seconds": case "--duration": args.seconds = parseCount(name, value()); break;
      case "--warmup": args.warmupSeconds = Number(value()); break;
      case "--keep": case "--reuse": args.keep = true; break;
      case "--schema": {
        const v = value() ?? "";
        if (!/^[a-z_][a-z0-9_]{0,40}$/.test(v)) throw new Error("--schema: lowercase letters, digits and _, at most 41 characters");
        args.schema = v;
        break;
      }
      case "--fill": {
        const v = value();
        if (v !== "sql" && v !== "http") throw new Error("--fill: sql or http");
        args.fill = v;
        break;
      }
      case "--samples": args.samples = Math.round(parseCount(name, value())); break;
      case "--query-warmup": args.queryWarmup = Math.round(Number(value())); break;
      case "--raw-conns": args.rawConnections = (value() ?? "").split(",").map((s) => Math.round(parseCount(name, s))); break;
      case "--skip-ingest": args.skipIngest = true; break;
      case "--skip-queries": args.skipQueries = true; break;
      case "--skip-limits": args.skipLimits = true; break;
      case "--only-limits": args.skipIngest = true; args.skipQueries = true; break;
      case "--no-explain": args.explain = false; break;
      case "--no-baseline": args.baseline = false; break;
      case "--baseline-seconds": args.baselineSeconds = parseCount(name, value()); break;
      case "--no-vacuum": args.vacuum = false; break;
      case "--before": { const v = value() ?? ""; args.before = v === "none" ? "" : v; break; }
      case "--drop-a-day": args.dropADay = true; break;
      case "--partition-hours": {
        const hours = Math.round(parseCount(name, value()));
        if (24 % hours !== 0) throw new Error(`${name}: PARTITION_HOURS divides a day (1, 2, 3, 4, 6, 8, 12 or 24)`);
        args.partitionHours = hours;
        break;
      }
      case "--only-ab": args.onlyAb = true; break;
      case "--ab-rounds": args.abRounds = Math.round(parseCount(name, value())); break;
      case "--no-redis": args.redisUrl = ""; break;
      case "-h": case "--help": console.log(HELP); process.exit(0);
      default: throw new Error(`unknown flag ${flag}\n${HELP}`);
    }
  }
  return args;
}
