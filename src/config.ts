import { z } from "zod";

/**
 * All configuration comes from environment variables, parsed once here.
 * `parseConfig` is pure so tests can build a config from a plain object.
 */

export const DEFAULT_API_KEYS =
  "test-key-tenant-a:tenant-a,test-key-tenant-b:tenant-b,demo-key:demo-tenant";

const MiB = 1024 * 1024;

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? fallback : ["true", "1", "yes"].includes(v)));

const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** An optional whole number; empty means "not set". */
const optionalInt = (min: number) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.coerce.number().int().min(min).optional());

/** Empty strings in .env files mean "not set". */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** `tenant:days,tenant:days`: retention per tenant. */
const tenantRetention = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const map = new Map<string, number>();
    for (const entry of (v ?? "").split(",")) {
      const trimmed = entry.trim();
      if (!trimmed) continue;
      const at = trimmed.lastIndexOf(":");
      const tenant = trimmed.slice(0, at).trim();
      const days = Number(trimmed.slice(at + 1));
      if (at <= 0 || !/^[A-Za-z0-9._-]{1,128}$/.test(tenant) || !Number.isInteger(days) || days < 1) {
        ctx.addIssue({ code: "custom", message: "expected tenant:days pairs separated by commas (days: a whole number, at least 1)" });
        return z.NEVER;
      }
      map.set(tenant, days);
    }
    return map as ReadonlyMap<string, number>;
  });

