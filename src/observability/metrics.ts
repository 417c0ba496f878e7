import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BodyBudget } from "../http/body-budget";

/**
 * Prometheus metrics, one registry per app instance (no globals, so tests can
 * build many apps). Served as text by GET /metrics.
 */
export interface PoolStats {
  inUse: number;
  waiting: number;
}

export function createMetrics(options: { poolStats?: () => PoolStats; bodyBudgetStats?: () => BodyBudget["stats"]; defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: "tv_http_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "tv_http_request_duration_seconds",
    help: "HTTP request duration in seconds",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const eventsIngested = new Counter({
    name: "tv_events_ingested_total",
    help: "Events stored, by tenant",
    labelNames: ["tenant"] as const,
    registers: [registry],
  });
  const eventsDuplicate = new Counter({
    name: "tv_events_duplicates_total",
    help: "Events recognised as duplicates and not stored again, by tenant",
    labelNames: ["tenant"] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: "tv_rate_limited_total",
    help: "Requests rejected by the rate limiter, by tenant",
    labelNames: ["tenant"] as const,
    registers: [registry],
  });
  const limiterFallbacks = new Counter({
    name: "tv_rate_limiter_fallbacks_total",
    help: "Rate-limit checks answered in-process because Redis failed",
    registers: [registry],
  });
  const poolStats = options.poolStats;
  new Gauge({
    name: "tv_db_pool_in_use",
    help: "Database connections in use",
    registers: [registry],
    collect() {
      if (poolStats) this.set(poolStats().inUse);
    },
  });
  new Gauge({
    name: "tv_db_pool_waiting",
    help: "Requests waiting for a database connection",
    registers: [registry],
    collect() {
      if (poolStats) this.set(poolStats().waiting);
    },
  });

  const bodyBudgetStats = options.bodyBudgetStats;
  new Gauge({
    name: "tv_body_budget_bytes_in_use",
    help: "Bytes of request bodies being decoded now (MAX_BODY_BYTES_IN_FLIGHT bounds them)",
    registers: [registry],
    collect() {
      if (bodyBudgetStats) this.set(bodyBudgetStats().bytesInUse);
    },
  });
  new Gauge({
    name: "tv_body_budget_waiting",
    help: "Requests waiting for room in MAX_BODY_BYTES_IN_FLIGHT",
    registers: [registry],
    collect() {
      if (bodyBudgetStats) this.set(bodyBudgetStats().waiting);
    },
  });

  return {
    registry,
    httpRequests,
    httpDuration,
    eventsIngested,
    eventsDuplicate,
    rateLimited,
    limiterFallbacks,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
