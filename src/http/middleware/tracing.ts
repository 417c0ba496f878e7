import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { matchedRoute } from "../route-name";

/**
 * Request tracing without global state: the tracer is handed in through deps,
 * the incoming `traceparent` is read with an explicit propagator, and child
 * spans take their parent from the Hono context, not from an async context
 * manager. Without a tracer every helper here is a no-op.
 */
const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (headers: Headers) => [...headers.keys()],
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
};

export const tracing = createMiddleware<AppEnv>(async function tracing(c, next) {
  const tracer = c.get("deps").tracer;
  if (!tracer) return next();

  const parent = propagator.extract(otelContext.active(), c.req.raw.headers, headerGetter);
  const span = tracer.startSpan(`${c.req.method} ${c.req.path}`, { kind: SpanKind.SERVER }, parent);
  const spanContext = trace.setSpan(parent, span);
  c.set("otelContext", spanContext);
  c.set("traceId", span.spanContext().traceId);
  try {
    await next();
  } finally {
    const route = matchedRoute(c);
    span.updateName(`${c.req.method} ${route}`);
    span.setAttributes({
      "http.request.method": c.req.method,
      "http.route": route,
      "http.response.status_code": c.res.status,
      "url.path": c.req.path,
      ...(c.get("requestId") ? { "http.request.id": c.get("requestId") } : {}),
      ...(c.get("tenantId") ? { "tenant.id": c.get("tenantId") } : {}),
    });
    if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${c.res.status}` });
    span.end();
  }
});

/** Runs `work` inside a child span of the request span (or plainly when tracing is off). */
export async function withSpan<T>(
  c: Context<AppEnv>,
  name: string,
  attributes: Record<string, string | number>,
  work: () => Promise<T>,
): Promise<T> {
  const tracer: Tracer | undefined = c.get("deps").tracer;
  const parent = c.get("otelContext");
  if (!tracer || !parent) return work();
  const span: Span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
  try {
    return await work();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