const apiKeys = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const raw = v === undefined || v.trim() === "" ? DEFAULT_API_KEYS : v;
    const pairs: { key: string; tenant: string }[] = [];
    for (const entry of raw.split(",")) {
      const trimmed = entry.trim();
      if (!trimmed) continue;
      const at = trimmed.lastIndexOf(":");
      const key = trimmed.slice(0, at).trim();
      const tenant = trimmed.slice(at + 1).trim();
      if (at <= 0 || !key || !/^[A-Za-z0-9._-]{1,128}$/.test(tenant)) {
        ctx.addIssue({
          code: "custom",
          message: "expected key:tenant pairs separated by commas (tenant: letters, digits, . _ -)",
        });
        return z.NEVER;
      }
      pairs.push({ key, tenant });
    }
    if (pairs.length === 0) {
      ctx.addIssue({ code: "custom", message: "no key:tenant pair given" });
      return z.NEVER;
    }
    return pairs;
  });

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(3000, 0, 65535),
  HOST: z.string().default("0.0.0.0"),

  DATABASE_URL: optionalString,
  /**
   * The tables' owner, for migrations (start-up and `bun run migrate`);
   * default DATABASE_URL. In production the service's own login owns nothing.
   */
  MIGRATION_DATABASE_URL: optionalString,
  /** Run on the embedded store although NODE_ENV=production (which otherwise needs a database). */
  DB_EMBEDDED: bool(false),
  /**
   * Connections go through PgBouncer in transaction mode: no prepared
   * statements and no startup parameters (migrate stores the session settings
   * on the service's role instead).
   */
  DB_PGBOUNCER: bool(false),
  /** Named prepared statements; default on, off with DB_PGBOUNCER. */
  DB_PREPARE: z
    .enum(["true", "false", "1", "0", "yes", "no", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? undefined : ["true", "1", "yes"].includes(v))),
  /**
   * Free text matching fewer events than this in a window is read by their
   * keys through the trigram indexes; more, and by walking the window newest
   * first (storage/search-keys.ts).
   */
  DB_SEARCH_SELECTIVE_KEYS: int(5000, 1, 1_000_000),
  /** How long a migration statement waits for a lock before it gives up and is retried (DDL must not stall traffic). */
  MIGRATION_LOCK_TIMEOUT_MS: int(5000, 10),
  /** How long migrations keep retrying (locks held, database unreachable for `bun run migrate`) before they fail. */
  MIGRATION_MAX_WAIT_S: int(300, 1),
  DB_HOST: optionalString,
  DB_PORT: int(5432, 1, 65535),
  DB_USERNAME: optionalString,
  DB_PASSWORD: optionalString,
  DB_DATABASE: optionalString,
  /** Schema holding the tables (created if missing); default: the server's search_path (public). */
  DB_SCHEMA: optionalString.refine((v) => v === undefined || /^[a-z_][a-z0-9_]{0,62}$/.test(v), "lowercase letters, digits and _"),
  DB_POOL_MAX: int(10, 1, 1000),
  /**
   * Ingest statements of large requests (over 100 events) running at once per
   * replica; more wait their turn. Small requests share at most two
   * group-commit statements on top, and the rest of the pool stays free for
   * queries. More concurrent writers wait on each other to extend the events
   * table (bench/README.md, "Limits and what they cost").
   */
  DB_WRITE_CONCURRENCY: int(4, 1, 1000),
  /** How long a request may wait for a free database connection before it gets 503. */
  DB_ACQUIRE_TIMEOUT_MS: int(2000, 1),
  /** Must stay below the HTTP idle timeout so a slow statement ends as a 503, never an empty reply. */
  DB_STATEMENT_TIMEOUT_MS: int(10000, 100),
  /**
   * Role each transaction switches to (SET LOCAL ROLE) so row-level security
   * applies; created by the migrations. "none" turns the switch off.
   */
  DB_APP_ROLE: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a role name: lowercase letters, digits and _").default("tv_app"),
  DATA_DIR: z.string().default("./data"),
  MIGRATE_ON_START: bool(true),

  /** Width of the events table's time partitions; divides a day. */
  PARTITION_HOURS: z.enum(["1", "2", "3", "4", "6", "8", "12", "24"]).default("6").transform(Number),
  /** Days events are kept (by their timestamp); unset keeps them forever. */
  RETENTION_DAYS: optionalInt(1),
  TENANT_RETENTION_DAYS: tenantRetention,
  /** Seconds between the service's maintenance runs (partitions, retention, search indexes); 0 turns them off. */
  MAINTENANCE_INTERVAL_S: int(60, 0, 86_400),

  /** Live tails (GET /tail) open at once per tenant, across replicas; more are refused with 429. */
  TAIL_MAX_PER_TENANT: int(10, 1, 10_000),
  /** Seconds between heartbeat comments on an idle tail, so proxies keep it open. */
  TAIL_HEARTBEAT_S: int(15, 1, 3600),
  /** Committed batches kept per tenant for tails to resume from (Last-Event-ID). */
  TAIL_REPLAY_BATCHES: int(10_000, 10),
  /** Events waiting for one slow tail client at most; past it they are dropped and counted. */
  TAIL_QUEUE_EVENTS: int(10_000, 10),
  /** Seconds a token from POST /tail/token opens tails. */
  TAIL_TOKEN_TTL_S: int(300, 5, 86_400),

  REDIS_URL: optionalString,
  RATE_LIMIT_WINDOW_MS: int(60000, 1),
  RATE_LIMIT_MAX_REQUESTS: int(1000, 1),
  RATE_LIMIT_TIMEOUT_MS: int(100, 1),

  API_KEYS: apiKeys,

  MAX_BATCH: int(10000, 1),
  MAX_BODY_BYTES: int(10 * MiB, 1024),
  /**
   * Bytes of request bodies (after decompression) being turned into events
   * at once per process; more wait their turn (http/body-budget.ts). Unset:
   * twice MAX_BODY_BYTES.
   */
  MAX_BODY_BYTES_IN_FLIGHT: optionalInt(1024),
  /** How long an ingest request may wait for room in MAX_BODY_BYTES_IN_FLIGHT before it gets 503. */
  BODY_QUEUE_TIMEOUT_MS: int(5000, 1),

  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ENABLE_TRACING: bool(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  OTEL_SERVICE_NAME: z.string().default("telemetry-vault"),
  METRICS_TOKEN: optionalString,
  SHUTDOWN_TIMEOUT_MS: int(25000, 0),
  /** After SIGTERM, keep serving (readiness 503) this long so load balancers stop sending first. */
  SHUTDOWN_DELAY_MS: int(0, 0),
  /** Bun closes connections idle this long; kept above DB_STATEMENT_TIMEOUT_MS. */
  HTTP_IDLE_TIMEOUT_S: int(30, 1, 255),
});

export type Config = Omit<z.output<typeof ConfigSchema>, "DB_PREPARE"> & { DB_PREPARE: boolean };

/** The keys the service accepts without API_KEYS: for trying it out, refused in production. */
const DEMO_KEYS = DEFAULT_API_KEYS.split(",").map((pair) => pair.slice(0, pair.lastIndexOf(":")));

