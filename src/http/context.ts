import type { Logger } from "pino";
import type { Context as OtelContext, Tracer } from "@opentelemetry/api";
import type { Config } from "../config";
import type { EventStore } from "../storage/event-store";
import type { RateLimiter } from "../ratelimit/rate-limiter";
import type { Metrics } from "../observability/metrics";
import type { UsageRecorder } from "../storage/usage-recorder";
import type { LiveTail } from "../tail/live-tail";
import type { BodyBudget } from "./body-budget";

/** Everything the app needs from the outside world, handed to createApp. */
export interface AppDeps {
  config: Config;
  store: EventStore;
  limiter: RateLimiter;
  logger: Logger;
  /** Optional: without a tracer no spans are made (tracing off costs nothing). */
  tracer?: Tracer;
  metrics?: Metrics;
  /** Live tail: the log shared by replicas and this process's open tails. Without it GET /tail answers 503. */
  tail?: LiveTail;
  /** Counts requests refused by the rate limiter into the tenant's usage. */
  usage?: Pick<UsageRecorder, "rateLimited">;
  /** Bodies being decoded at once; by default one from the config for this app (server.ts shares it with /metrics). */
  bodyBudget?: BodyBudget;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
  /** Reports whether the process is draining; readiness turns 503 when true. */
  isShuttingDown?: () => boolean;
}

/**
 * Variables set by middleware and read by handlers, typed once for the whole
 * app. Read them with c.get("name"): Hono's c.var builds a fresh object from
 * all of them on every access, which showed up in the ingest profile.
 */
export interface AppVariables {
  deps: AppDeps;
  /** The budget for bodies being decoded (AppDeps.bodyBudget). */
  bodyBudget: BodyBudget;
  requestId: string;
  tenantId: string;
  /** A short non-reversible fingerprint of the API key, for audit lines (never the key). */
  keyFingerprint?: string;
  /** Set by the tracing middleware when tracing is on, for the request log line. */
  traceId?: string;
  /** The request span's context, parent of the spans handlers open (tracing.ts withSpan). */
  otelContext?: OtelContext;
  /** Set by handlers that ingest, for the request log line and metrics. */
  ingestStats?: { ingested: number; duplicates: number };
}

export interface AppEnv {
  Variables: AppVariables;
}
