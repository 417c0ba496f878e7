import { OpenAPIHono, type createRoute } from "@hono/zod-openapi";
import type { Handler } from "hono";
import type { ZodError } from "zod";
import { ApiError, type ErrorDetail } from "./api-error";
import type { AppEnv } from "./context";

export function zodIssuesToDetails(error: ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.join(".") || "(body)", message: issue.message }));
}

/**
 * Every router is made here so each carries the validation hook: a parent's
 * defaultHook is not inherited by routers mounted with app.route().
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("validation_failed", "Request validation failed", {
          details: zodIssuesToDetails(result.error as unknown as ZodError),
        });
      }
    },
  });
}

export type AppRouter = ReturnType<typeof createRouter>;

/** The security requirement every protected route declares in the spec. */
export const apiKeySecurity = [{ ApiKeyAuth: [] as string[] }];

/**
 * Documents `route` in the OpenAPI spec and serves it with a handler that
 * reads its own body (read-body.ts, json-body.ts): gzip, NDJSON and
 * protobuf bodies, and bodies the generic validator would skip when their
 * Content-Type is not JSON. Routes whose input the validator can read use
 * `router.openapi(route, handler)` instead.
 */
export function serveDocumented(router: AppRouter, route: ReturnType<typeof createRoute>, handler: Handler<AppEnv>) {
  router.openAPIRegistry.registerPath(route);
  router.on(route.method.toUpperCase(), route.getRoutingPath(), handler);
}