/** Variables that may come from a file instead (`NAME_FILE=/run/secrets/…`, Docker secrets). */
export const SECRET_VARIABLES = ["API_KEYS", "DATABASE_URL", "MIGRATION_DATABASE_URL", "DB_PASSWORD", "REDIS_URL", "METRICS_TOKEN"] as const;

export class ConfigError extends Error {}

/**
 * Parses the environment; throws ConfigError with one line per bad variable.
 * `serving: false` for the command-line tools, which take no API requests
 * (production still needs them to name a database).
 */
export function parseConfig(env: Record<string, string | undefined>, options: { serving?: boolean } = {}): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `invalid ${issue.path.join(".")}: ${issue.message}`,
    );
    throw new ConfigError(lines.join("\n"));
  }
  const config = { ...result.data, DB_PREPARE: result.data.DB_PREPARE ?? !result.data.DB_PGBOUNCER };
  const problems: string[] = [];
  if (config.DB_STATEMENT_TIMEOUT_MS >= config.HTTP_IDLE_TIMEOUT_S * 1000) {
    problems.push("invalid DB_STATEMENT_TIMEOUT_MS: must be shorter than HTTP_IDLE_TIMEOUT_S so slow statements end as 503");
  }
  if (config.NODE_ENV === "production") problems.push(...productionProblems(env, config, options.serving ?? true));
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  return config;
}

/** What production refuses: the demo keys, and a store nobody chose. */
function productionProblems(env: Record<string, string | undefined>, config: Config, serving: boolean): string[] {
  const problems: string[] = [];
  if (!serving) {
    // Tools take no API requests: only the store matters.
  } else if (!env.API_KEYS?.trim()) {
    problems.push("invalid API_KEYS: required when NODE_ENV=production (key:tenant pairs); the demo keys are for development only");
  } else {
    const demo = config.API_KEYS.filter(({ key }) => DEMO_KEYS.includes(key)).map(({ key }) => key);
    if (demo.length > 0) problems.push(`invalid API_KEYS: the demo key(s) ${demo.join(", ")} are refused when NODE_ENV=production`);
  }
  if (!databaseUrl(config) && !config.DB_EMBEDDED) {
    problems.push(
      "invalid DATABASE_URL: required when NODE_ENV=production (or DB_HOST and the other DB_* variables); " +
        "set DB_EMBEDDED=true to run on the embedded store on purpose",
    );
  }
  return problems;
}

/**
 * Reads `NAME_FILE` variables (Docker and Kubernetes secrets) into `NAME`.
 * One line of trailing whitespace is dropped. Setting both is a mistake.
 */
export function withSecretFiles(env: Record<string, string | undefined>, read: (path: string) => string): Record<string, string | undefined> {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) {
      problems.push(`invalid ${name}_FILE: ${name} is set too; set one of them`);
      continue;
    }
    try {
      resolved[name] = read(path).replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(`invalid ${name}_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  return resolved;
}

/** The PostgreSQL URL from DATABASE_URL or the DB_* variables; undefined means "use the embedded store". */
export function databaseUrl(config: Pick<Config, "DATABASE_URL" | "DB_HOST" | "DB_PORT" | "DB_USERNAME" | "DB_PASSWORD" | "DB_DATABASE">): string | undefined {
  if (config.DATABASE_URL) return config.DATABASE_URL;
  if (!config.DB_HOST) return undefined;
  const url = new URL("postgres://localhost");
  url.hostname = config.DB_HOST;
  url.port = String(config.DB_PORT);
  url.username = encodeURIComponent(config.DB_USERNAME ?? "postgres");
  if (config.DB_PASSWORD) url.password = encodeURIComponent(config.DB_PASSWORD);
  url.pathname = `/${encodeURIComponent(config.DB_DATABASE ?? "postgres")}`;
  return url.toString();
}

/** Days a tenant's events are kept: TENANT_RETENTION_DAYS, else RETENTION_DAYS; undefined keeps them forever. */
export function retentionDaysOf(config: Pick<Config, "RETENTION_DAYS" | "TENANT_RETENTION_DAYS">, tenant: string): number | undefined {
  return config.TENANT_RETENTION_DAYS.get(tenant) ?? config.RETENTION_DAYS;
}
